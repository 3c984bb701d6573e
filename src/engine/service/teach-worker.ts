/**
 * Worker-thread entry for the app's Teach panel: trains a head on the sparse labels of one or more
 * scans (engine teach()), then predicts the whole first scan with the baked graph (predictInMemory),
 * off the caller's thread. Messages: messages.ts (in `teach`, `cancel`; out `progress`, then `result` or `error`).
 * It writes nothing: the app core keeps the model and saves it only when asked.
 */
import { parentPort } from 'node:worker_threads'
import { loadBundle } from '../bundle/bundle'
import { errorOf, SegError } from '../errors'
import type { FromTeachWorker, ToTeachWorker } from './messages'
import { predictInMemory, teach, type TeachProgress } from '../teach/teach'

export type { TeachWorkerRequest, TeachWorkerResult } from './messages'

const port = parentPort
if (!port) throw new Error('teach-worker must run in a worker thread')
const controller = new AbortController()
let cancelFlag: Int32Array | undefined
/** Reports progress, and turns a raised cancel flag into the abort teach() checks next (the next slab or epoch). */
const reply = (m: FromTeachWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)
const progress = (p: TeachProgress) => {
  if (cancelFlag && Atomics.load(cancelFlag, 0)) controller.abort()
  reply({ type: 'progress', progress: p })
}

port.on('message', async (msg: ToTeachWorker) => {
  if (msg.type === 'cancel') {
    controller.abort()
    return
  }
  cancelFlag = msg.cancelFlag
  try {
    const base = await loadBundle(msg.baseDir)
    const r = await teach({
      base, scans: msg.scans,
      head: msg.head, features: msg.features, maxEpochs: msg.maxEpochs, largestComponent: msg.largestComponent, seed: msg.seed, labelNames: msg.labelNames,
      signal: controller.signal, onProgress: progress
    })
    progress({ stage: 'bake', fraction: 1, message: 'predicting the scan' })
    // No progress report reads the flag now; the 'cancel' message aborts between the preview's slabs (each run yields).
    if (controller.signal.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    const preview = await predictInMemory(r, msg.scans[0].image, { head: 'graph', signal: controller.signal })
    reply(
      { type: 'result', onnx: r.onnx, manifest: r.manifest, history: r.history, best: r.best, values: r.values, counts: r.teachSet.counts, preview, timingsMs: r.timingsMs },
      [preview.data.buffer as ArrayBuffer]
    )
  } catch (e) {
    reply({ type: 'error', ...errorOf(e) })
  }
})
