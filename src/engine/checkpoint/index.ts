/**
 * Checkpoint import: `readCheckpoint(path)` reads a PyTorch .pth/.pt (safely), a .safetensors file,
 * an ONNX model's initializers, or a bundle folder's model, dispatching on the content (not the
 * extension), unwraps containers and strips wrapper prefixes, and says what it did in `notes`.
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { basename, join } from 'node:path'
import { SegError } from '../errors'
import type { StateDict } from '../tensor'
import { decodeModel, initializersOf } from '../onnx'
import { loadBundle } from '../bundle/bundle'
import { looksLikeLegacyTorch, parseTorchZip } from './pth'
import { looksLikeSafetensors, parseSafetensors } from './safetensors'
import { looksLikeZip } from './zip'
import { type CheckpointLimits, readCheckpointBytes } from './limits'
import { detectFamily, stripWrapperPrefixes, unwrapStateDict, type NameFamily } from './names'

export type CheckpointFormat = 'pytorch' | 'safetensors' | 'onnx' | 'bundle'

export interface Checkpoint {
  /** Parameters in file order, containers unwrapped and wrapper prefixes stripped (names otherwise as stored). */
  state: StateDict
  format: CheckpointFormat
  /** Naming family guessed from the keys. */
  family: NameFamily
  /** The file actually hashed (for a bundle: its ONNX model). */
  file: string
  sha256: string
  /** Container keys followed, e.g. ['state_dict']. */
  container: string[]
  /** Non-tensor entries left out. */
  ignored: string[]
  /** Prefix → number of keys it was stripped from. */
  stripped: Record<string, number>
  /** Bundle manifest `architecture` record, when read from a bundle. */
  architecture?: Record<string, unknown>
  /** Human-readable sentences about what the import did. */
  notes: string[]
}

/**
 * Read any supported checkpoint into a flat state dict (see Checkpoint). Reading is bounded:
 * see limits.ts for the file size, allocation budget and pickle limits, and `limits` to set them.
 */
export async function readCheckpoint(path: string, limits: CheckpointLimits = {}): Promise<Checkpoint> {
  const stat = await fs.stat(path).catch(() => undefined)
  if (!stat) throw new SegError('FILE_NOT_FOUND', `checkpoint ${path} does not exist`)
  let file = path
  let architecture: Record<string, unknown> | undefined
  if (stat.isDirectory()) {
    const b = await loadBundle(path)
    file = b.modelPath
    architecture = b.manifest.architecture
  }
  const bytes = await readCheckpointBytes(file, limits.maxFileBytes)
  const label = basename(file)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const notes: string[] = []
  let raw: StateDict
  let format: CheckpointFormat
  let container: string[] = []
  let ignored: string[] = []
  if (looksLikeZip(bytes) || looksLikeLegacyTorch(bytes) || /\.(pth?|pt|ckpt|bin|tar)$/i.test(label) && !looksLikeSafetensors(bytes) && !looksLikeOnnx(bytes)) {
    format = 'pytorch'
    const u = unwrapStateDict(parseTorchZip(bytes, label, limits), label)
    ;({ state: raw, container, ignored } = u)
    if (container.length) notes.push(`took the state dict from ${container.map((c) => `['${c}']`).join('')}`)
    if (ignored.length) notes.push(`left out ${ignored.length} non-tensor entr${ignored.length === 1 ? 'y' : 'ies'}: ${ignored.slice(0, 6).join(', ')}${ignored.length > 6 ? ', …' : ''}`)
  } else if (looksLikeSafetensors(bytes)) {
    format = 'safetensors'
    raw = parseSafetensors(bytes, label, limits)
  } else if (looksLikeOnnx(bytes)) {
    format = stat.isDirectory() ? 'bundle' : 'onnx'
    raw = onnxInitializers(bytes, label)
  } else {
    throw new SegError('BAD_CHECKPOINT', `${label} is not a checkpoint we can read; expected a torch.save file (.pth/.pt), .safetensors, an .onnx model or a bundle folder`)
  }
  if (format === 'pytorch' && raw.size === 0) throw new SegError('BAD_CHECKPOINT', `${label} holds no tensors`)
  const { state, stripped } = stripWrapperPrefixes(raw)
  for (const [p, n] of Object.entries(stripped)) notes.push(`stripped the '${p}' prefix from ${n} key${n === 1 ? '' : 's'}`)
  const family = detectFamily(state.keys())
  notes.push(`read ${state.size} tensors (${format}); naming family: ${family}`)
  return { state, format, family, file: stat.isDirectory() ? join(path, basename(file)) : path, sha256, container, ignored, stripped, architecture, notes }
}

/** ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08. */
function looksLikeOnnx(bytes: Uint8Array): boolean {
  return bytes.byteLength > 2 && bytes[0] === 0x08
}

function onnxInitializers(bytes: Uint8Array, label: string): StateDict {
  let model
  try {
    model = decodeModel(bytes)
  } catch (e) {
    throw new SegError('BAD_CHECKPOINT', `${label} is not a valid ONNX model (${(e as Error).message.split('\n')[0]})`)
  }
  const state = initializersOf(model.graph)
  if (state.size === 0) throw new SegError('BAD_CHECKPOINT', `${label} has no initializers (weights); expected a model with stored weights`)
  return state
}

export { readSafetensors } from './safetensors'
export { type CheckpointLimits, readCheckpointBytes } from './limits'
export { parseTorchZip, TorchTensor } from './pth'
export * from './names'
