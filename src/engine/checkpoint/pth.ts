/**
 * PyTorch checkpoint (.pth/.pt written by torch.save ≥ 1.6) reader that executes nothing.
 * The file is a zip: `<archive>/data.pkl` (the pickled object) and `<archive>/data/<key>` (raw
 * little-endian storages referenced by persistent ids). Only tensor-rebuild globals are accepted.
 */
import { SegError } from '../errors'
import type { Tensor, TensorData } from '../tensor'
import { DTYPE_BYTES, decodeStorage, isFloatDType, type StorageDType } from './dtype'
import { allocationBudget, type ByteBudget, byteBudget, type CheckpointLimits } from './limits'
import { type PyGlobal, unpickle } from './pickle'
import { looksLikeZip, openZip } from './zip'

/** The magic number the legacy (pre-1.6, non-zip) torch.save format pickles first: 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

/** torch storage class → element type. */
export const STORAGE_TYPES: Record<string, StorageDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL'
}

/** A tensor the pickle rebuilt (what torch.load would return as torch.Tensor / nn.Parameter). */
export class TorchTensor {
  constructor(readonly tensor: Tensor, readonly dtype: StorageDType) {}
}

interface StorageRef { storage: true; dtype: StorageDType; key: string; numel: number }

/** A strided view of a storage, in elements: data[offset + Σ index[d] × stride[d]] for index < size. */
export interface StridedView { offset: number; size: number[]; stride: number[] }

/** True for the first bytes of a legacy (non-zip) torch.save file. */
export function looksLikeLegacyTorch(bytes: Uint8Array): boolean {
  return bytes.byteLength > 14 && bytes[0] === 0x80 && bytes[2] === 0x8a && bytes[3] === 0x0a &&
    LEGACY_MAGIC.every((b, i) => bytes[4 + i] === b)
}

/**
 * Parse a torch.save zip into the object it holds (dicts are Maps, tensors are TorchTensor).
 * Everything it allocates (inflated members, decoded storages, tensor views) is charged to one
 * budget, `limits.budgetBytes` or allocationBudget(file size), before it is allocated.
 */
