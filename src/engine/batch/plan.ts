/**
 * The planner: which studies of a listing still need a run. A study is finished when the journal's
 * latest record for its key (id + input contents + bundle + options) is `done` with its outputs all
 * in place, or `failed` (the same inputs and model would fail the same way; `retryFailed` runs them
 * again). Anything else (new, changed inputs or model, outputs removed) runs.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { hashFile, studyKey } from './hash'
import { latestByKey, type StudyRecord } from './journal'
import { STUDIES_DIR, type KeyedStudy } from './study'
import { mapLimited } from '../fs/map-limited'
import type { Study } from './studies'

/** Files hashed at once: enough to keep a disk busy, few enough for a network share. */
const HASH_CONCURRENCY = 4

/** Each study with its key; a study whose inputs cannot be read keeps the reason (it fails without a run). */
export async function keyStudies(studies: readonly Study[], bundleHash: string, options: { refinement: boolean }): Promise<KeyedStudy[]> {
  return mapLimited(studies, HASH_CONCURRENCY, async (s) => {
    try {
      const hashes = await Promise.all(s.inputs.map(hashFile))
      return { ...s, key: studyKey(s.id, hashes, bundleHash, options) }
    } catch (e) {
      const reason = (e as Error).message
      return { ...s, key: studyKey(s.id, s.inputs.map((p) => `unreadable:${p}`), bundleHash, options), unreadable: reason }
    }
  })
}

export interface Plan {
  /** Studies to run, in listing order. */
  todo: KeyedStudy[]
  /** Records of the studies already finished (done with outputs in place, or failed), in listing order. */
  finished: StudyRecord[]
}

/** Splits keyed studies into those to run and those done, from the journal's records. */
export function planBatch(studies: readonly KeyedStudy[], journal: readonly StudyRecord[], outDir: string, opts: { retryFailed?: boolean } = {}): Plan {
  const latest = latestByKey(journal)
  const plan: Plan = { todo: [], finished: [] }
  for (const s of studies) {
    const r = latest.get(s.key)
    const complete = r?.status === 'done' && r.outputs !== undefined && Object.values(r.outputs).every((p) => existsSync(join(outDir, p)))
    if (complete || (r?.status === 'failed' && !opts.retryFailed)) plan.finished.push(r!)
    else plan.todo.push(s)
  }
  return plan
}

/** Temp files of atomic writes (`.<name>.partial-<pid>-<hex><ext>`, see fs/atomic.ts). */
const PARTIAL = /^\..+\.partial-\d+-[0-9a-f]+/

/**
 * Removes temp files left in the studies folder by a process killed mid-write. Only safe when no
 * other process writes there (a local batch holds the folder's lock).
 */
export function sweepPartials(outDir: string): number {
  const dir = join(outDir, STUDIES_DIR)
  if (!existsSync(dir)) return 0
  const stale = readdirSync(dir).filter((f) => PARTIAL.test(f))
  for (const f of stale) rmSync(join(dir, f), { force: true })
  return stale.length
}
