/**
 * The reader's watchdog: decoding runs in a worker thread, and a read that outlives its deadline
 * has its worker terminated and fails with one SegError line, so a file that makes a decoder spin
 * (as a crafted sform did in itk-wasm) costs one request, not the process. One idle worker is kept
 * for the next read (unreferenced: it never keeps the process alive). The worker silences ITK's
 * warnings and matrix dumps (read-worker.ts).
 *
 * The worker entry is read-worker.ts started through tsx (CLI, tests, browser bridge), or the
 * compiled script named by SEGTRANSFER_READ_WORKER (the packaged app sets it; the environment is
 * inherited by nested workers such as the segmentation worker).
 */
import { Worker } from 'node:worker_threads'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SegError, type SegErrorCode } from '../errors'
import type { Volume } from './volume'
import type { ReadRequest } from './read-worker'

/** Deadline terms: a fixed allowance, plus time per byte of file and per byte of decoded voxels. */
export const READ_BASE_MS = 20_000
/** Slowest expected reading rate of the file itself (bytes/s): reading a .nii.gz inflates it whole. */
export const READ_FILE_BYTES_PER_S = 5e6
/** Slowest expected decoding rate (decoded bytes/s) on a loaded machine. */
export const READ_DECODE_BYTES_PER_S = 10e6
/** Bounds of a caller's fixed deadline (ms). */
export const DEADLINE_MIN_MS = 100
export const DEADLINE_MAX_MS = 3_600_000

/**
 * How long a read may take (ms): READ_BASE_MS + fileBytes at READ_FILE_BYTES_PER_S + decodedBytes
 * at READ_DECODE_BYTES_PER_S (decodedBytes is 0 until the header has been read).
 */
export function readDeadlineMs(fileBytes: number, decodedBytes: number): number {
  return READ_BASE_MS + (1000 * fileBytes) / READ_FILE_BYTES_PER_S + (1000 * decodedBytes) / READ_DECODE_BYTES_PER_S
}

let idle: Worker | null = null

function startWorker(): Worker {
  const compiled = process.env.SEGTRANSFER_READ_WORKER
  return compiled
    ? new Worker(compiled)
    : new Worker(fileURLToPath(new URL('../service/ts-worker-bootstrap.mjs', import.meta.url)), {
        workerData: { entry: new URL('./read-worker.ts', import.meta.url).href }
      })
}

/** Keeps a worker that finished cleanly for the next read (one at most). */
function release(worker: Worker): void {
  worker.removeAllListeners('message').removeAllListeners('error').removeAllListeners('exit')
  if (idle === null) {
    worker.on('exit', () => { if (idle === worker) idle = null })
    worker.unref()
    idle = worker
  } else void worker.terminate()
}

export interface WorkerReadOptions {
  maxBytes: number
  /** Size of the file on disk (bytes), for the deadline. */
  fileBytes: number
  /** A fixed deadline (ms, DEADLINE_MIN_MS..DEADLINE_MAX_MS) instead of `readDeadlineMs`. */
  deadlineMs?: number
  /** Which volume of a 4D file (ReadOptions.volume). */
  volume?: number
}

/** Reads `abs` in a worker under a deadline; see the file comment. */
export function readInWorker(abs: string, opts: WorkerReadOptions): Promise<Volume> {
  const name = basename(abs)
  const fixed = opts.deadlineMs
  if (fixed !== undefined && !(fixed >= DEADLINE_MIN_MS && fixed <= DEADLINE_MAX_MS)) {
    throw new SegError('BAD_ARGUMENT', `a read deadline of ${fixed} ms is out of range; expected ${DEADLINE_MIN_MS} to ${DEADLINE_MAX_MS} ms`)
  }
  const worker = idle ?? startWorker()
  idle = null
  worker.ref()
  const started = Date.now()
  return new Promise<Volume>((resolve, reject) => {
    let timer: NodeJS.Timeout
    const arm = (decodedBytes: number): void => {
      clearTimeout(timer)
      const allowed = fixed ?? readDeadlineMs(opts.fileBytes, decodedBytes)
      timer = setTimeout(() => {
        worker.removeAllListeners()
        void worker.terminate()
        reject(new SegError('CORRUPT_FILE', `${name} could not be read within ${Math.round(allowed / 1000)} s (the reader was stopped); expected a readable image file`))
      }, Math.max(0, started + allowed - Date.now()))
    }
    const fail = (code: SegErrorCode, message: string): void => {
      clearTimeout(timer)
      reject(new SegError(code, message))
    }
    arm(0)
    worker.on('message', (m: { type: string; decodedBytes?: number; volume?: Volume; code?: SegErrorCode; message?: string; errno?: string }) => {
      if (m.type === 'plan') return arm(m.decodedBytes ?? 0)
      clearTimeout(timer)
      release(worker)
      if (m.type === 'result') resolve(m.volume!)
      else if (m.code !== undefined) fail(m.code, m.message!)
      else fail('CORRUPT_FILE', unexpectedFailure(name, m.errno))
    })
    worker.on('error', () => {
      void worker.terminate()
      fail('CORRUPT_FILE', unexpectedFailure(name, undefined))
    })
    worker.on('exit', () => fail('CORRUPT_FILE', unexpectedFailure(name, undefined)))
    worker.postMessage({ path: abs, maxBytes: opts.maxBytes, volume: opts.volume } satisfies ReadRequest)
  })
}

/** The one line for a failure the reader did not foresee (a bug, or the system refusing a read). */
function unexpectedFailure(name: string, errno: string | undefined): string {
  if (errno === 'EACCES' || errno === 'EPERM') return `${name} cannot be read (permission denied); expected an image file you can read`
  return `${name} could not be read: the reader failed unexpectedly${errno ? ` (${errno})` : ''}; expected a valid image file`
}
