/**
 * Distributed batches over BullMQ on Redis: one job per study (job id = a hash of the study's key and
 * output folder, so queuing the same study again is a no-op), workers on any number of machines that share the input and
 * output storage, retries with exponential backoff, and BullMQ's stalled-job recovery: a worker
 * that dies mid-job loses its lock and another worker takes the job over. Outputs stay exactly-once
 * by construction: a study's outputs are renamed into place under fixed names (a redo replaces them
 * whole), and journal records are keyed, the latest winning.
 */
import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { Queue, Worker, UnrecoverableError, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { SegError } from '../errors'
import type { Bundle } from '../bundle/bundle'
import type { Device } from '../pipeline/segment'
import { hashBundle } from './hash'
import { keyStudies } from './plan'
import { JournalWriter, latestByKey, readJournal, type StudyRecord } from './journal'
import { StudyPool, MAX_WORKERS } from './pool'
import { writeReports, type ReportRow } from './report'
import type { BatchCounts } from './progress'
import type { KeyedStudy } from './study'
import type { Study } from './studies'

export const DEFAULT_QUEUE = 'segtransfer'

/** What a job carries: everything a worker on another machine needs (paths on the shared storage). */
export interface StudyJobData {
  study: KeyedStudy
  bundleDir: string
  outDir: string
  refinement: boolean
  /** Segment the study even when it grossly mismatches the bundle (StudyRunOptions.force); absent in older jobs. */
  force?: boolean
}

export interface QueueOptions {
  /** redis://host:port[/db] or rediss:// */
  redisUrl: string
  /** Queue name (letters, digits, '.', '_', '-'). */
  queue?: string
}

/** Retries of a job whose worker crashed (its own input errors are not retried). */
export const DEFAULT_ATTEMPTS = 3
/** First retry delay; doubled each time (BullMQ's exponential backoff). */
export const DEFAULT_BACKOFF_MS = 5_000

function checkQueueOptions(o: QueueOptions): { url: string; name: string } {
  if (!/^rediss?:\/\/[^\s]+$/.test(o.redisUrl)) throw new SegError('BAD_ARGUMENT', `--redis ${o.redisUrl} is not a Redis URL; expected redis://host:port (or rediss:// for TLS)`)
  const name = o.queue ?? DEFAULT_QUEUE
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new SegError('BAD_ARGUMENT', `--queue '${name}' is not a usable queue name; expected 1-64 letters, digits, '.', '_' or '-'`)
  return { url: o.redisUrl, name }
}

/**
 * A Redis connection for BullMQ. Commands wait for a reconnect (maxRetriesPerRequest null, as BullMQ
 * requires); `failFast` connections (the CLI's add/status/report) give up after a few tries instead.
 */
export async function connect(url: string, failFast: boolean): Promise<Redis> {
  const r = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: failFast ? (n) => (n > 2 ? null : 200) : (n) => Math.min(n * 500, 5000) })
  r.on('error', () => undefined) // reported by connect() below or retried; never an unhandled event
  try {
    await r.connect()
  } catch (e) {
    r.disconnect()
    throw new SegError('BAD_ARGUMENT', `could not reach Redis at ${url} (${(e as Error).message.split('\n')[0]}); expected a running redis-server`)
  }
  return r
}

async function withQueue<T>(o: QueueOptions, fn: (q: Queue) => Promise<T>): Promise<T> {
  const { url, name } = checkQueueOptions(o)
  const connection = await connect(url, true)
  const queue = new Queue(name, { connection })
  try {
    return await fn(queue)
  } finally {
    await queue.close()
    connection.disconnect()
  }
}

export interface EnqueueOptions extends QueueOptions {
  bundle: Bundle
  studies: Study[]
  outDir: string
  refinement: boolean
  /** StudyRunOptions.force for the new jobs, and for the failed ones `retryFailed` runs again. */
  force?: boolean
  /** Run again the jobs of these studies that failed (same job id), with this call's options. */
  retryFailed?: boolean
  attempts?: number
  backoffMs?: number
}

/**
 * A study's job id: its key (inputs, bundle, options) and where its outputs go, so the same study
 * queued for another output folder is another job, and queued again for the same one is not.
 */
export function jobIdOf(key: string, outDir: string): string {
  return createHash('sha256').update(`${key}:${resolve(outDir)}`).digest('hex').slice(0, 40)
}

/**
 * Queues one job per study; returns how many were new, how many were already queued (same job id),
 * and how many of those had failed and were queued again (`retryFailed`).
 */
