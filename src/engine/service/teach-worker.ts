/**
 * Worker-thread entry for the app's Teach panel: trains a head on one scan's sparse labels (engine
 * teach()), then predicts the whole scan with the baked graph (predictInMemory), off the caller's
 * thread. Messages: in TeachWorkerRequest, 'cancel'; out { type: 'progress' | 'result' | 'error' }.
 * It writes nothing: the app core keeps the model and saves it only when asked.
 */
import { parentPort } from 'node:worker_threads'
import { loadBundle } from '../bundle/bundle'
import { isSegError, SegError } from '../errors'
import type { ManifestInput } from '../bundle/manifest'
import type { Volume } from '../volume/volume'
import { predictInMemory, teach, type LabelName, type TeachProgress } from '../teach/teach'
import type { EpochReport, HeadKind } from '../teach/head'

export interface TeachWorkerRequest {
  baseDir: string
  /** The scan (its path, for provenance) and its voxels. */
  name: string
  image: Volume
  /** Label values on the scan's grid, as teach() takes them (labelledSlices or ignoreValue). */
  labels: Volume
  labelledSlices?: string
  ignoreValue?: number
  labelNames: LabelName[]
  head: HeadKind
  maxEpochs?: number
  largestComponent?: boolean
  seed?: number
  /** Set to 1 (Atomics) by the caller to cancel: read at every progress report, even inside the synchronous training loop. */
  cancelFlag: Int32Array
}

export interface TeachWorkerResult {
  onnx: Uint8Array
  manifest: ManifestInput
  history: EpochReport[]
  best: EpochReport
  values: number[]
  counts: Record<number, number>
  /** The taught model's labels on the scan's grid (the baked graph's own arithmetic). */
  preview: Volume
  timingsMs: Record<string, number>
}

const port = parentPort
if (!port) throw new Error('teach-worker must run in a worker thread')
const controller = new AbortController()
let cancelFlag: Int32Array | undefined
/** Reports progress, and turns a raised cancel flag into the abort teach() checks next (the next slab or epoch). */
const progress = (p: TeachProgress) => {
  if (cancelFlag && Atomics.load(cancelFlag, 0)) controller.abort()
  port.postMessage({ type: 'progress', progress: p })
}

port.on('message', async (msg: TeachWorkerRequest | 'cancel') => {
  if (msg === 'cancel') {
    controller.abort()
    return
  }
  cancelFlag = msg.cancelFlag
  try {
    const base = await loadBundle(msg.baseDir)
    const r = await teach({
      base, scans: [{ name: msg.name, image: msg.image, labels: msg.labels, labelledSlices: msg.labelledSlices, ignoreValue: msg.ignoreValue }],
      head: msg.head, maxEpochs: msg.maxEpochs, largestComponent: msg.largestComponent, seed: msg.seed, labelNames: msg.labelNames,
      signal: controller.signal, onProgress: progress
    })
    progress({ stage: 'bake', fraction: 1, message: 'predicting the scan' })
    if (controller.signal.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    const preview = await predictInMemory(r, msg.image, { head: 'graph' })
    const { data, ...grid } = preview
    port.postMessage(
      { type: 'result', onnx: r.onnx, manifest: r.manifest, history: r.history, best: r.best, values: r.values, counts: r.teachSet.counts, preview: { ...grid, data }, timingsMs: r.timingsMs },
      [data.buffer as ArrayBuffer]
    )
  } catch (e) {
    port.postMessage({ type: 'error', code: isSegError(e) ? e.code : 'INTERNAL', message: isSegError(e) ? e.message : String((e as Error)?.message ?? e) })
  }
})