export function parseTorchZip(bytes: Uint8Array, label = 'checkpoint.pth', limits: CheckpointLimits = {}): unknown {
  if (looksLikeLegacyTorch(bytes)) {
    throw new SegError('UNSUPPORTED', `${label} uses PyTorch's legacy (pre-1.6, non-zip) format; load it in PyTorch and re-save it with torch.save(obj, path) (zip format), then import that file`)
  }
  const budget = byteBudget(label, limits.budgetBytes ?? allocationBudget(bytes.byteLength))
  const zip = openZip(bytes, (why) => new SegError('BAD_CHECKPOINT', `${label} is truncated or not a valid zip (${why}); expected a torch.save file`), budget)
  const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n))
  if (!pkl) {
    throw new SegError('BAD_CHECKPOINT', `${label} is a zip without <archive>/data.pkl; expected a torch.save file`)
  }
  const prefix = pkl.slice(0, -'data.pkl'.length)
  if (zip.entries.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new SegError('UNSUPPORTED', `${label} is a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save and import that file`)
  }
  if (zip.entries.has(`${prefix}byteorder`) && new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() !== 'little') {
    throw new SegError('UNSUPPORTED', `${label} stores big-endian tensors; re-save it on a little-endian machine`)
  }
  const decoded = new Map<string, TensorData>()
  const storageData = (ref: StorageRef): TensorData => {
    let data = decoded.get(ref.key)
    if (!data) {
      const raw = zip.read(`${prefix}data/${ref.key}`)
      if (raw.byteLength < ref.numel * DTYPE_BYTES[ref.dtype]) {
        throw new SegError('BAD_CHECKPOINT', `${label}: storage ${ref.key} holds ${raw.byteLength} bytes but ${ref.numel} × ${ref.dtype} were declared (truncated)`)
      }
      budget.charge(ref.numel * (isFloatDType(ref.dtype) ? 4 : 8), `decoding storage ${ref.key}`)
      data = decodeStorage(raw, 0, ref.numel, ref.dtype)
      decoded.set(ref.key, data)
    }
    return data
  }
  const bad = (why: string): SegError => new SegError('BAD_CHECKPOINT', `${label}: ${why}`)

  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw bad('unknown persistent id (expected a storage reference)')
    const [, type, key, , numel] = pid as [string, PyGlobal, unknown, unknown, unknown]
    const dtype = STORAGE_TYPES[type?.name]
    if (!dtype || type.module !== 'torch') throw bad(`unsupported storage type ${String(type?.name)}`)
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) throw bad('invalid storage key')
    if (!isCount(numel)) throw bad('invalid storage size')
    return { storage: true, dtype, key, numel }
  }

  const rebuildTensor = (args: unknown[]): TorchTensor => {
    const [ref, offset, size, stride] = args as [StorageRef, unknown, unknown, unknown]
    if (!ref || (ref as StorageRef).storage !== true) throw bad('a tensor is rebuilt from something that is not a storage')
    if (!Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length || !isCount(offset) || ![...size, ...stride].every(isCount)) {
      throw bad('a tensor has an invalid size/stride (expected non-negative integers, one stride per dimension)')
    }
    const view = { offset, size: size as number[], stride: stride as number[] }
    return new TorchTensor({ dims: [...view.size], data: gather(storageData(ref), view, bad, budget) }, ref.dtype)
  }
  const passData = (args: unknown[]): unknown => args[0]

  const globals = new Map<string, PyGlobal>()
  const allow = (module: string, name: string, call?: (args: unknown[]) => unknown): void => {
    globals.set(`${module}.${name}`, { kind: 'global', module, name, call })
  }
  allow('torch._utils', '_rebuild_tensor_v2', rebuildTensor)
  allow('torch._utils', '_rebuild_tensor', rebuildTensor)
  allow('torch._utils', '_rebuild_parameter', passData)
  allow('torch._utils', '_rebuild_parameter_with_state', passData)
  allow('torch._tensor', '_rebuild_from_type_v2', (args) => {
    const [fn, , fnArgs] = args as [PyGlobal, unknown, unknown[]]
    if (!fn?.call || fn.module !== 'torch._utils') throw bad('_rebuild_from_type_v2 names an unexpected function')
    return fn.call(fnArgs)
  })
  allow('torch', 'Tensor')
  allow('torch.nn.parameter', 'Parameter')
  allow('torch', 'Size', (args) => [...((args[0] as unknown[]) ?? [])])
  allow('collections', 'OrderedDict', (args) => new Map((args[0] as Array<[unknown, unknown]>) ?? []))
  allow('_codecs', 'encode', (args) => Uint8Array.from(String(args[0]), (c) => c.charCodeAt(0) & 0xff))
  for (const name of Object.keys(STORAGE_TYPES)) allow('torch', name)

  return unpickle(zip.read(pkl), { label, globals, persistentLoad })
}

/** A non-negative safe integer (sizes, strides, offsets and element counts in a pickle). */
function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0
}

/**
 * Copy a strided view of `src` into a new C-contiguous array. Stride-0 and overlapping views
 * (torch.expand) are legal, so the copy can be far larger than the storage: its bytes are charged
 * to `budget` before it is allocated.
 * @param view offset, size and stride in elements (non-negative integers).
 */
export function gather(src: TensorData, view: StridedView, bad: (why: string) => SegError, budget: ByteBudget): TensorData {
  const { offset, size, stride } = view
  const n = size.reduce((a, b) => a * b, 1)
  const Out = src instanceof Float32Array ? Float32Array : BigInt64Array
  if (n === 0) return new Out(0)
  let last = offset
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d]
  if (last >= src.length) throw bad(`a tensor view reaches outside its storage (${src.length} elements)`)
  budget.charge(n * Out.BYTES_PER_ELEMENT, `tensor view [${size.join(', ')}]`)
  let contiguous = true
  for (let d = size.length - 1, expect = 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) contiguous = false
    expect *= size[d]
  }
  if (contiguous) return src.slice(offset, offset + n)
  const out = new Out(n)
  const idx = new Array<number>(size.length).fill(0)
  for (let k = 0; k < n; k++) {
    let at = offset
    for (let d = 0; d < size.length; d++) at += idx[d] * stride[d]
    ;(out as Float32Array)[k] = (src as Float32Array)[at]
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break
      idx[d] = 0
    }
  }
  return out
}

export { looksLikeZip }
