/**
 * safetensors reader: `u64 LE header length N` + `N bytes of JSON header` + raw little-endian data.
 * Header: `{ "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} }`
 * with offsets relative to the start of the data section. Nothing is executed; the header is validated
 * (known dtype, integer shape, offsets inside the file and consistent with shape × dtype size).
 */
import { basename } from 'node:path'
import { SegError } from '../errors'
import type { StateDict } from '../tensor'
import { DTYPE_BYTES, decodeStorage, isFloatDType, type StorageDType } from './dtype'
import { allocationBudget, byteBudget, type CheckpointLimits, readCheckpointBytes } from './limits'

/** Largest header we accept (the format's own limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000

/** Read a .safetensors file into a StateDict (floats → float32, integers → int64). */
export async function readSafetensors(path: string, limits: CheckpointLimits = {}): Promise<StateDict> {
  const bytes = await readCheckpointBytes(path, limits.maxFileBytes)
  return parseSafetensors(bytes, basename(path), limits)
}

/** True when the bytes look like a safetensors file (plausible header length followed by '{'). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 10) return false
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)
  return n > 1n && n <= BigInt(MAX_HEADER_BYTES) && bytes[8] === 0x7b /* '{' */
}

/**
 * Parse safetensors bytes; `label` names the file in error messages. Decoded tensors (int8 grows to
 * int64: 8×) are charged to `limits.budgetBytes` or allocationBudget(file size) before decoding.
 */
export function parseSafetensors(bytes: Uint8Array, label = 'checkpoint.safetensors', limits: CheckpointLimits = {}): StateDict {
  const bad = (why: string): SegError => new SegError('BAD_CHECKPOINT', `${label} is not a valid safetensors file: ${why}`)
  if (bytes.byteLength < 8) throw bad(`only ${bytes.byteLength} bytes (truncated)`)
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true))
  if (headerLen > MAX_HEADER_BYTES) throw bad(`header length ${headerLen} is implausible`)
  if (8 + headerLen > bytes.byteLength) throw bad(`header of ${headerLen} bytes runs past the end of the ${bytes.byteLength}-byte file (truncated)`)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)))
  } catch {
    throw bad('header is not valid UTF-8 JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not a JSON object')
  const data = bytes.subarray(8 + headerLen)
  const entries = Object.entries(header as Record<string, unknown>).filter(([k]) => k !== '__metadata__')
  const state: StateDict = new Map()
  const budget = byteBudget(label, limits.budgetBytes ?? allocationBudget(bytes.byteLength))
  for (const [name, info] of entries) {
    const { dtype, shape, data_offsets: offs } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw bad(`tensor ${name} has unsupported dtype ${String(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`)
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name} has an invalid shape`)
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw bad(`tensor ${name} has invalid data_offsets`)
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1)
    const size = DTYPE_BYTES[dtype as StorageDType]
    if (offs[1] - offs[0] !== count * size) throw bad(`tensor ${name} spans ${offs[1] - offs[0]} bytes but shape [${shape.join(', ')}] × ${dtype} needs ${count * size}`)
    if (offs[1] > data.byteLength) throw bad(`tensor ${name} ends at byte ${offs[1]} but only ${data.byteLength} data bytes remain (truncated)`)
    budget.charge(count * (isFloatDType(dtype as StorageDType) ? 4 : 8), `decoding tensor ${name}`)
    state.set(name, { dims: [...(shape as number[])], data: decodeStorage(data, offs[0], count, dtype as StorageDType) })
  }
  return state
}
