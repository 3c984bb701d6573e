/**
 * The app core keeps each run with the scan it was computed on (the document model's source of truth)
 * and protects every file open in the workspace: through the real core, a real segmentation worker
 * and the small demo-tissue bundle on two small real scans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'
import type { SegmentSummary, VolumeInfo } from '../../src/shared/contract'

const BUNDLE = join(REPO, 'resources/models/demo-tissue')
const tmp = tempDir('segtransfer-workspace-')
let core: ApiCore
let t1: VolumeInfo
let spine: VolumeInfo
let run: SegmentSummary
/** A copy of the spine scan, opened from tmp: the test may try to write over it without risking the shared data. */
const spineCopy = join(tmp.dir, 't2.nii.gz')

beforeAll(async () => {
  copyFileSync(data('spine/t2.nii.gz'), spineCopy)
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
  ;[t1, spine] = await core.openVolumes([data('geometry/t1_RAS.nii.gz'), spineCopy])
  run = await core.segment({ bundleDir: BUNDLE, volumeIds: [t1.id], device: 'cpu' })
}, 60_000)
afterAll(() => tmp.cleanup())

describe('each run belongs to the scan it was computed on', () => {
  it('the summary says which scan, model, settings, labels and time made it', () => {
    expect(run.volumeId).toBe(t1.id)
    expect(run.source).toEqual({ kind: 'model', bundleDir: BUNDLE, bundleName: expect.stringMatching(/^Demo tissue/), device: 'cpu', refinement: false, volumeIds: [t1.id] })
    expect(run.labels.filter((l) => l.value !== 0).map((l) => l.value)).toEqual(run.stats.map((s) => s.value))
    expect(Date.now() - Date.parse(run.createdAt)).toBeLessThan(60_000)
  })

  it('reading or exporting a run against another scan is refused; against its own scan it works', async () => {
    const read = await dispatch(core, 'readLabels', [run.runId, spine.id])
    expect(read).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: `segmentation ${run.runId} belongs to t1_RAS.nii.gz, not to t2.nii.gz; expected a segmentation of the shown scan` } })
    const out = join(tmp.dir, 'wrong-scan.nii.gz')
    expect(await dispatch(core, 'exportRun', [run.runId, 'labels', out, { volumeId: spine.id }])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } })
    expect((await core.readLabels(run.runId, t1.id)).data.byteLength).toBe(t1.size[0] * t1.size[1] * t1.size[2])
    expect(await core.exportRun(run.runId, 'labels', out, { volumeId: t1.id })).toBe(out)
  })

  it('closing a scan forgets its segmentations', async () => {
    const c = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
    const [v] = await c.openVolumes([data('geometry/t1_RAS.nii.gz')])
    const r = await c.segment({ bundleDir: BUNDLE, volumeIds: [v.id], device: 'cpu' })
    await c.closeVolume(v.id)
    expect(c.heldBytes()).toBe(0)
    await expect(c.readLabels(r.runId)).rejects.toThrow(/run the model first/)
  })
})

describe('exports never replace what the user has', () => {
  it('an existing file is refused with OUTPUT_EXISTS and left byte-identical; replaced only with overwrite: true', async () => {
    const out = join(tmp.dir, 'manual_seg.nii.gz')
    const mine = Buffer.from('a manual mask')
    writeFileSync(out, mine)
    for (const kind of ['labels', 'statistics', 'mesh'] as const) {
      const path = out.replace('.nii.gz', { labels: '.nii.gz', statistics: '.csv', mesh: '.obj' }[kind])
      writeFileSync(path, mine)
      const r = await dispatch(core, 'exportRun', [run.runId, kind, path])
      expect(r).toEqual({ ok: false, error: { code: 'OUTPUT_EXISTS', message: `${path} already exists; expected a new path, or replacing it confirmed (overwrite)` } })
      expect(readFileSync(path).equals(mine)).toBe(true)
    }
    expect(await core.exportRun(run.runId, 'labels', out, { overwrite: true })).toBe(out)
    expect(readFileSync(out).equals(mine)).toBe(false)
  })

  it('every open volume is protected, even with overwrite: true, and not only the run\'s input', async () => {
    const before = readFileSync(spineCopy)
    for (const kind of ['labels', 'statistics', 'mesh'] as const) {
      const r = await dispatch(core, 'exportRun', [run.runId, kind, spineCopy, { overwrite: true }])
      expect(r).toMatchObject({ ok: false, error: { code: 'OUTPUT_CONFLICT', message: expect.stringContaining('is an input file') } })
    }
    expect(readFileSync(spineCopy).equals(before)).toBe(true)
  })
})
