/** Batch progress in numbers: counts, rate and ETA (the terminal bar and `queue status` show these). */

export interface BatchCounts {
  total: number
  done: number
  failed: number
  /** Done before this run started (not counted in the rate). */
  skipped: number
  running?: number
}

export interface BatchRate {
  /** Studies finished per minute in this run. */
  perMinute: number
  /** Seconds until the rest is finished at that rate; undefined before the first study. */
  etaSeconds: number | undefined
}

/** Rate and ETA from what finished in this run over `elapsedMs`. */
export function batchRate(c: BatchCounts, elapsedMs: number): BatchRate {
  const finished = c.done + c.failed - c.skipped
  const perMinute = elapsedMs > 0 ? (finished * 60_000) / elapsedMs : 0
  const left = c.total - c.done - c.failed
  return { perMinute, etaSeconds: finished > 0 && perMinute > 0 ? (left * 60) / perMinute : undefined }
}

function duration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`
  if (s < 5400) return `${Math.round(s / 60)} min`
  return `${(s / 3600).toFixed(1)} h`
}

/** A text bar of the finished fraction: "[########............]". */
export function progressBar(c: BatchCounts, width = 20): string {
  const filled = c.total > 0 ? Math.round(((c.done + c.failed) / c.total) * width) : 0
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/** One status line: "7/12 finished: 6 done, 1 failed, 2 running | 3.1 studies/min | ETA 1 min". */
export function progressLine(c: BatchCounts, elapsedMs: number): string {
  const r = batchRate(c, elapsedMs)
  const running = c.running ? `, ${c.running} running` : ''
  const skipped = c.skipped ? ` (${c.skipped} from before)` : ''
  const eta = r.etaSeconds === undefined ? 'ETA --' : `ETA ${duration(r.etaSeconds)}`
  return `${c.done + c.failed}/${c.total} finished: ${c.done} done${skipped}, ${c.failed} failed${running} | ${r.perMinute.toFixed(1)} studies/min | ${eta}`
}
