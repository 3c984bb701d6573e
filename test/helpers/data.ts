/** Paths to the shared real data (never copied into the repo) and temp folders for outputs. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
export const DATA = resolve(REPO, '../shared/data')
export const data = (rel: string): string => join(DATA, rel)

export function tempDir(prefix = 'segtransfer-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

let subdirs = 0
/** A new, empty folder inside `parent` (one per test case). */
export function freshSubdir(parent: string): string {
  const dir = join(parent, `case${subdirs++}`)
  mkdirSync(dir)
  return dir
}
