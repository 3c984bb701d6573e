/**
 * Runs a segmentation in a worker thread and resolves with the label map, or rejects with the
 * engine's SegError. Cancelling terminates cooperatively first, then hard after a grace period, so a
 * stuck native call can never hold the app.
 */
import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { SegError, type SegErrorCode } from '../errors'
import type { Grid, Volume } from '../volume/volume'
import type { SegmentProgress } from '../pipeline/segment'
import type { WorkerRequest } from './segment-worker'

export interface WorkerResult {
  labels: Volume
  /** The first input's grid and source (header, path): what export needs; its voxels stay in the worker. */
  reference: Grid & Pick<Volume, 'source'>
  provider: string
  notes: string[]
  /** What the user must see (model-fit findings, an unconverged refinement): SegmentResult.warnings. */
  warnings: string[]
  classification?: { classes: string[]; probabilities: number[] }
  timingsMs: Record<string, number>
}

export interface WorkerRun {
  result: Promise<WorkerResult>
  cancel(): void
}

/**
 * @param workerUrl the compiled worker script (electron-vite `?modulePath` in the app), or the .ts
 *   source (dev, tests, the browser bridge), which is then started through tsx.
 */
export function runSegmentationInWorker(workerUrl: string | URL, request: WorkerRequest, onProgress: (p: SegmentProgress) => void): WorkerRun {
  const entry = String(workerUrl)
  const worker = entry.endsWith('.ts')
    ? new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), { workerData: { entry: entry.startsWith('file:') ? entry : pathToFileURL(entry).href } })
    : new Worker(workerUrl)
  let settled = false
  const result = new Promise<WorkerResult>((resolve, reject) => {
    worker.on('message', (m: any) => {
      if (m.type === 'progress') onProgress(m.progress)
      else if (m.type === 'result') {
        settled = true
        resolve({
          labels: m.labels,
          reference: { ...m.referenceGrid, source: m.referenceSource },
          provider: m.provider,
          notes: m.notes,
          warnings: m.warnings,
          classification: m.classification,
          timingsMs: m.timingsMs
        })
        void worker.terminate()
      } else if (m.type === 'error') {
        settled = true
        reject(new SegError(m.code as SegErrorCode, m.message))
        void worker.terminate()
      }
    })
    worker.on('error', (e) => {
      settled = true
      reject(new SegError('UNSUPPORTED', `the segmentation worker crashed: ${e.message}`))
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new SegError('CANCELLED', code === 1 ? 'segmentation cancelled by the user' : `the segmentation worker stopped (exit ${code})`))
    })
  })
  worker.postMessage(request)
  return {
    result,
    cancel() {
      worker.postMessage('cancel')
      setTimeout(() => {
        if (!settled) void worker.terminate()
      }, 2000).unref()
    }
  }
}
