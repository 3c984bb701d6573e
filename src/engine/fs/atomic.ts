/**
 * Safe outputs, the one place where the rules live (CLI, app and bundle writers all call these):
 * - an input is never replaced, not even when overwriting is asked for;
 * - an existing file is replaced only when overwriting is asked for (`overwrite: true`);
 * - nothing is ever written into a model bundle folder (one named in `protectedDirs`, or any folder
 *   holding a manifest.json); a whole bundle folder is replaced only by writeFolderAtomically;
 * - all-or-nothing: every output is first written to a temp file in its own folder, and only when
 *   all of them are complete (and the run was not cancelled) are they moved into place.
 */
import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { link, mkdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { SegError } from '../errors'
// A folder holding a bundle manifest is a model bundle, whoever names it.
import { MANIFEST_FILE as BUNDLE_MARKER } from '../bundle/manifest'

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

/** What an output may not do. */
export interface OutputRules {
  /** Paths the command reads: never replaced, even with `overwrite`. */
  inputs?: readonly string[]
  /** Replace an existing file (default false: refuse with OUTPUT_CONFLICT). */
  overwrite?: boolean
  /** Folders never written into (model bundles); a folder holding manifest.json is one as well. */
  protectedDirs?: readonly string[]
}

const rulesOf = (r: OutputRules | readonly string[] | undefined): OutputRules => (Array.isArray(r) ? { inputs: r } : (r as OutputRules | undefined) ?? {})

/** A short reason for a Node file-system error code (EACCES …), so no raw error reaches the user. */
export function fsReason(e: unknown): string {
  const code = (e as { code?: unknown })?.code
  const reasons: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the disk',
    EDQUOT: 'disk quota exceeded', EFBIG: 'file too large for this file system or its limits', EISDIR: 'it is a folder',
    ENOTDIR: 'a file is in the way of a folder on that path', EEXIST: 'it already exists', ENOENT: 'no such file or folder',
    ENAMETOOLONG: 'the name is too long', EMFILE: 'too many open files', ELOOP: 'too many symbolic links'
  }
  if (typeof code === 'string') return `${reasons[code] ?? 'file system error'} (${code})`
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200)
}

/** The deepest existing ancestor of `abs` (or `abs` itself). */
function existingAncestor(abs: string): string {
  let p = abs
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  return p
}

/** OUTPUT_CONFLICT when `dir` is (or is inside) a protected folder, or is a model bundle (it holds manifest.json). */
function refuseBundleFolder(dir: string, what: string, protectedDirs: readonly string[]): void {
  const canon = canonicalPath(dir)
  const inside = (p: string) => canon === p || canon.startsWith(p.endsWith(sep) ? p : p + sep)
  if (protectedDirs.some((p) => inside(canonicalPath(p))) || existsSync(join(dir, BUNDLE_MARKER))) {
    throw new SegError('OUTPUT_CONFLICT', `${what} is inside the model bundle ${dir}; expected a path outside it (a model bundle is never written into)`)
  }
}

/** BAD_ARGUMENT / OUTPUT_CONFLICT unless `dir` is an existing, writable folder. */
function checkOutputFolder(dir: string): void {
  if (!existsSync(dir)) {
    const anc = existingAncestor(dir)
    if (anc !== dir && !statSync(anc).isDirectory()) {
      throw new SegError('OUTPUT_CONFLICT', `${anc} is a file, in the way of the output folder ${dir}; expected a folder there`)
    }
    throw new SegError('BAD_ARGUMENT', `output folder ${dir} does not exist; expected an existing folder`)
  }
  if (!statSync(dir).isDirectory()) throw new SegError('OUTPUT_CONFLICT', `${dir} is a file, not a folder; expected an existing output folder`)
  try {
    accessSync(dir, constants.W_OK)
  } catch (e) {
    throw new SegError('OUTPUT_CONFLICT', `output folder ${dir} is not writable: ${fsReason(e)}; expected a folder you can write to`)
  }
}

/**
 * Refuses, before anything is computed or written, an output path that breaks the rules:
 * OUTPUT_CONFLICT when it is an input (after resolving symlinks), a folder, a special file, an
 * existing file without `overwrite`, inside a model bundle, or in an unwritable folder or one a file
 * is in the way of; BAD_ARGUMENT when its folder does not exist.
 * @param rules the rules, or (older form) just the input paths.
 */