export async function enqueueStudies(o: EnqueueOptions): Promise<{ added: number; existing: number; retried: number }> {
  const keyed = await keyStudies(o.studies, await hashBundle(o.bundle), { refinement: o.refinement })
  const outDir = resolve(o.outDir)
  return withQueue(o, async (queue) => {
    const known = await Promise.all(keyed.map((s) => queue.getJob(jobIdOf(s.key, outDir))))
    const fresh = keyed.filter((_, i) => !known[i])
    const dataOf = (study: KeyedStudy): StudyJobData => ({ study, bundleDir: o.bundle.dir, outDir, refinement: o.refinement, force: o.force })
    await queue.addBulk(fresh.map((study) => ({
      name: study.id,
      data: dataOf(study),
      opts: { jobId: jobIdOf(study.key, outDir), attempts: o.attempts ?? DEFAULT_ATTEMPTS, backoff: { type: 'exponential', delay: o.backoffMs ?? DEFAULT_BACKOFF_MS } }
    })))
    let retried = 0
    for (const [i, job] of known.entries()) {
      if (!o.retryFailed || !job || !(await job.isFailed())) continue
      await job.updateData(dataOf(keyed[i])) // this call's options (--force), not the failed run's
      // Another `queue add --retry-failed` may have moved it first: then it is already queued again.
      if (await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).then(() => true, () => false)) retried++
    }
    return { added: fresh.length, existing: keyed.length - fresh.length, retried }
  })
}

export interface QueueStatus {
  counts: BatchCounts & { waiting: number; delayed: number }
  /** Milliseconds from the first job's start to the last one's end (for the rate). */
  elapsedMs: number
  /** Jobs in flight: study id and progress (0..100). */
  active: { id: string; progress: number }[]
}

/** Counts, active jobs and the elapsed time of the finished ones: what `queue status` prints. */
export async function queueStatus(o: QueueOptions): Promise<QueueStatus> {
  return withQueue(o, async (queue) => {
    const c = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children')
    const finished = await queue.getJobs(['completed', 'failed'])
    const active = await queue.getJobs(['active'])
    const starts = finished.map((j) => j.processedOn ?? Infinity)
    const ends = finished.map((j) => j.finishedOn ?? 0)
    const elapsedMs = finished.length ? Math.max(...ends) - Math.min(...starts) : 0
    const total = Object.values(c).reduce((a, b) => a + b, 0)
    return {
      counts: { total, done: c.completed, failed: c.failed, skipped: 0, running: c.active, waiting: c.waiting + c.prioritized + c['waiting-children'], delayed: c.delayed },
      elapsedMs,
      active: active.map((j) => ({ id: (j.data as StudyJobData).study.id, progress: typeof j.progress === 'number' ? j.progress : 0 }))
    }
  })
}

/** The report rows of the queue's jobs for one output folder: journal records first, else the job's state. */
export async function queueReportRows(o: QueueOptions & { outDir: string }): Promise<ReportRow[]> {
  const outDir = resolve(o.outDir)
  const latest = latestByKey(readJournal(outDir))
  return withQueue(o, async (queue) => {
    const rows = new Map<string, ReportRow>()
    for (const state of ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'] as const) {
      for (const j of await queue.getJobs(state)) {
        const { study, outDir: jobOut } = j.data as StudyJobData
        if (jobOut !== outDir || rows.has(study.key)) continue
        const rec = latest.get(study.key)
        rows.set(study.key, rec ?? (state === 'failed'
          ? { key: study.key, id: study.id, inputs: study.inputs, status: 'failed', error: j.failedReason, seconds: 0, worker: '', finishedAt: new Date(j.finishedOn ?? 0).toISOString() }
          : { ...study, status: state === 'active' ? 'running' : 'pending' }))
      }
    }
    return [...rows.values()]
  })
}

/** Writes report.csv and report.html of the queue's jobs for `outDir`. */
export async function writeQueueReport(o: QueueOptions & { outDir: string }): Promise<{ csv: string; html: string; rows: number }> {
  const rows = await queueReportRows(o)
  if (rows.length === 0) throw new SegError('BAD_ARGUMENT', `the queue has no jobs writing to ${resolve(o.outDir)}; expected the --out-dir given to 'queue add'`)
  return { ...(await writeReports(resolve(o.outDir), rows, 'SegTransfer queue report')), rows: rows.length }
}

export interface WorkerOptions extends QueueOptions {
  /** Studies at once on this machine (worker processes): 1..MAX_WORKERS. */
  concurrency: number
  device: Device
  /** BullMQ lock duration, ms: a worker silent this long is taken as dead (default 30 s). */
  lockDurationMs?: number
  /** How often stalled jobs are looked for, ms (default 30 s). */
  stalledIntervalMs?: number
  /** Job events for the log: 'started' | 'done' | 'failed'. */
  onEvent?: (event: 'started' | 'done' | 'failed', job: { jobId: string; id: string; detail?: string }) => void
}

