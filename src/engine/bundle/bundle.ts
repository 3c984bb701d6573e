/**
 * Model bundles on disk: a folder with `manifest.json` (validated by ManifestSchema) and the ONNX
 * file it names. Loading validates everything it can without starting a session; checking the ONNX
 * graph against the manifest happens when a session is opened (inference/session.ts).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { SegError, type SegErrorCode } from '../errors'
import { checkRegularFile } from '../fs/regular-file'
import { writeFolderAtomically } from '../fs/atomic'
import { LIMITS, atMost } from '../limits'
import { MANIFEST_FILE, MODEL_FILE, ManifestSchema, type Manifest, type ManifestInput } from './manifest'

export interface Bundle {
  /** Absolute path of the bundle folder. */
  dir: string
  manifest: Manifest
  /** Absolute path of the ONNX model file. */
  modelPath: string
}

/** Turns a zod issue list into one line: the first problem, with its JSON path. */
function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const first = issues[0]
  const where = first.path.length ? first.path.map(String).join('.') : '(root)'
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''
  return `${where}: ${first.message}${more}`
}

/** Validates a parsed manifest object; throws BAD_MANIFEST with the first problem. */
export function parseManifest(raw: unknown, where = MANIFEST_FILE): Manifest {
  const result = ManifestSchema.safeParse(raw)
  if (!result.success) {
    throw new SegError('BAD_MANIFEST', `${where} is not a valid SegTransfer manifest: ${describeIssues(result.error.issues)}`)
  }
  const m = result.data
  const values = m.output.labels.map((l) => l.value)
  if (new Set(values).size !== values.length) {
    throw new SegError('BAD_MANIFEST', `${where}: output.labels has duplicate values; expected each label value once`)
  }
  const refinement = m.output.refinement
  if (refinement) {
    if (m.output.kind !== 'softmax') {
      throw new SegError('BAD_MANIFEST', `${where}: output.refinement needs a softmax output (class probabilities), but output.kind is ${m.output.kind}`)
    }
    const unknown = refinement.labels.filter((v) => !values.includes(v))
    if (unknown.length || new Set(refinement.labels).size !== refinement.labels.length) {
      throw new SegError('BAD_MANIFEST', `${where}: output.refinement.labels must be distinct values of output.labels (${values.join(', ')}), got [${refinement.labels.join(', ')}]`)
    }
    if (refinement.channel >= m.channels.length) {
      throw new SegError('BAD_MANIFEST', `${where}: output.refinement.channel ${refinement.channel} does not exist; the model has ${m.channels.length} input channel(s)`)
    }
  }
  if (path.isAbsolute(m.model.file) || m.model.file.includes('..')) {
    throw new SegError('BAD_MANIFEST', `${where}: model.file must be a file name inside the bundle, got '${m.model.file}'`)
  }
  return m
}

/** The manifest's text: a regular file of at most LIMITS.manifestBytes (a FIFO or /dev/zero would never end). */
async function readManifestText(dir: string, manifestPath: string): Promise<string> {
  const info = await fs.stat(manifestPath).catch(() => null)
  if (info === null) throw new SegError('BAD_MANIFEST', `${dir} has no ${MANIFEST_FILE}; expected a SegTransfer model bundle`)
  if (!info.isFile()) throw new SegError('BAD_MANIFEST', `${manifestPath} is not a regular file; expected a JSON manifest`)
  if (info.size > LIMITS.manifestBytes) {
    throw new SegError('BAD_MANIFEST', `${manifestPath} is ${info.size} bytes; a manifest may be ${atMost('manifestBytes')} bytes`)
  }
  try {
    return await fs.readFile(manifestPath, 'utf8')
  } catch {
    throw new SegError('BAD_MANIFEST', `${manifestPath} cannot be read; expected a readable JSON manifest`)
  }
}

/**
 * JSON.parse, refusing with where the text stops being JSON (line and column) but never what it
 * says there: V8's own message quotes the text, which may be anything a symlink points at.
 */
export function parseJsonText(text: string, where: string, code: SegErrorCode = 'BAD_MANIFEST', expected = 'a JSON manifest'): unknown {
  try {
    return JSON.parse(text)
  } catch {
    const { line, column } = lineColumn(text, jsonErrorOffset(text))
    throw new SegError(code, `${where} is not valid JSON (syntax error at line ${line}, column ${column}); expected ${expected}`)
  }
}

