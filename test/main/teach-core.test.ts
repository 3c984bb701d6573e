/**
 * The app core's Teach methods on the real spine T2 with its cord mask loaded as a label layer:
 * summarizeBase marks every layer of the base network frozen; teach trains in the worker, reports
 * each epoch over the progress channel and keeps its prediction as a segmentation of the scan;
 * saveTaught writes a bundle, asks (OUTPUT_EXISTS) before replacing one, and never writes into the
 * base bundle or over an open scan; bad requests are refused with one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxTeachWorker, tsxWorker } from '../../src/bridge/server'
import type { ProgressEvent, SegmentSummary, TeachSummary, VolumeInfo } from '../../src/shared/contract'

const tmp = tempDir('segtransfer-teach-core-')
const base = join(tmp.dir, 'demo-base')
const events: ProgressEvent[] = []
let core: ApiCore
let scan: VolumeInfo
let layer: SegmentSummary
let taught: TeachSummary

const failure = async (method: string, ...args: unknown[]) => {
  const r = await dispatch(core, method, args)
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`
}

beforeAll(async () => {
  cpSync(join(REPO, 'resources/models/demo-tissue'), base, { recursive: true })
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, runTeachWorker: tsxTeachWorker, emit: (e) => events.push(e) })
  ;[scan] = await core.openVolumes([data('spine/t2.nii.gz')])
  layer = await core.loadLabelFile(scan.id, data('spine/t2_cord_seg.nii.gz'))
  taught = await core.teach({ volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], slices: { plane: 'axial', every: 3 }, head: 'linear', maxEpochs: 4 })
}, 120_000)
afterAll(() => tmp.cleanup())

describe('teach in the app core', () => {
  it('summarizes the base network with every parameter frozen', async () => {
    const s = await core.summarizeBase(base)
    expect(s.frozen).toEqual(['smooth', 'Mul_1', 'Concat_2', 'classify'])
    expect(s.table).toMatch(/Trainable params: 0\n/)
    expect(s.table).not.toMatch(/ True$/m)
    expect([s.features, s.hidden]).toEqual([19, 24])
  })

  it('reports each epoch as progress and keeps the prediction as a taught segmentation of the scan', async () => {
    const epochs = events.filter((e) => e.epoch).map((e) => e.epoch!.epoch)
    expect(epochs).toEqual([1, 2, 3, 4])
    expect(events.every((e) => e.stage.startsWith('teach:'))).toBe(true)
    expect(taught.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    expect(taught.preview.source).toMatchObject({ kind: 'taught', teachId: taught.teachId, head: 'linear', name: 'taught label 1 (linear)' })
    expect(taught.preview.volumeId).toBe(scan.id)
    const labels = new Uint8Array((await core.readLabels(taught.preview.runId, scan.id)).data)
    const cord = labels.reduce((n, v) => n + (v === 1 ? 1 : 0), 0)
    expect(taught.preview.stats).toEqual([expect.objectContaining({ value: 1, voxels: cord })])
    expect(cord).toBeGreaterThan(500)
  })

  it('saves a bundle, asks before replacing it, and never writes into the base bundle or over the scan', async () => {
    const out = join(tmp.dir, 'cord')
    expect(await core.saveTaught(taught.teachId, out)).toBe(out)
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'model.onnx'])
    expect(await failure('saveTaught', taught.teachId, out)).toBe(`OUTPUT_EXISTS: ${out} is an existing model bundle; expected a new folder, or replacing it confirmed (overwrite)`)
    expect(await failure('saveTaught', taught.teachId, out, { overwrite: true })).toBe('ok')
    expect(await failure('saveTaught', taught.teachId, base, { overwrite: true })).toMatch(/^OUTPUT_CONFLICT: .* is or lies in the base bundle/)
    expect(await failure('saveTaught', taught.teachId, join(base, 'inner'))).toMatch(/^OUTPUT_CONFLICT: .* is or lies in the base bundle/)
    expect(existsSync(join(base, 'inner'))).toBe(false)
    expect(await failure('saveTaught', taught.teachId, data('spine/t2.nii.gz'), { overwrite: true })).toMatch(/^OUTPUT_CONFLICT: /)
    expect(await failure('saveTaught', 'no-such-model', join(tmp.dir, 'x'))).toBe('BAD_ARGUMENT: no taught model no-such-model; train one first')
  })

  it('refuses bad teach requests with one line', async () => {
    const req = { volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], head: 'linear' }
    expect(await failure('teach', { ...req, learn: [65535] })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.learn\.0: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', every: 0 } })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.slices\.every: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', every: 2, list: [3] } })).toBe('BAD_ARGUMENT: invalid arguments to teach: 0.slices: give either every or list')
    expect(await failure('teach', { ...req, maxEpochs: 1e6 })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.maxEpochs: /)
    expect(await failure('saveTaught', 'id-1', '/tmp/x', { overwrite: 'yes' })).toMatch(/^BAD_ARGUMENT: invalid arguments to saveTaught: 2\.overwrite: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', list: [3, 500] } })).toBe("BAD_ARGUMENT: --labelled-slices 'axial:3,500': slice 500 is outside the volume; axial slices run along voxel axis j from 0 to 54")
    expect(await failure('teach', { ...req, learn: [2] })).toBe('BAD_ARGUMENT: label 2 is not painted in this segmentation; expected labels it holds to learn')
    expect(await failure('teach', req)).toMatch(/^BAD_ARGUMENT: nothing is painted as background/)
  })

  it('forgets the taught model with its scan', async () => {
    await core.closeVolume(scan.id)
    expect(await failure('saveTaught', taught.teachId, join(tmp.dir, 'after-close'))).toBe(`BAD_ARGUMENT: no taught model ${taught.teachId}; train one first`)
  })
})
