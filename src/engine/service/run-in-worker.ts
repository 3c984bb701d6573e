/**
 * Runs an engine job (a segmentation, a teach run: teach-worker.ts) in a worker thread and resolves
 * with its result (a segmentation: the label map), or rejects with the engine's SegError. Cancelling terminates cooperatively first, then hard after a grace period, so a
 * stuck native call can never hold the app.
 */
import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { SegError, type SegErrorCode } from '../errors'
import type { Grid, Volume } from '../volume/volume'
import type { SegmentProgress } from '../pipeline/segment'
import type { WorkerRequest } from './segment-worker'
import type { TeachWorkerRequest, TeachWorkerResult } from './teach-worker'
import type { TeachProgress } from '../teach/teach'

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

export interface WorkerRun<T = WorkerResult> {
  result: Promise<T>
  cancel(): void
}

/** How one kind of worker job reports and cancels. */
export interface WorkerJob<T> {
  /** What runs, for messages ("segmentation", "teaching"). */
  what: string
  /**
   * After a cancel, how long the worker may stop by itself before it is terminated (ms); 'detach':
   * never terminated (terminating a worker inside an onnxruntime call aborts the whole process), the
   * result rejects with CANCELLED at once and the worker ends at its next cancel check.
   */
  graceMs: number | 'detach'
  onProgress(progress: any): void
  /** The worker's 'result' message as the job's result. */
  onResult(message: any): T
}

/**
 * Runs one request in a worker thread: messages out are { type: 'progress' | 'result' | 'error' }.
 * @param workerUrl the compiled worker script (electron-vite `?modulePath` in the app), or the .ts
 *   source (dev, tests, the browser bridge), which is then started through tsx.
 */
export function runJobInWorker<T>(workerUrl: string | URL, request: unknown, job: WorkerJob<T>): WorkerRun<T> {
  const entry = String(workerUrl)
  const worker = entry.endsWith('.ts')
    ? new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), { workerData: { entry: entry.startsWith('file:') ? entry : pathToFileURL(entry).href } })
    : new Worker(workerUrl)
  let settled = false
  let detach = () => {}
  const result = new Promise<T>((resolve, reject) => {
    detach = () => {
      settled = true
      reject(new SegError('CANCELLED', `${job.what} cancelled by the user`))
    }
    worker.on('message', (m: any) => {
      if (settled) {
        if (m.type !== 'progress') void worker.terminate() // a detached worker that has finished: idle, safe to end
      } else if (m.type === 'progress') job.onProgress(m.progress)
      else if (m.type === 'result') {
        settled = true
        resolve(job.onResult(m))
        void worker.terminate()
      } else if (m.type === 'error') {
        settled = true
        reject(new SegError(m.code as SegErrorCode, m.message))
        void worker.terminate()
      }
    })
    worker.on('error', (e) => {
      settled = true
      reject(new SegError('UNSUPPORTED', `the ${job.what} worker crashed: ${e.message}`))
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new SegError('CANCELLED', code === 1 ? `${job.what} cancelled by the user` : `the ${job.what} worker stopped (exit ${code})`))
    })
  })
  worker.postMessage(request)
  return {
    result,
    cancel() {
      worker.postMessage('cancel')
      const grace = job.graceMs
      if (grace === 'detach') return void (settled || detach())
      setTimeout(() => {
        if (!settled) void worker.terminate()
      }, grace).unref()
    }
  }
}

export function runSegmentationInWorker(workerUrl: string | URL, request: WorkerRequest, onProgress: (p: SegmentProgress) => void): WorkerRun {
  return runJobInWorker(workerUrl, request, {
    what: 'segmentation',
    graceMs: 2000,
    onProgress,
    onResult: (m): WorkerResult => ({
      labels: m.labels,
      reference: { ...m.referenceGrid, source: m.referenceSource },
      provider: m.provider,
      notes: m.notes,
      warnings: m.warnings,
      classification: m.classification,
      timingsMs: m.timingsMs
    })
  })
}

/**
 * A Teach panel run (teach-worker.ts). Training is synchronous between epochs, so the worker cannot
 * read a 'cancel' message then: the cancel also raises a shared flag that the worker checks at every
 * progress report (each slab of features, each epoch). The run rejects at once; the worker writes nothing.
 */
export function runTeachInWorker(workerUrl: string | URL, request: Omit<TeachWorkerRequest, 'cancelFlag'>, onProgress: (p: TeachProgress) => void): WorkerRun<TeachWorkerResult> {
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4))
  const run = runJobInWorker(workerUrl, { ...request, cancelFlag }, { what: 'teaching', graceMs: 'detach', onProgress, onResult: (m): TeachWorkerResult => m })
  return {
    result: run.result,
    cancel() {
      Atomics.store(cancelFlag, 0, 1)
      run.cancel()
    }
  }
}
