/**
 * Runs a segmentation in a worker thread and resolves with the label map, or rejects with the
 * engine's SegError (a plain Error for a bug, which the core reports as INTERNAL). Cancelling terminates cooperatively first, then hard after a grace period, so a
 * stuck native call can never hold the app.
 */
import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { SegError } from '../errors'
import type { SegmentProgress } from '../pipeline/segment'
import type { FromWorker, ToWorker, WorkerRequest, WorkerResult } from './messages'

export type { WorkerRequest, WorkerResult } from './messages'

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
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') return onProgress(m.progress)
      settled = true
      void worker.terminate()
      if (m.type === 'result') {
        const { type: _, ...r } = m
        resolve(r)
      } else reject(m.code === 'INTERNAL' ? new Error(m.message) : new SegError(m.code, m.message)) // INTERNAL: the core reports it as such
    })
    worker.on('error', (e) => {
      settled = true
      reject(new SegError('UNSUPPORTED', `the segmentation worker crashed: ${e.message}`))
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new SegError('CANCELLED', code === 1 ? 'segmentation cancelled by the user' : `the segmentation worker stopped (exit ${code})`))
    })
  })
  const send = (m: ToWorker): void => worker.postMessage(m)
  send({ type: 'segment', ...request })
  return {
    result,
    cancel() {
      send({ type: 'cancel' })
      setTimeout(() => {
        if (!settled) void worker.terminate()
      }, 2000).unref()
    }
  }
}