/** A crash of the worker process is retried; a study's own error (its input) is not. */
const CRASH = 'the worker process stopped during this study'
const LOST_LOCK = 'this worker lost the job\'s lock (it was given to another worker); the other worker records it'
/** BullMQ's default lock duration, ms. */
const DEFAULT_LOCK_MS = 30_000

/**
 * Starts a queue worker: BullMQ takes jobs and hands each to a StudyPool process (the pool of the
 * job's bundle and output folder), journals the record and returns it as the job's result. Its own
 * event loop stays free while studies run, so its lock is renewed even during long studies.
 */
export async function startWorker(o: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const { url, name } = checkQueueOptions(o)
  if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1 && o.concurrency <= MAX_WORKERS)) {
    throw new SegError('BAD_ARGUMENT', `--concurrency ${o.concurrency} is out of range; expected an integer from 1 to ${MAX_WORKERS}`)
  }
  const bounded = (ms: number | undefined, what: string) => {
    if (ms !== undefined && !(Number.isInteger(ms) && ms >= 500 && ms <= 3_600_000)) throw new SegError('BAD_ARGUMENT', `${what} ${ms} ms is out of range; expected 500 to 3600000 ms`)
    return ms
  }
  const lockDuration = bounded(o.lockDurationMs, 'lock duration')
  const stalledInterval = bounded(o.stalledIntervalMs, 'stalled interval')
  const connection = await connect(url, false)
  const pools = new Map<string, StudyPool>()
  const journals = new Map<string, JournalWriter>()
  const progress = new Map<string, { job: Job; step: number }>()
  // Progress to Redis in 10 % steps: each update is a round trip, and a study reports many stages.
  const report = (key: string, fraction: number) => {
    const p = progress.get(key)
    const step = Math.floor(fraction * 10)
    if (!p || step <= p.step) return
    p.step = step
    void p.job.updateProgress(step * 10).catch(() => undefined)
  }
  // force is per study (StudyPool.run): a re-queued forced job does not start a second set of processes.
  const poolFor = (d: StudyJobData) => {
    const k = JSON.stringify([d.bundleDir, d.outDir, d.refinement])
    let p = pools.get(k)
    if (!p) {
      p = new StudyPool({ workers: o.concurrency, bundleDir: d.bundleDir, outDir: d.outDir, device: o.device, refinement: d.refinement, onProgress: report })
      pools.set(k, p)
    }
    return p
  }
  const journalFor = (outDir: string) => journals.get(outDir) ?? journals.set(outDir, new JournalWriter(outDir)).get(outDir)!
  const worker = new Worker(name, async (job: Job, token?: string) => {
    const d = job.data as StudyJobData
    o.onEvent?.('started', { jobId: job.id!, id: d.study.id })
    progress.set(d.study.key, { job, step: 0 })
    let record: StudyRecord
    try {
      record = await poolFor(d).run(d.study, { force: d.force === true })
    } finally {
      progress.delete(d.study.key)
    }
    // A worker whose lock lapsed (starved, not dead) may find its job already handed to another:
    // that worker journals it, so the study keeps one record.
    if (token && !(await job.extendLock(token, lockDuration ?? DEFAULT_LOCK_MS))) throw new Error(LOST_LOCK)
    const crashed = record.status === 'failed' && record.error?.startsWith(CRASH)
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    if (!crashed || lastAttempt) journalFor(d.outDir).append(record)
    if (record.status === 'done') return record
    throw crashed ? new Error(record.error) : new UnrecoverableError(record.error)
  }, {
    connection,
    concurrency: o.concurrency,
    maxStalledCount: 2,
    // BullMQ's defaults stay unless set (an undefined key would override them)
    ...(lockDuration !== undefined && { lockDuration }),
    ...(stalledInterval !== undefined && { stalledInterval })
  })
  worker.on('completed', (job) => o.onEvent?.('done', { jobId: job.id!, id: (job.data as StudyJobData).study.id }))
  worker.on('failed', (job, err) => job && o.onEvent?.('failed', { jobId: job.id!, id: (job.data as StudyJobData).study.id, detail: err.message }))
  worker.on('error', () => undefined) // connection errors: ioredis reconnects; BullMQ logs nothing else we act on
  await worker.waitUntilReady()
  return {
    async close() {
      // Without Redis a graceful close would wait for it forever; the jobs in flight then stall and are recovered.
      await worker.close(connection.status !== 'ready')
      for (const p of pools.values()) p.cancel()
      await Promise.all([...pools.values()].map((p) => p.close()))
      for (const j of journals.values()) j.close()
      connection.disconnect()
    }
  }
}
