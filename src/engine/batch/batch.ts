/**
 * runBatch: a local batch over worker processes. Lists and keys the studies, skips those the
 * journal has done, runs the rest in a StudyPool, journals each record as it ends (after its outputs
 * are in place), and writes report.csv and report.html over all listed studies.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Bundle } from '../bundle/bundle'
import type { Device } from '../pipeline/segment'
import { isSegError } from '../errors'
import { hashBundle } from './hash'
import { JournalWriter, readJournal, type StudyRecord } from './journal'
import { keyStudies, planBatch, sweepPartials } from './plan'
import { StudyPool } from './pool'
import { sortRows, writeReports } from './report'
import { lockOutputFolder } from './lock'
import type { BatchCounts } from './progress'
import type { Study } from './studies'

export interface BatchOptions {
  bundle: Bundle
  studies: Study[]
  outDir: string
  workers: number
  device: Device
  refinement: boolean
  /** Segment studies that grossly mismatch the bundle, with their fit warnings (StudyRunOptions.force). */
  force?: boolean
  /** Run the studies that failed before (same inputs and bundle) again. */
  retryFailed?: boolean
  /** Aborting stops dispatching, cancels the studies in flight (no partial files) and still writes the report. */
  signal?: AbortSignal
  onProgress?: (counts: BatchCounts) => void
}

export interface BatchResult {
  counts: BatchCounts
  cancelled: boolean
  /** The failed studies of the listing (this run's and earlier ones'), in report order: id and one-line error. */
  failures: { id: string; error: string }[]
  report: { csv: string; html: string }
}

export async function runBatch(opts: BatchOptions): Promise<BatchResult> {
  const outDir = resolve(opts.outDir)
  mkdirSync(outDir, { recursive: true })
  const release = lockOutputFolder(outDir)
  try {
    sweepPartials(outDir)
    const keyed = await keyStudies(opts.studies, await hashBundle(opts.bundle), { refinement: opts.refinement })
    const plan = planBatch(keyed, readJournal(outDir), outDir, { retryFailed: opts.retryFailed })
    const records = new Map<string, StudyRecord>(plan.finished.map((r) => [r.key, r]))
    const before = (status: StudyRecord['status']) => plan.finished.filter((r) => r.status === status).length
    const workers = Math.min(opts.workers, Math.max(1, plan.todo.length))
    const counts: BatchCounts = { total: keyed.length, done: before('done'), failed: before('failed'), skipped: plan.finished.length }
    const running = () => Math.min(workers, counts.total - counts.done - counts.failed)
    opts.onProgress?.({ ...counts, running: running() })
    const journal = new JournalWriter(outDir)
    const pool = new StudyPool({ workers, bundleDir: opts.bundle.dir, outDir, device: opts.device, refinement: opts.refinement, force: opts.force })
    const onAbort = () => pool.cancel()
    opts.signal?.addEventListener('abort', onAbort)
    let cancelled = false
    try {
      await Promise.all(plan.todo.map(async (s) => {
        try {
          const r = await pool.run(s)
          journal.append(r)
          records.set(r.key, r)
          counts[r.status === 'done' ? 'done' : 'failed']++
          opts.onProgress?.({ ...counts, running: running() })
        } catch (e) {
          if (isSegError(e) && e.code === 'CANCELLED') cancelled = true
          else throw e
        }
      }))
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      await pool.close()
      journal.close()
    }
    const rows = keyed.map((s) => records.get(s.key) ?? { ...s, status: 'pending' as const })
    const report = await writeReports(outDir, rows, `SegTransfer batch: ${opts.bundle.manifest.name}`)
    const failures = sortRows(rows).flatMap((r) => (r.status === 'failed' ? [{ id: r.id, error: r.error ?? '' }] : []))
    return { counts, cancelled: cancelled || !!opts.signal?.aborted, failures, report }
  } finally {
    release()
  }
}