export function checkOutputPath(outPath: string, rules: OutputRules | readonly string[] = {}): void {
  const { inputs = [], overwrite = false, protectedDirs = [] } = rulesOf(rules)
  const abs = resolve(outPath)
  const out = canonicalPath(outPath)
  for (const input of inputs) {
    if (canonicalPath(input) === out) {
      throw new SegError('OUTPUT_CONFLICT', `${abs} is an input file; expected a different output path (inputs are never overwritten)`)
    }
    if (isInsideFolder(out, canonicalPath(input))) {
      throw new SegError('OUTPUT_CONFLICT', `${abs} is inside the input folder ${resolve(input)}; expected an output path outside it (inputs are never overwritten)`)
    }
  }
  const dir = dirname(abs)
  checkOutputFolder(dir)
  refuseBundleFolder(dir, abs, protectedDirs)
  if (!existsSync(abs) && !isDanglingLink(abs)) return
  const st = statSync(abs, { throwIfNoEntry: false })
  if (st?.isDirectory()) throw new SegError('OUTPUT_CONFLICT', `${abs} is a folder; expected a file path for this output`)
  if (st && !st.isFile()) throw new SegError('OUTPUT_CONFLICT', `${abs} is a special file (device, FIFO or socket); expected a regular file path`)
  if (!overwrite) throw new SegError('OUTPUT_CONFLICT', `${abs} already exists; expected a new path, or overwriting asked for explicitly (--overwrite)`)
}

/** True when `path` lies inside `folder` (both canonical) and `folder` is an existing folder. */
function isInsideFolder(path: string, folder: string): boolean {
  return path.startsWith(folder.endsWith(sep) ? folder : folder + sep) && statSync(folder, { throwIfNoEntry: false })?.isDirectory() === true
}

function isDanglingLink(abs: string): boolean {
  try {
    return lstatSync(abs).isSymbolicLink()
  } catch {
    return false
  }
}

/**
 * Longest file name: 255 bytes on Linux file systems (ext4, tmpfs, btrfs) and macOS's; 255 UTF-16
 * units on Windows (NTFS), where a name of 100 CJK characters (about 300 bytes) is legal.
 */
const NAME_MAX = 255

/** A file name's length as `platform`'s file systems count it against NAME_MAX. */
function nameLength(name: string, platform: NodeJS.Platform): { length: number; unit: string } {
  return platform === 'win32' ? { length: name.length, unit: 'characters' } : { length: Buffer.byteLength(name), unit: 'bytes' }
}

/**
 * A temp path next to `outPath`, hidden, unique, ending with `keepExtension` (so that writers
 * choosing the format by extension still do).
 * @param platform whose file-name limit applies (nameLength); the running one but in tests.
 * @throws SegError BAD_ARGUMENT when the temp name would be longer than NAME_MAX (the writer would
 *   fail with a bare error code, or a number from a wasm writer).
 */
export function tempPathFor(outPath: string, keepExtension: string, platform: NodeJS.Platform = process.platform): string {
  const abs = resolve(outPath)
  const name = `.${basename(abs)}.partial-${process.pid}-${randomBytes(4).toString('hex')}${keepExtension}`
  const own = nameLength(basename(abs), platform)
  const extra = nameLength(name, platform).length - own.length
  if (own.length + extra > NAME_MAX) {
    throw new SegError('BAD_ARGUMENT', `${abs}: the file name is ${own.length} ${own.unit}; expected at most ${NAME_MAX - extra} ${own.unit} (room for the temp file written beside it)`)
  }
  return join(dirname(abs), name)
}

/** One output of a command: where it goes and how to write it completely to a temp path. */
export interface PendingOutput {
  path: string
  /** Extension the temp path ends with (e.g. '.nii.gz'), for writers that choose the format by it. */
  extension: string
  write: (tempPath: string) => Promise<void>
}

/** A SegError as is; anything else as OUTPUT_CONFLICT naming the path and the reason. */
function asOutputError(e: unknown, outPath: string): SegError {
  if (e instanceof SegError) return e
  return new SegError('OUTPUT_CONFLICT', `${resolve(outPath)} could not be written: ${fsReason(e)}; expected a writable file path with room for it`)
}

/**
 * Moves a complete temp file to `out`. Without `overwrite` it is a hard link, which fails (EEXIST)
 * rather than replace a file that appeared since the check; where links are not supported, rename
 * after a last existence check.
 */
async function publish(temp: string, out: string, overwrite: boolean): Promise<void> {
  if (overwrite) return rename(temp, out)
  try {
    await link(temp, out)
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'EEXIST') throw new SegError('OUTPUT_CONFLICT', `${out} already exists; expected a new path, or overwriting asked for explicitly (--overwrite)`)
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e
    if (existsSync(out)) throw new SegError('OUTPUT_CONFLICT', `${out} already exists; expected a new path, or overwriting asked for explicitly (--overwrite)`)
    return rename(temp, out)
  }
  await unlink(temp)
}

/**
 * Writes all `outputs` or none: each is written to a temp file beside it; only when all are complete,
 * and `signal` is not aborted, are they moved into place. On any error (or cancel) the temp files and
 * the outputs already moved are removed (a file replaced under `overwrite` cannot be restored) and
 * the error is rethrown (a SegError as is; anything else as OUTPUT_CONFLICT naming the path).
 */
