/**
 * An edited label map reaches the app core as run-length changes (putEditedLabels) and is exported
 * like a model result: on the real spleen CT, a 5 mm sphere painted by the shared brush, sent as runs,
 * exported and read back by the engine's reader, is exactly the voxels whose centres lie within 5 mm
 * (computed here by brute force over the file's own grid), with the scan's geometry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'
import { readVolume } from '../../src/engine/volume/read'
import { indexToWorld } from '../../src/engine/volume/affine'
import { nonzeroOffsets as nonzero, voxelsWithinMm as withinRadius } from '../helpers/grid'
import type { Volume } from '../../src/engine/volume/volume'
import type { VolumeInfo } from '../../src/shared/contract'
import { applyDelta, changeRuns, discBrush, sphereBrush, type LabelMap, type Vec3 } from '../../src/shared/editing'

const CT = data('ct/spleen_ct.nii.gz')
const tmp = tempDir('segtransfer-edited-')
let core: ApiCore
let scan: VolumeInfo
let ct: Volume
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
  ;[scan] = await core.openVolumes([CT])
  ct = await readVolume(CT)
}, 60_000)


describe('putEditedLabels: an edited map saved on the scan exact grid', () => {
  it('a 5 mm sphere sent as runs exports exactly the voxels within 5 mm, on the scan geometry', async () => {
    const map: LabelMap = { size: scan.size, spacing: scan.spacing, origin: scan.origin, direction: scan.direction, data: new Uint8Array(ct.data.length) }
    const center = indexToWorld(ct, [80.3, 90.6, 12.2])
    applyDelta(map, sphereBrush(map, { center, radiusMm: 5 }, { mode: 'paint', label: 1 }))
    const runs = changeRuns(map.data)
    const seg = await core.putEditedLabels({ volumeId: scan.id, runs, labels: [{ value: 1, name: 'lesion', color: [255, 0, 0] }] })
    expect(seg.source).toEqual({ kind: 'edited', name: 'edited' })
    const out = join(tmp.dir, 'edited.nii.gz')
    await core.exportRun(seg.runId, 'labels', out, { volumeId: scan.id })
    const back = await readVolume(out)
    expect([back.size, back.spacing, back.origin, back.direction]).toEqual([ct.size, ct.spacing, ct.origin, ct.direction])
    const want = withinRadius(ct, center, 5)
    console.log(`edited sphere r=5 mm on spleen_ct: ${want.length} voxels expected, ${runs.length / 3} runs sent`)
    expect(want.length).toBeGreaterThan(100)
    expect(nonzero(back.data)).toEqual(want)
    expect(seg.stats).toEqual([{ value: 1, name: 'lesion', voxels: want.length, volumeMl: expect.closeTo((want.length * ct.spacing[0] * ct.spacing[1] * ct.spacing[2]) / 1000, 6) }])
  }, 120_000)

  it('an edited copy of a base keeps the base voxels it did not change, and replaces the earlier copy', async () => {
    const first = await core.putEditedLabels({ volumeId: scan.id, runs: [10, 5, 2], labels: [] })
    const second = await core.putEditedLabels({ volumeId: scan.id, baseRunId: first.runId, replaceRunId: first.runId, runs: [12, 1, 0, 100, 2, 300], labels: [] })
    const v = new Uint16Array((await core.readLabels(second.runId, scan.id)).data)
    expect(nonzero(v)).toEqual([10, 11, 13, 14, 100, 101])
    expect([v[10], v[100]]).toEqual([2, 300])
    await expect(core.readLabels(first.runId)).rejects.toThrow(/run the model first/)
  })

  it('runs outside the scan, bad values or a broken triplet are refused with one line; an existing file asks first', async () => {
    const n = ct.data.length
    expect(await dispatch(core, 'putEditedLabels', [{ volumeId: scan.id, runs: [n - 1, 2, 1], labels: [] }])).toEqual({
      ok: false, error: { code: 'BAD_ARGUMENT', message: `edited labels: run 0 covers voxels ${n - 1}..${n}; expected whole voxels within 0..${n - 1} of the scan` }
    })
    expect(await dispatch(core, 'putEditedLabels', [{ volumeId: scan.id, runs: [0, 1, 70000], labels: [] }])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'edited labels: run 0 has value 70000; expected an integer label 0..65535' } })
    expect(await dispatch(core, 'putEditedLabels', [{ volumeId: scan.id, runs: [0, 1], labels: [] }])).toMatchObject({ ok: false, error: { message: expect.stringMatching(/expected triplets/) } })
    expect(await dispatch(core, 'putEditedLabels', [{ volumeId: scan.id, runs: [0.5, 1, 1], labels: [] }])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } })
    const seg = await core.putEditedLabels({ volumeId: scan.id, runs: [0, 1, 1], labels: [] })
    const out = join(tmp.dir, 'kept.nii.gz')
    await core.exportRun(seg.runId, 'labels', out)
    const [bytes, mtime] = [readFileSync(out), statSync(out).mtimeMs]
    expect(await dispatch(core, 'exportRun', [seg.runId, 'labels', out, {}])).toMatchObject({ ok: false, error: { code: 'OUTPUT_EXISTS' } })
    expect([readFileSync(out).equals(bytes), statSync(out).mtimeMs]).toEqual([true, mtime])
    expect(await dispatch(core, 'exportRun', [seg.runId, 'labels', CT, { overwrite: true }])).toMatchObject({ ok: false, error: { code: 'OUTPUT_CONFLICT' } })
  })
})

describe('interpolateLabels: fill between labelled slices of an edited map', () => {
  it('two axial discs 8 slices apart: every slice between gets a non-empty label whose area lies between the two', async () => {
    const map: LabelMap = { size: scan.size, spacing: scan.spacing, origin: scan.origin, direction: scan.direction, data: new Uint8Array(ct.data.length) }
    const rule = { mode: 'paint' as const, label: 1 }
    applyDelta(map, discBrush(map, { center: indexToWorld(ct, [80, 90, 10]), radiusMm: 12 }, 'axial', rule))
    applyDelta(map, discBrush(map, { center: indexToWorld(ct, [80, 90, 18]), radiusMm: 6 }, 'axial', rule))
    const filled = await core.interpolateLabels({ volumeId: scan.id, runs: changeRuns(map.data), labels: [], label: 1, plane: 'axial' })
    for (const o of filled) map.data[o] = 1
    const plane = scan.size[0] * scan.size[1]
    const areas = Array.from({ length: 9 }, (_, n) => Array.from(map.data.subarray((10 + n) * plane, (11 + n) * plane)).filter((x) => x === 1).length)
    console.log(`interpolated axial areas (voxels), slices 10..18: ${areas.join(', ')}`)
    for (const a of areas.slice(1, -1)) {
      expect(a).toBeGreaterThan(areas[8])
      expect(a).toBeLessThan(areas[0])
    }
    expect(await dispatch(core, 'interpolateLabels', [{ volumeId: scan.id, runs: [], labels: [], label: 0, plane: 'axial' }])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } })
  }, 60_000)
})

describe('loadLabelFile: a segmentation file as a label layer of the scan', () => {
  it('spleen_ct_seg onto spleen_ct: its volume in mL is the file voxel count times the voxel volume; another grid is refused', async () => {
    const file = data('ct/spleen_ct_seg.nii.gz')
    const seg = await core.loadLabelFile(scan.id, file)
    const count = nonzero((await readVolume(file)).data).length
    const ml = (count * ct.spacing[0] * ct.spacing[1] * ct.spacing[2]) / 1000
    console.log(`spleen_ct_seg loaded: ${count} voxels, ${seg.stats.map((x) => x.volumeMl.toFixed(2)).join(', ')} mL (expected ${ml.toFixed(2)})`)
    expect(seg.source).toEqual({ kind: 'file', path: file, name: 'spleen_ct_seg.nii.gz' })
    expect(seg.stats.reduce((a, x) => a + x.voxels, 0)).toBe(count)
    expect(seg.stats.reduce((a, x) => a + x.volumeMl, 0)).toBeCloseTo(ml, 6)
    expect(await dispatch(core, 'exportRun', [seg.runId, 'labels', file, { overwrite: true }])).toMatchObject({ ok: false, error: { code: 'OUTPUT_CONFLICT' } })
    expect(await dispatch(core, 'loadLabelFile', [scan.id, data('spine/t2_cord_seg.nii.gz')])).toMatchObject({ ok: false, error: { code: 'GRID_MISMATCH' } })
    expect(await dispatch(core, 'loadLabelFile', [scan.id, data('geometry/t1_RAS.nii.gz')])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringMatching(/integer/) } })
  }, 60_000)
})

describe('changeRuns', () => {
  it('covers exactly the voxels that differ from the base, one run per stretch of one value', () => {
    expect(changeRuns(new Uint8Array([0, 1, 1, 2, 0, 0, 3]))).toEqual([1, 2, 1, 3, 1, 2, 6, 1, 3])
    expect(changeRuns(new Uint8Array([5, 0, 5, 5]), [5, 5, 5, 1])).toEqual([1, 1, 0, 3, 1, 5])
    expect(changeRuns(new Uint16Array(4))).toEqual([])
  })
})
