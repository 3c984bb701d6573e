/**
 * StudyPool: N worker processes (child.ts), each with its own onnxruntime sessions and
 * floor(cores / N) threads, so the machine's cores are shared, not oversubscribed. Studies are
 * queued and handed to the first free process; a process that dies mid-study (out of memory, a
 * native crash) fails that study with a one-line error and is replaced.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { SegError } from '../errors'
import type { Device } from '../pipeline/segment'
import type { StudyRecord } from './journal'
import { writerName } from './journal'
import type { KeyedStudy } from './study'
import type { ChildInit } from './child'

/** Most worker processes per machine (each holds a model and a volume in memory). */
export const MAX_WORKERS = 64

export interface PoolOptions {
  workers: number
  bundleDir: string
  outDir: string
  device: Device
  refinement: boolean
  /** Segment studies that grossly mismatch the bundle (StudyRunOptions.force); `run` may say otherwise per study. */
  force?: boolean
  /** onnxruntime threads per process; default floor(cores / workers), at least 1. */
  threads?: number
  onProgress?: (key: string, fraction: number) => void
}

/** Threads per worker process so that `workers` processes use the cores once: floor(cores / workers) ≥ 1. */
export function threadsPerWorker(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers))
}

interface Task {
  study: KeyedStudy
  /** StudyRunOptions.force for this study: a per-study choice, so one pool (one set of processes and model sessions) serves forced and unforced studies. */
  force: boolean
  resolve: (r: StudyRecord) => void
  reject: (e: Error) => void
}

interface Slot {
  child: ChildProcess
  ready: Promise<void>
  task?: Task
}

const CHILD_ENTRY = fileURLToPath(new URL('./child-bootstrap.mjs', import.meta.url))

export class StudyPool {
  private readonly slots: Slot[] = []
  private readonly queue: Task[] = []
  private closed = false

  constructor(private readonly opts: PoolOptions) {
    if (!(Number.isInteger(opts.workers) && opts.workers >= 1 && opts.workers <= MAX_WORKERS)) {
      throw new SegError('BAD_ARGUMENT', `--workers ${opts.workers} is out of range; expected an integer from 1 to ${MAX_WORKERS}`)
    }
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn())
  }

  /**
   * Runs one study in the first free process; resolves with its record (done or failed).
   * @param opts.force segment it even when it grossly mismatches the bundle (default PoolOptions.force).
   */
  run(study: KeyedStudy, opts: { force?: boolean } = {}): Promise<StudyRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ study, force: opts.force ?? this.opts.force === true, resolve, reject })
      this.dispatch()
    })
  }

  /** Cancels the studies in flight and queued: their promises reject with CANCELLED. */
  cancel(): void {
    this.closed = true
    for (const t of this.queue.splice(0)) t.reject(new SegError('CANCELLED', 'batch cancelled by the user'))
    for (const s of this.slots) if (s.child.connected) s.child.send('cancel')
  }

  /** Stops the processes once they are idle (after cancel(), once their studies have cleaned up). */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.slots.map((s) => new Promise<void>((resolve) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve()
      s.child.once('exit', () => resolve())
      if (!s.task && s.child.connected) s.child.disconnect()
    })))
  }

  private spawn(): Slot {
    const child = fork(CHILD_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
    const slot: Slot = { child, ready: Promise.resolve() }
    slot.ready = new Promise<void>((resolve) => child.once('message', () => resolve()))
    const init: ChildInit = {
      type: 'init',
      bundleDir: this.opts.bundleDir,
      outDir: this.opts.outDir,
      options: { worker: writerName(), device: this.opts.device, refinement: this.opts.refinement, threads: this.opts.threads ?? threadsPerWorker(this.opts.workers) }
    }
    child.send(init)
    child.on('message', (m: any) => this.onMessage(slot, m))
    child.on('exit', (code, signal) => this.onExit(slot, code, signal))
    return slot
  }

  private onMessage(slot: Slot, m: any): void {
    if (m.type === 'progress') return this.opts.onProgress?.(m.key, m.fraction)
    const task = slot.task
    if (!task || (m.type !== 'record' && m.type !== 'cancelled')) return
    slot.task = undefined
    if (m.type === 'record') task.resolve(m.record)
    else task.reject(new SegError('CANCELLED', m.message))
    if (this.closed && slot.child.connected) slot.child.disconnect()
    this.dispatch()
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    const task = slot.task
    slot.task = undefined
    if (task) {
      const s = task.study
      task.resolve({
        key: s.key, id: s.id, inputs: s.inputs, status: 'failed', seconds: 0, worker: writerName(), finishedAt: new Date().toISOString(),
        error: `the worker process stopped during this study (${signal ?? `exit ${code}`}); expected it to finish (out of memory?)`
      })
    }
    if (this.closed) return
    const i = this.slots.indexOf(slot)
    if (i >= 0) this.slots[i] = this.spawn()
    this.dispatch()
  }

  private dispatch(): void {
    if (this.closed) return
    for (const slot of this.slots) {
      if (slot.task || !slot.child.connected || this.queue.length === 0) continue
      const task = this.queue.shift()!
      slot.task = task
      void slot.ready.then(() => slot.child.connected && slot.child.send({ type: 'study', study: task.study, force: task.force }))
    }
  }
}
