/** The cord task's files and the shipped base bundle, shared by the teach tests; a temp folder per file. */
import { afterAll, beforeAll, expect } from 'vitest'
import { cli } from '../cli/run-cli'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'

export const BASE = join(REPO, 'resources/models/brain-tissue-resunet')
export const T2 = data('spine/t2.nii.gz')
export const CORD = data('spine/t2_cord_seg.nii.gz')

/** A temp folder created before the file's tests and removed after them; read `.dir` inside a test. */
export function useTempDir(): { readonly dir: string } {
  let tmp: ReturnType<typeof tempDir> | undefined
  beforeAll(() => { tmp = tempDir() })
  afterAll(() => tmp?.cleanup())
  return { get dir() { return tmp!.dir } }
}

/**
 * `segtransfer teach` on the cord (every 3rd axial slice, seed 1, largest component) with `args`
 * into `dir`/`name`, then `segtransfer segment` of the scan with the new bundle; both must succeed.
 */
export async function teachThenSegment(dir: string, name: string, args: string[]): Promise<{ out: string; mask: string; stdout: string }> {
  const out = join(dir, name)
  const mask = join(dir, `${name}.nii.gz`)
  const r = await cli('teach', '--model', BASE, '--image', T2, '--labels', CORD, '--labelled-slices', 'axial:every:3', ...args, '--largest-component', '--seed', '1', '--out', out, '--quiet')
  expect(r.err).toBe('')
  expect(r.code).toBe(0)
  const s = await cli('segment', '--model', out, '--input', T2, '--out', mask, '--device', 'cpu', '--quiet')
  expect(s.code).toBe(0)
  return { out, mask, stdout: r.out }
}
