/**
 * Runs an engine job (a segmentation: segment-worker.ts; a teach run: teach-worker.ts) in a worker
 * thread and resolves with its result, or rejects with the engine's SegError (a plain Error for a
 * bug, which the core reports as INTERNAL). Cancelling settles the run at once: a stuck native call
 * can never hold the app. A worker is never terminated while it works (inside an onnxruntime call
 * that aborts the whole process), only once it has answered.
 */
import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { SegError } from '../errors'
import type { SegmentProgress } from '../pipeline/segment'
import type { TeachProgress } from '../teach/teach'
import type { Cancel, JobReply, TeachWorkerRequest, TeachWorkerResult, ToTeachWorker, ToWorker, WorkerRequest, WorkerResult } from './messages'

export type { WorkerRequest, WorkerResult } from './messages'

export interface WorkerRun<T = WorkerResult> {
  result: Promise<T>
  cancel(): void
}

/** How one kind of worker job reports. */
export interface WorkerJob<P> {
  /** What runs, for messages ("segmentation", "teaching"). */
  what: string
  onProgress(progress: P): void
}

/**
 * Runs one job message in a worker thread; the worker answers JobReply messages (messages.ts).
 * @param workerUrl the compiled worker script (electron-vite `?modulePath` in the app), or the .ts
 *   source (dev, tests, the browser bridge), which is then started through tsx.
 */
export function runJobInWorker<Job extends { type: string }, P, R>(workerUrl: string | URL, job: Job, how: WorkerJob<P>): WorkerRun<R> {
  const entry = String(workerUrl)
  const worker = entry.endsWith('.ts')
    ? new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), { workerData: { entry: entry.startsWith('file:') ? entry : pathToFileURL(entry).href } })
    : new Worker(workerUrl)
  let settled = false
  let detach = () => {}
  const result = new Promise<R>((resolve, reject) => {
    detach = () => {
      settled = true
      reject(new SegError('CANCELLED', `${how.what} cancelled by the user`))
    }
    worker.on('message', (m: JobReply<P, R>) => {
      if (settled) {
        if (m.type !== 'progress') void worker.terminate() // a detached worker that has finished: idle, safe to end
        return
      }
      if (m.type === 'progress') return how.onProgress(m.progress)
      settled = true
      void worker.terminate()
      if (m.type === 'result') {
        const { type: _, ...r } = m
        resolve(r as R)
      } else reject(m.code === 'INTERNAL' ? new Error(m.message) : new SegError(m.code, m.message)) // INTERNAL: the core reports it as such
    })
    worker.on('error', (e) => {
      settled = true
      reject(new SegError('UNSUPPORTED', `the ${how.what} worker crashed: ${e.message}`))
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new SegError('CANCELLED', code === 1 ? `${how.what} cancelled by the user` : `the ${how.what} worker stopped (exit ${code})`))
    })
  })
  const send = (m: Job | Cancel): void => worker.postMessage(m)
  send(job)
  return {
    result,
    cancel() {
      send({ type: 'cancel' }) // the worker stops at its next check, then answers and is ended (above)
      if (!settled) detach()
    }
  }
}

/**
 * A segmentation (segment-worker.ts). A cancel is never a terminate: terminating a worker inside an
 * onnxruntime run aborts the whole process (SIGABRT, "terminate called after throwing an instance of
 * 'Napi::Error'": seen with MeshNet's 7-second whole-volume run cancelled 2 s in). The run rejects
 * with CANCELLED at once and the worker stops at segment()'s next abort check (between windows and
 * stages), then is ended while idle.
 */
export function runSegmentationInWorker(workerUrl: string | URL, request: WorkerRequest, onProgress: (p: SegmentProgress) => void): WorkerRun {
  return runJobInWorker<ToWorker, SegmentProgress, WorkerResult>(workerUrl, { type: 'segment', ...request }, { what: 'segmentation', onProgress })
}

/**
 * A Teach panel run (teach-worker.ts). Training is synchronous between epochs, so the worker cannot
 * read a 'cancel' message then: the cancel also raises a shared flag that the worker checks at every
 * progress report (each slab of features, each epoch). The run rejects at once; the worker writes nothing.
 */
export function runTeachInWorker(workerUrl: string | URL, request: Omit<TeachWorkerRequest, 'cancelFlag'>, onProgress: (p: TeachProgress) => void): WorkerRun<TeachWorkerResult> {
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4))
  const run = runJobInWorker<ToTeachWorker, TeachProgress, TeachWorkerResult>(workerUrl, { type: 'teach', ...request, cancelFlag }, { what: 'teaching', onProgress })
  return {
    result: run.result,
    cancel() {
      Atomics.store(cancelFlag, 0, 1)
      run.cancel()
    }
  }
}
