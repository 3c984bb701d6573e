/**
 * Bounds on what reading a checkpoint may cost. A checkpoint is untrusted input: its headers,
 * pickle and tensor views all state sizes, and none of them is believed before it is checked here
 * against what the file itself can justify and what the machine has. Each limit is decided once,
 * in this file; docs/transfer-toolkit.md ("Safety") and docs/reliability.md list them.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { SegError } from '../errors'
import { checkRegularFile } from '../fs/regular-file'
import { formatBytes } from '../volume/read-nifti'

/**
 * Pickle VM limits. torch.save's pickles are flat (a dict of tensors; pickle batches SETITEMS and
 * APPENDS in 1000s) and its integers fit in 8 bytes, so each bound is far above any real file.
 */
export const PICKLE_LIMITS = {
  /** Longest LONG1/LONG4 integer, in bytes (8192 bits). */
  longBytes: 1024,
  /** Longest decimal INT/LONG text (protocol 0), in digits (≈ 8192 bits). */
  intDigits: 2500,
  /** Values on the stack, counting those set aside under MARKs, plus the MARKs themselves. */
  stackDepth: 100_000,
  /** Memo entries. */
  memoEntries: 1_000_000,
  /** Values pushed in all (each at least a heap slot; a state dict pushes ~15 per tensor). */
  values: 10_000_000
}

export type PickleLimits = Readonly<typeof PICKLE_LIMITS>

/** Largest compression ratio of a deflated zip member; torch.save stores members uncompressed. */
export const MAX_DEFLATE_RATIO = 200

/** Allocation budget: a fixed allowance plus this many times the file's size (int8 storages decode to int64: 8×, views copy once more). */
const BUDGET_FLOOR_BYTES = 256 * 2 ** 20
const BUDGET_GROWTH = 16
/** Share of the machine's memory one checkpoint read may take at most. */
const MEMORY_SHARE = 0.5
/** Node's readFile refuses files of 2 GiB and more. */
const READ_FILE_MAX = 2 ** 31 - 1

export interface CheckpointLimits {
  /** Largest checkpoint file read, in bytes; default min(2 GiB − 1, half the RAM). */
  maxFileBytes?: number
  /** Bytes the read may allocate beyond the file (inflated members, decoded storages, tensor views); default see allocationBudget. */
  budgetBytes?: number
}

/** Default largest checkpoint file, in bytes. */
export function defaultMaxFileBytes(): number {
  return Math.min(READ_FILE_MAX, Math.floor(os.totalmem() * MEMORY_SHARE))
}

/** Default allocation budget for a checkpoint of `fileBytes` bytes: 256 MiB + 16 × its size, at most half the RAM. */
export function allocationBudget(fileBytes: number): number {
  return Math.min(Math.floor(os.totalmem() * MEMORY_SHARE), BUDGET_FLOOR_BYTES + BUDGET_GROWTH * fileBytes)
}

/** Refuses (TOO_LARGE) a file of `bytes` above `maxBytes`, before anything reads it. */
export function checkFileSize(path: string, bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new SegError('TOO_LARGE', `${path} is ${formatBytes(bytes)}; at most ${formatBytes(maxBytes)} may be read as a checkpoint (half the RAM, and Node reads files below 2 GiB)`)
  }
}

/** What a checkpoint path may name, for messages. */
const CHECKPOINT_KINDS = 'a checkpoint (.pth/.pt, .safetensors, .onnx) or a bundle folder'

/**
 * The bytes of a checkpoint or model file, refused before opening when it is not a regular file
 * (a FIFO blocks forever, /dev/zero never ends) or larger than `maxFileBytes`.
 */
export async function readCheckpointBytes(path: string, maxFileBytes = defaultMaxFileBytes()): Promise<Uint8Array> {
  const info = await checkRegularFile(path, CHECKPOINT_KINDS)
  checkFileSize(path, info.size, maxFileBytes)
  const buf = await readFile(path)
  // A plain view: Buffer#slice shares memory, and decoding relies on slice copying.
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Charges allocations against a fixed budget; `charge` throws before the caller allocates. */
export interface ByteBudget {
  /**
   * Account for `bytes` about to be allocated for `what` (e.g. "tensor view [3, 4]").
   * @throws SegError TOO_LARGE naming the bytes needed and the bytes allowed.
   */
  charge(bytes: number, what: string): void
}

/** A budget of `allowed` bytes for reading the checkpoint `label`. */
export function byteBudget(label: string, allowed: number): ByteBudget {
  let used = 0
  return {
    charge(bytes, what) {
      if (bytes <= allowed - used) {
        used += bytes
        return
      }
      throw new SegError('TOO_LARGE', `${label}: ${what} needs ${formatBytes(bytes)}; ${formatBytes(allowed - used)} remain of the ${formatBytes(allowed)} allowed for a checkpoint of this size; expected a plain torch.save state dict`)
    }
  }
}
