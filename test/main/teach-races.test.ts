/**
 * Races on the app core's Teach methods, on the real spine T2 with its cord mask in the real worker:
 * a second teach while one runs is refused in one line; closing the scan during training ends the
 * run in one line and keeps nothing (no preview, no model to save: a closed scan's models go with it);
 * a cancel sent twice ends the run once with CANCELLED, and the core teaches again afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxTeachWorker, tsxWorker } from '../../src/bridge/server'
import type { ProgressEvent, SegmentSummary, TeachRequest, VolumeInfo } from '../../src/shared/contract'

const tmp = tempDir('segtransfer-teach-races-')
const base = join(tmp.dir, 'demo-base')
const events: ProgressEvent[] = []
let core: ApiCore

const outcome = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`)
/** Resolves at the run's first epoch report: the worker is training. */
const training = () => expect.poll(() => events.some((e) => e.epoch), { timeout: 30_000, interval: 20 }).toBe(true)

/** An open spine T2 with its cord mask as a layer, and a one-epoch request to learn the cord. */
async function cordRequest(): Promise<{ scan: VolumeInfo; req: TeachRequest }> {
  const [scan] = await core.openVolumes([data('spine/t2.nii.gz')])
  const layer: SegmentSummary = await core.loadLabelFile(scan.id, data('spine/t2_cord_seg.nii.gz'))
  return { scan, req: { volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], slices: { plane: 'axial', every: 3 }, head: 'linear', maxEpochs: 2 } }
}

beforeAll(() => {
  cpSync(join(REPO, 'resources/models/demo-tissue'), base, { recursive: true })
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, runTeachWorker: tsxTeachWorker, emit: (e) => events.push(e) })
})
afterAll(() => tmp.cleanup())

describe('teach races in the app core', () => {
  it('closing the scan during training stops the run at once in one line and keeps no model to save; a second teach meanwhile is refused', async () => {
    const { scan, req } = await cordRequest()
    events.length = 0
    const run = outcome(core.teach({ ...req, maxEpochs: 400 }))
    await training()
    expect(await outcome(core.teach(req))).toBe('BAD_ARGUMENT: teaching is already running; wait for it or cancel it')
    const epochsAtClose = events.filter((e) => e.epoch).length
    await core.closeVolume(scan.id)
    expect(await run).toBe('CANCELLED: t2.nii.gz was closed while teaching; nothing was kept')
    // The run ended at the close, not when training would have stopped by itself (early stopping, epoch 400).
    expect(events.filter((e) => e.epoch).length).toBeLessThanOrEqual(epochsAtClose + 1)
    const teachId = events.find((e) => e.epoch)!.runId
    const out = join(tmp.dir, 'after-close')
    const saved = await dispatch(core, 'saveTaught', [teachId, out])
    expect(saved).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: `no taught model ${teachId}; train one first` } })
    expect(existsSync(out)).toBe(false)
  }, 60_000)

  it('a cancel sent twice ends the run once with CANCELLED, and the next teach runs', async () => {
    const { req } = await cordRequest()
    events.length = 0
    const run = outcome(core.teach(req))
    await training()
    await core.cancel()
    await core.cancel()
    expect(await run).toBe('CANCELLED: teaching cancelled by the user')
    const again = await core.teach({ ...req, maxEpochs: 1 })
    expect(again.history.map((h) => h.epoch)).toEqual([1])
  }, 60_000)
})