/**
 * The bytes of a file the user named (a model, a labels or description JSON): a regular file
 * (a FIFO or /dev/zero would never end) of at most LIMITS[limit] bytes; a failed read gives its reason.
 * @param what the expected thing, for messages ("an .onnx file")
 */
export async function readBoundedFile(file: string, what: string, limit: 'modelBytes' | 'manifestBytes'): Promise<Buffer> {
  const info = await checkRegularFile(file, what)
  if (info.size > LIMITS[limit]) throw new SegError('BAD_ARGUMENT', `${file} is ${info.size} bytes; expected ${what} of ${atMost(limit)} bytes`)
  try {
    return await fs.readFile(file)
  } catch (e) {
    throw new SegError('BAD_ARGUMENT', `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'read error'}); expected ${what}`)
  }
}

/**
 * Offset of the first character that makes `text` invalid JSON: the shortest prefix whose parse
 * fails for another reason than ending early (monotone in the prefix length, so a binary search:
 * ~log2(n) parses). Hand-written because V8 gives no position for most errors and no JSON parser
 * with positions is among our dependencies.
 */
function jsonErrorOffset(text: string): number {
  const brokenBy = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n))
      return false
    } catch (e) {
      const m = /Unexpected end of JSON input|at position (\d+)/.exec((e as Error).message)
      if (m === null) return true // a bad token inside the prefix (V8 quotes it rather than placing it)
      return m[1] !== undefined && Number(m[1]) < n // else the prefix only ended early
    }
  }
  let lo = 0
  let hi = text.length // brokenBy(text.length) is true: the whole text failed
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (brokenBy(mid + 1)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}

export async function loadBundle(dir: string): Promise<Bundle> {
  const abs = path.resolve(dir)
  let stat
  try {
    stat = await fs.stat(abs)
  } catch {
    throw new SegError('FILE_NOT_FOUND', `model bundle ${dir} does not exist; expected a folder with ${MANIFEST_FILE} and ${MODEL_FILE}`)
  }
  if (!stat.isDirectory()) {
    throw new SegError('BAD_MANIFEST', `${dir} is a file, not a model bundle; expected a folder with ${MANIFEST_FILE} and ${MODEL_FILE} (use 'segtransfer import-model' for a plain .onnx)`)
  }
  const manifestPath = path.join(abs, MANIFEST_FILE)
  const manifest = parseManifest(parseJsonText(await readManifestText(dir, manifestPath), manifestPath), manifestPath)
  const modelPath = path.join(abs, manifest.model.file)
  // One stat: a FIFO or a link to /dev/zero would hang every later read of the model.
  const info = await checkRegularFile(modelPath, 'an .onnx model file', () => new SegError('BAD_MANIFEST', `${dir} declares model file ${manifest.model.file} but it is missing`))
  if (info.size > LIMITS.modelBytes) {
    throw new SegError('BAD_MANIFEST', `${modelPath} is ${info.size} bytes; expected an .onnx model file of ${atMost('modelBytes')} bytes`)
  }
  return { dir: abs, manifest, modelPath }
}

/**
 * Writes a bundle folder all-or-nothing: model and manifest go into a temp folder beside `dir`,
 * renamed into place when both are complete (a failed write leaves nothing, not an empty folder).
 * Refuses (OUTPUT_CONFLICT, see checkFolderOutput) a file, a non-empty folder that is not a bundle,
 * an existing bundle without `overwrite` (with it, the whole bundle is replaced, never written
 * into), and a folder that is or holds one of `inputs`.
 */
export async function writeBundle(
  dir: string,
  manifest: ManifestInput,
  onnx: Uint8Array,
  rules: { overwrite?: boolean; inputs?: readonly string[] } = {}
): Promise<Bundle> {
  const abs = path.resolve(dir)
  const parsed = parseManifest(manifest, `manifest for ${dir}`)
  await writeFolderAtomically(abs, async (temp) => {
    await fs.writeFile(path.join(temp, parsed.model.file), onnx, { flag: 'wx' })
    await fs.writeFile(path.join(temp, MANIFEST_FILE), JSON.stringify(parsed, null, 2) + '\n', { flag: 'wx' })
  }, rules)
  return { dir: abs, manifest: parsed, modelPath: path.join(abs, parsed.model.file) }
}
