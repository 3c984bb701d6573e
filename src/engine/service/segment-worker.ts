/**
 * Worker-thread entry: runs one segmentation off the caller's thread (the Electron main process must
 * never block on a 10-second inference). Messages: see messages.ts (in `segment`, `cancel`; out
 * `progress`, then `result` or `error`). Label voxels are transferred, not copied.
 */
import { parentPort, type TransferListItem } from 'node:worker_threads'
import { loadBundle } from '../bundle/bundle'
import { segment } from '../pipeline/segment'
import { errorOf } from '../errors'
import type { FromWorker, ToWorker } from './messages'

const port = parentPort
if (!port) throw new Error('segment-worker must run in a worker thread')
const controller = new AbortController()
const reply = (m: FromWorker, transfer?: TransferListItem[]): void => port.postMessage(m, transfer)

port.on('message', async (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    controller.abort()
    return
  }
  try {
    const bundle = await loadBundle(msg.bundleDir)
    const r = await segment({
      bundle,
      inputs: msg.inputs,
      device: msg.device,
      refinement: msg.refinement,
      force: msg.force,
      signal: controller.signal,
      onProgress: (p) => reply({ type: 'progress', progress: p })
    })
    const { data: _ref, ...reference } = r.reference
    reply(
      { type: 'result', labels: r.labels, reference, provider: r.provider, notes: r.notes, warnings: r.warnings, classification: r.classification, timingsMs: r.timingsMs },
      [r.labels.data.buffer as ArrayBuffer]
    )
  } catch (e) {
    reply({ type: 'error', ...errorOf(e) })
  }
})
