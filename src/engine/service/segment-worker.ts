/**
 * Worker-thread entry: runs one segmentation off the caller's thread (the Electron main process must
 * never block on a 10-second inference). Messages: in { bundleDir, inputs, device, refinement?, force? }, 'cancel';
 * out { type: 'progress' | 'result' | 'error' }. Label voxels are transferred, not copied.
 */
import { parentPort } from 'node:worker_threads'
import { loadBundle } from '../bundle/bundle'
import { segment, type Device } from '../pipeline/segment'
import { isSegError } from '../errors'
import type { Volume } from '../volume/volume'

export interface WorkerRequest {
  bundleDir: string
  /** Files to read, or volumes already read (a DICOM series, one volume of a 4D file: a path alone does not name them). */
  inputs: (string | Volume)[]
  device: Device
  /** false: skip the bundle's output.refinement. */
  refinement?: boolean
  /** true: run even on a scan that grossly mismatches the manifest's `accepts`. */
  force?: boolean
}

const port = parentPort
if (!port) throw new Error('segment-worker must run in a worker thread')
const controller = new AbortController()

port.on('message', async (msg: WorkerRequest | 'cancel') => {
  if (msg === 'cancel') {
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
      onProgress: (p) => port.postMessage({ type: 'progress', progress: p })
    })
    const { data, ...grid } = r.labels
    const { data: _ref, source, ...refGrid } = r.reference
    port.postMessage(
      { type: 'result', labels: { ...grid, data }, referenceGrid: refGrid, referenceSource: source, provider: r.provider, notes: r.notes, warnings: r.warnings, classification: r.classification, timingsMs: r.timingsMs },
      [data.buffer as ArrayBuffer]
    )
  } catch (e) {
    port.postMessage({ type: 'error', code: isSegError(e) ? e.code : 'INTERNAL', message: isSegError(e) ? e.message : String((e as Error)?.message ?? e) })
  }
})
