/**
 * Safe output files: never over an input, always all-or-nothing (temp file in the same folder,
 * then rename), nothing left behind on error.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, realpathSync, statSync } from 'node:fs'
import { rm, rename, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { SegError } from '../errors'

/** The canonical form of a path for comparisons: symlinks resolved, case folded where the OS does. */
export function canonicalPath(p: string): string {
  const abs = resolve(p)
  let real: string
  if (existsSync(abs)) real = realpathSync(abs)
  else {
    const dir = dirname(abs)
    real = join(existsSync(dir) ? realpathSync(dir) : dir, basename(abs))
  }
  return process.platform === 'win32' || process.platform === 'darwin' ? real.toLowerCase() : real
}

/**
 * Refuses (OUTPUT_CONFLICT) an output path that is one of the input paths (after resolving
 * symlinks), and (BAD_ARGUMENT) one whose folder does not exist.
 */
export function checkOutputPath(outPath: string, inputs: readonly string[] = []): void {
  const out = canonicalPath(outPath)
  for (const input of inputs) {
    if (canonicalPath(input) === out) {
      throw new SegError('OUTPUT_CONFLICT', `${resolve(outPath)} is an input file; expected a different output path (inputs are never overwritten)`)
    }
  }
  const dir = dirname(resolve(outPath))
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SegError('BAD_ARGUMENT', `output folder ${dir} does not exist; expected an existing folder`)
  }
}

/**
 * A temp path next to `outPath`, hidden, unique, ending with `keepExtension` (so that writers
 * choosing the format by extension still do).
 */
export function tempPathFor(outPath: string, keepExtension: string): string {
  const abs = resolve(outPath)
  return join(dirname(abs), `.${basename(abs)}.partial-${process.pid}-${randomBytes(4).toString('hex')}${keepExtension}`)
}

/**
 * Produces `outPath` atomically: `produce(tempPath)` writes the temp file, which is then renamed
 * over `outPath`. On any error the temp file is removed and the error is rethrown (a SegError as
 * is; anything else as OUTPUT_CONFLICT naming the path).
 * @param keepExtension extension the temp path ends with (e.g. '.nii.gz').
 */
export async function produceAtomically(
  outPath: string,
  keepExtension: string,
  produce: (tempPath: string) => Promise<void>
): Promise<void> {
  const temp = tempPathFor(outPath, keepExtension)
  try {
    await produce(temp)
    await rename(temp, resolve(outPath))
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined)
    if (e instanceof SegError) throw e
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e)
    throw new SegError('OUTPUT_CONFLICT', `${resolve(outPath)} could not be written (${reason}); expected a writable file path`)
  }
}

/** Writes bytes to `outPath` atomically (see produceAtomically). */
export async function writeFileAtomic(outPath: string, bytes: Uint8Array | string, keepExtension = ''): Promise<void> {
  await produceAtomically(outPath, keepExtension, (temp) => writeFile(temp, bytes, { flag: 'wx' }))
}
