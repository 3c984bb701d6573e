/**
 * The load report: what loading a source state dict into a target architecture did, like PyTorch's
 * `_IncompatibleKeys` (missing / unexpected) plus the matched names and the shape mismatches.
 * Zero matched keys is always an error (even non-strict): that is MedicalNet's silent failure mode
 * (a prefix mismatch loads nothing) and it must be impossible to miss.
 */
import { SegError } from '../../errors'

export interface ShapeMismatch {
  name: string
  source: number[]
  target: number[]
}

export interface LoadReport {
  /** Target names filled from the source (same name, same shape), target order. */
  matched: string[]
  /** Target names the source lacks (left to their initialisation), target order. */
  missing: string[]
  /** Source names the target does not have (dropped), source order. */
  unexpected: string[]
  /** Same name, different shape (not loaded; the target keeps its initialisation). */
  mismatched: ShapeMismatch[]
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** Compare source parameter shapes with the target's expected shapes (both name → dims, in their own order). */
export function compareShapes(source: ReadonlyMap<string, readonly number[]>, target: ReadonlyMap<string, readonly number[]>): LoadReport {
  const report: LoadReport = { matched: [], missing: [], unexpected: [], mismatched: [] }
  for (const [name, dims] of target) {
    const s = source.get(name)
    if (!s) report.missing.push(name)
    else if (sameDims(s, dims)) report.matched.push(name)
    else report.mismatched.push({ name, source: [...s], target: [...dims] })
  }
  for (const name of source.keys()) if (!target.has(name)) report.unexpected.push(name)
  return report
}

/** The distinct first name components ('module.', 'stem.', 'layer1.', …) of some keys, in order of first appearance. */
export function prefixesOf(names: Iterable<string>, max = 6): string[] {
  const seen = new Set<string>()
  for (const n of names) seen.add(n.split('.')[0] + '.')
  return [...seen].slice(0, max)
}

const list = (xs: string[], n = 3): string => xs.slice(0, n).join(', ') + (xs.length > n ? `, … (${xs.length - n} more)` : '')

/** One line: "3 matched, 2 missing (a, b), 0 unexpected, 1 shape mismatch (w [2,3] vs [2,4])". */
export function summarizeReport(r: LoadReport): string {
  const parts = [`${r.matched.length} matched`, `${r.missing.length} missing${r.missing.length ? ` (${list(r.missing)})` : ''}`,
    `${r.unexpected.length} unexpected${r.unexpected.length ? ` (${list(r.unexpected)})` : ''}`,
    `${r.mismatched.length} shape mismatch${r.mismatched.length === 1 ? '' : 'es'}${r.mismatched.length ? ` (${r.mismatched.slice(0, 3).map((m) => `${m.name} [${m.source.join(',')}] vs [${m.target.join(',')}]`).join(', ')})` : ''}`]
  return parts.join(', ')
}

export interface CheckOptions {
  /** Throw on any missing / unexpected / mismatched name (PyTorch's strict=True), except `allowMissing`. */
  strict: boolean
  /** Names the operation re-initialises on purpose (a new head, a new decoder): never strict failures. */
  allowMissing?: (name: string) => boolean
  /** What was loaded into what, for messages: e.g. "checkpoint.pth → resunet". */
  label: string
}

/** Enforce the report: zero matches always throws; strict throws on anything not accounted for. */
export function checkLoadReport(r: LoadReport, source: Iterable<string>, target: Iterable<string>, opts: CheckOptions): void {
  if (r.matched.length === 0) {
    throw new SegError('MODEL_MISMATCH', `${opts.label}: no parameter matched (0 of ${r.missing.length + r.mismatched.length} target names); source names start with ${prefixesOf(source).join(' ')} but the target's start with ${prefixesOf(target).join(' ')} — a prefix or naming mismatch loads nothing`)
  }
  if (!opts.strict) return
  const missing = r.missing.filter((n) => !(opts.allowMissing?.(n) ?? false))
  if (missing.length || r.unexpected.length || r.mismatched.length) {
    throw new SegError('MODEL_MISMATCH', `${opts.label}: strict load failed: ${summarizeReport({ ...r, missing })}`)
  }
}
