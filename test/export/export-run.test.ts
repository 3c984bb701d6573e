/**
 * The app's exportRun follows the engine's output rules (the same as the CLI's): an existing file is
 * replaced only with `overwrite: true`, a model bundle is never written into, and the option is
 * validated like every other argument. Through the real app core and a real segmentation worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'

const tmp = tempDir()
let core: ApiCore
let runId = ''
let bundleDir = ''
beforeAll(async () => {
  bundleDir = (await conv3Bundle(join(tmp.dir, 'bundle'))).dir
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
  const [v] = await core.openVolumes([data('spine/t2.nii.gz')])
  runId = (await core.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })).runId
}, 60_000)
afterAll(() => tmp.cleanup())

describe('exportRun never overwrites without being asked', () => {
  it.each(['labels', 'statistics', 'mesh'] as const)('%s: an existing file is refused, then replaced with overwrite: true', async (kind) => {
    const out = join(tmp.dir, { labels: 'mask.nii.gz', statistics: 'stats.csv', mesh: 'surface.obj' }[kind])
    writeFileSync(out, 'mine')
    const refused = await dispatch(core, 'exportRun', [runId, kind, out])
    expect(refused).toMatchObject({ ok: false, error: { code: 'OUTPUT_EXISTS', message: expect.stringContaining('already exists') } })
    expect(readFileSync(out, 'utf8')).toBe('mine')
    expect(await dispatch(core, 'exportRun', [runId, kind, out, { overwrite: false }])).toMatchObject({ ok: false })
    expect(await dispatch(core, 'exportRun', [runId, kind, out, { overwrite: true }])).toEqual({ ok: true, value: out })
    expect(readFileSync(out).length).toBeGreaterThan(4)
  })

  it('a file an open volume was read from (a detached NRRD header\'s data file) is an input, even with overwrite: true', async () => {
    const voxels = Buffer.alloc(24 * 24 * 12, 7)
    writeFileSync(join(tmp.dir, 'vox.nii'), voxels)
    writeFileSync(join(tmp.dir, 'det.nhdr'), 'NRRD0004\ntype: uint8\ndimension: 3\nsizes: 24 24 12\nencoding: raw\nspace: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\ndata file: vox.nii\n\n')
    await core.openVolumes([join(tmp.dir, 'det.nhdr')])
    const r = await dispatch(core, 'exportRun', [runId, 'labels', join(tmp.dir, 'vox.nii'), { overwrite: true }])
    expect(r).toMatchObject({ ok: false, error: { code: 'OUTPUT_CONFLICT', message: expect.stringContaining('is an input file') } })
    expect(readFileSync(join(tmp.dir, 'vox.nii')).equals(voxels)).toBe(true)
  })

  it('the run\'s model bundle is never written into, even with overwrite: true', async () => {
    const r = await dispatch(core, 'exportRun', [runId, 'statistics', join(bundleDir, 'manifest.json'), { overwrite: true }])
    expect(r).toMatchObject({ ok: false, error: { code: 'OUTPUT_CONFLICT', message: expect.stringContaining('never written into') } })
    expect(JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')).name).toBe('test conv3')
    const malformed = await dispatch(core, 'exportRun', [runId, 'statistics', join(tmp.dir, 'x.csv'), { overwrite: 'yes' }])
    expect(malformed).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } })
  })
})
