/**
 * From "whatever torch.save held" to a flat state dict with ptimz/mmcv ResNet names:
 * unwrap the usual containers, strip wrapper prefixes, and map known naming families.
 */
import { SegError } from '../errors'
import type { StateDict } from '../tensor'
import { TorchTensor } from './pth'

/** Container keys tried in this order when the checkpoint is a dict of more than tensors. */
export const CONTAINER_KEYS = ['state_dict', 'model', 'network', 'net', 'model_state_dict', 'module'] as const

/** Prefixes added by wrappers: DataParallel/DistributedDataParallel (`module.`), torch.compile (`_orig_mod.`). */
export const WRAPPER_PREFIXES = ['module.', '_orig_mod.'] as const

export interface Unwrapped {
  state: StateDict
  /** Container keys followed, outermost first, e.g. ['state_dict']. */
  container: string[]
  /** Top-level entries that were not tensors and were left out (epoch, optimizer, …). */
  ignored: string[]
}

const isDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map
const tensorCount = (m: Map<unknown, unknown>): number => [...m.values()].filter((v) => v instanceof TorchTensor).length

/**
 * Find the state dict in an unpickled checkpoint: a dict of tensors, possibly inside
 * `state_dict` / `model` / `network` / `net` / `model_state_dict` / `module` containers.
 */
export function unwrapStateDict(root: unknown, label: string): Unwrapped {
  const container: string[] = []
  let node = root
  for (let depth = 0; depth < 4 && isDict(node); depth++) {
    const cur = node
    const key = CONTAINER_KEYS.find((k) => isDict(cur.get(k)) && deepHasTensor(cur.get(k)))
    if (key === undefined || tensorCount(cur) > 0) break
    container.push(key)
    node = cur.get(key)
  }
  if (!isDict(node) || tensorCount(node) === 0) {
    const keys = isDict(root) ? [...root.keys()].map(String).slice(0, 8).join(', ') : typeof root
    throw new SegError('BAD_CHECKPOINT', `${label} holds no state dict (top-level: ${keys}); expected tensors, or a dict with one of ${CONTAINER_KEYS.join('/')}`)
  }
  const state: StateDict = new Map()
  const ignored: string[] = []
  for (const [k, v] of node) {
    if (v instanceof TorchTensor && typeof k === 'string') state.set(k, v.tensor)
    else ignored.push(String(k))
  }
  if (container.length > 0 && isDict(root)) {
    for (const k of root.keys()) if (k !== container[0]) ignored.push(String(k))
  }
  return { state, container, ignored }
}

function deepHasTensor(v: unknown, depth = 0): boolean {
  if (v instanceof TorchTensor) return true
  if (!isDict(v) || depth > 3) return false
  for (const x of v.values()) if (deepHasTensor(x, depth + 1)) return true
  return false
}

/** Remove wrapper prefixes (repeatedly: `module._orig_mod.x` → `x`). Returns how many keys lost each prefix. */
export function stripWrapperPrefixes(state: StateDict): { state: StateDict; stripped: Record<string, number> } {
  const stripped: Record<string, number> = {}
  const out: StateDict = new Map()
  for (const [key, t] of state) {
    let k = key
    for (let again = true; again; ) {
      again = false
      for (const p of WRAPPER_PREFIXES) {
        if (k.startsWith(p)) {
          k = k.slice(p.length)
          stripped[p] = (stripped[p] ?? 0) + 1
          again = true
        }
      }
    }
    if (out.has(k)) throw new SegError('BAD_CHECKPOINT', `two tensors are named ${k} once prefixes are stripped (${key}); expected unique names`)
    out.set(k, t)
  }
  return { state: out, stripped }
}

/** Naming families we recognise. */
export type NameFamily = 'ptimz-resnet' | 'ptimz-resunet' | 'medicalnet' | 'torchvision' | 'unknown'

/** Guess the naming family from the (prefix-stripped) keys. */
export function detectFamily(keys: Iterable<string>): NameFamily {
  const ks = [...keys]
  if (ks.some((k) => /^encoder_\d+\./.test(k))) return 'ptimz-resunet'
  if (ks.some((k) => k.startsWith('conv_seg.'))) return 'medicalnet'
  const resnetish = ks.some((k) => /^layer[1-4]\.\d+\./.test(k))
  if (resnetish && ks.includes('fc.weight')) return 'torchvision'
  if (resnetish) return 'ptimz-resnet'
  return 'unknown'
}

// ResUNet encoder names ↔ ResNet names: see transfer/architectures/keys.ts (mapResUNetKeyToResNet).
