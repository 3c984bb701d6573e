/**
 * Model bundles on disk: a folder with `manifest.json` (validated by ManifestSchema) and the ONNX
 * file it names. Loading validates everything it can without starting a session; checking the ONNX
 * graph against the manifest happens when a session is opened (inference/session.ts).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { SegError } from '../errors'
import { writeFolderAtomically } from '../fs/atomic'
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
  let text: string
  try {
    text = await fs.readFile(manifestPath, 'utf8')
  } catch {
    throw new SegError('BAD_MANIFEST', `${dir} has no ${MANIFEST_FILE}; expected a SegTransfer model bundle`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new SegError('BAD_MANIFEST', `${manifestPath} is not valid JSON (${(e as Error).message})`)
  }
  const manifest = parseManifest(raw, manifestPath)
  const modelPath = path.join(abs, manifest.model.file)
  try {
    await fs.access(modelPath)
  } catch {
    throw new SegError('BAD_MANIFEST', `${dir} declares model file ${manifest.model.file} but it is missing`)
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