export async function writeOutputsAtomically(
  outputs: readonly PendingOutput[],
  opts: { overwrite?: boolean; signal?: AbortSignal } = {}
): Promise<void> {
  const temps = outputs.map((o) => tempPathFor(o.path, o.extension))
  const published: string[] = []
  let current = outputs[0]?.path ?? ''
  try {
    for (let i = 0; i < outputs.length; i++) {
      current = outputs[i].path
      await outputs[i].write(temps[i])
    }
    if (opts.signal?.aborted) throw new SegError('CANCELLED', 'cancelled before the outputs were written; nothing was written')
    for (let i = 0; i < outputs.length; i++) {
      current = outputs[i].path
      await publish(temps[i], resolve(outputs[i].path), opts.overwrite ?? false)
      published.push(resolve(outputs[i].path))
    }
  } catch (e) {
    await Promise.all(temps.map((t) => rm(t, { force: true }).catch(() => undefined)))
    if (!opts.overwrite) await Promise.all(published.map((p) => rm(p, { force: true }).catch(() => undefined)))
    throw asOutputError(e, current)
  }
}

/**
 * Produces `outPath` atomically: `produce(tempPath)` writes the temp file, which is then moved to
 * `outPath` (see writeOutputsAtomically).
 * @param keepExtension extension the temp path ends with (e.g. '.nii.gz').
 */
export async function produceAtomically(
  outPath: string,
  keepExtension: string,
  produce: (tempPath: string) => Promise<void>,
  opts: { overwrite?: boolean } = {}
): Promise<void> {
  await writeOutputsAtomically([{ path: outPath, extension: keepExtension, write: produce }], opts)
}

/** Writes bytes to `outPath` atomically (see produceAtomically). */
export async function writeFileAtomic(outPath: string, bytes: Uint8Array | string, keepExtension = '', opts: { overwrite?: boolean } = {}): Promise<void> {
  await produceAtomically(outPath, keepExtension, (temp) => writeFile(temp, bytes, { flag: 'wx' }), opts)
}

/**
 * Refuses a folder output (a model bundle) that breaks the rules: OUTPUT_CONFLICT when it is or
 * holds an input, is a file, is an existing non-empty folder that is not a bundle (never replaced),
 * or is an existing bundle without `overwrite`; the folder it goes in must exist and be writable.
 */
export function checkFolderOutput(outDir: string, rules: Omit<OutputRules, 'protectedDirs'> = {}): void {
  const { inputs = [], overwrite = false } = rules
  const abs = resolve(outDir)
  const out = canonicalPath(abs)
  for (const input of inputs) {
    const c = canonicalPath(input)
    if (c === out || c.startsWith(out + sep)) {
      const how = c === out ? 'is the input' : 'holds the input'
      throw new SegError('OUTPUT_CONFLICT', `${abs} ${how} ${input}; expected a different output folder (inputs are never overwritten)`)
    }
  }
  checkOutputFolder(dirname(abs))
  refuseBundleFolder(dirname(abs), abs, [])
  tempPathFor(abs, '') // a name with no room for its temp folder: refused now, not after the work that fills it
  const st = statSync(abs, { throwIfNoEntry: false })
  if (!st) return
  if (!st.isDirectory()) throw new SegError('OUTPUT_CONFLICT', `${abs} is a file; expected a new folder for the model bundle`)
  if (existsSync(join(abs, BUNDLE_MARKER))) {
    if (!overwrite) throw new SegError('OUTPUT_CONFLICT', `${abs} is an existing model bundle; expected a new folder, or overwriting asked for explicitly (--overwrite replaces the whole bundle)`)
    tempPathFor(abs, ASIDE_EXTENSION) // and for the replaced bundle's name while it is moved aside
    return
  }
  if (!isEmptyDir(abs)) throw new SegError('OUTPUT_CONFLICT', `${abs} exists and is not a model bundle; expected a new or empty folder`)
}

function isEmptyDir(abs: string): boolean {
  try {
    return readdirSync(abs).length === 0
  } catch {
    return false
  }
}

/** Ends the temp name a replaced bundle is moved aside to (writeFolderAtomically). */
const ASIDE_EXTENSION = '.old'

/**
 * Produces the folder `outDir` all-or-nothing (checked first by checkFolderOutput): `produce(tempDir)`
 * fills a hidden temp folder beside it, which is renamed into place only when complete. An existing
 * bundle there (allowed with `overwrite`) is moved aside first, put back if the rename fails, and
 * removed once the new folder is in place; an empty folder there is removed first.
 */
export async function writeFolderAtomically(
  outDir: string,
  produce: (tempDir: string) => Promise<void>,
  rules: Omit<OutputRules, 'protectedDirs'> = {}
): Promise<void> {
  checkFolderOutput(outDir, rules)
  const abs = resolve(outDir)
  const temp = tempPathFor(abs, '')
  let aside: string | undefined
  try {
    await mkdir(temp)
    await produce(temp)
    if (existsSync(abs)) {
      if (isEmptyDir(abs)) await rmdir(abs)
      else {
        aside = tempPathFor(abs, ASIDE_EXTENSION)
        await rename(abs, aside)
      }
    }
    await rename(temp, abs)
  } catch (e) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined)
    if (aside !== undefined && !existsSync(abs)) await rename(aside, abs).catch(() => undefined)
    throw asOutputError(e, abs)
  }
  if (aside !== undefined) await rm(aside, { recursive: true, force: true }).catch(() => undefined)
}
