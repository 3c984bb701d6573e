/**
 * Runs readVolume in a separate worker thread under a deadline, so that a read which blocks its
 * thread for good (as itk-wasm did on a crafted sform, and as opening a FIFO did) is reported as
 * 'hang' instead of freezing the test runner.
 */
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'

export type ReadOutcome =
  | { kind: 'ok'; size: number[]; spacing: number[]; origin: number[]; direction: number[]; voxels: number }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'raw'; message: string }
  | { kind: 'hang'; ms: number }

const BOOTSTRAP = fileURLToPath(new URL('../../src/engine/service/ts-worker-bootstrap.mjs', import.meta.url))
const ENTRY = new URL('./read-harness-worker.ts', import.meta.url).href

/** A reader thread that takes paths one at a time; `close()` ends it. */
export function readHarness(): { read(path: string, ms: number, deadlineMs?: number): Promise<ReadOutcome>; close(): Promise<void> } {
  let worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY } })
  return {
    read(path, ms, deadlineMs) {
      return new Promise((resolve) => {
        const started = Date.now()
        const timer = setTimeout(() => {
          worker.removeAllListeners('message')
          void worker.terminate()
          worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY } })
          resolve({ kind: 'hang', ms: Date.now() - started })
        }, ms)
        worker.once('message', (m: ReadOutcome) => {
          clearTimeout(timer)
          resolve(m)
        })
        worker.postMessage({ path, deadlineMs })
      })
    },
    async close() {
      await worker.terminate()
    }
  }
}

/** One read under a deadline (ms) in a fresh thread. */
export async function readUnderDeadline(path: string, ms: number): Promise<ReadOutcome> {
  const h = readHarness()
  try {
    return await h.read(path, ms)
  } finally {
    await h.close()
  }
}
