/**
 * Decoding of raw little-endian tensor storages (as .pth storages and safetensors hold them) into
 * the two element types the engine keeps: float32 for every floating type, int64 for integers.
 */
import { SegError } from '../errors'
import type { TensorData } from '../tensor'

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Storage element types we can read, named as safetensors names them. */
export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL'

/** Bytes per element of each storage type. */
export const DTYPE_BYTES: Record<StorageDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1
}

/** True for the types that become Float32Array (floating point); the rest become BigInt64Array. */
export function isFloatDType(dtype: StorageDType): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16'
}

/** IEEE 754 half (binary16) bits → number, exact (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** A fresh ArrayBuffer holding `bytes`. */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.byteLength)
  out.set(bytes)
  return out.buffer
}

/**
 * Decode `count` elements of `dtype` starting at byte `offset` of `bytes` (little-endian).
 * Floats → Float32Array (float64 rounded to nearest float32, half/bfloat16 exact);
 * integers and bool → BigInt64Array.
 */
export function decodeStorage(bytes: Uint8Array, offset: number, count: number, dtype: StorageDType): TensorData {
  const size = DTYPE_BYTES[dtype]
  if (offset < 0 || offset + count * size > bytes.byteLength) {
    throw new SegError('BAD_CHECKPOINT', `tensor data runs past the end of its storage (${count} × ${dtype} at byte ${offset} of ${bytes.byteLength}); the file is truncated or corrupt`)
  }
  // Fast paths: on a little-endian host float32/int64 bytes are the array's own layout (copied, so
  // aligned; copied with set, since a Buffer's slice is a view of the whole file's memory).
  if (LITTLE_ENDIAN_HOST && dtype === 'F32') return new Float32Array(copyOf(bytes.subarray(offset, offset + count * 4)))
  if (LITTLE_ENDIAN_HOST && dtype === 'I64') return new BigInt64Array(copyOf(bytes.subarray(offset, offset + count * 8)))
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * size)
  if (isFloatDType(dtype)) {
    const out = new Float32Array(count)
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case 'F32': out[i] = view.getFloat32(i * 4, true); break
        case 'F64': out[i] = view.getFloat64(i * 8, true); break
        case 'F16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break
        default: {
          // bfloat16 is the top half of a float32.
          const u32 = new Uint32Array(1)
          u32[0] = view.getUint16(i * 2, true) << 16
          out[i] = new Float32Array(u32.buffer)[0]
        }
      }
    }
    return out
  }
  const out = new BigInt64Array(count)
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'I64': out[i] = view.getBigInt64(i * 8, true); break
      case 'I32': out[i] = BigInt(view.getInt32(i * 4, true)); break
      case 'I16': out[i] = BigInt(view.getInt16(i * 2, true)); break
      case 'I8': out[i] = BigInt(view.getInt8(i)); break
      default: out[i] = BigInt(view.getUint8(i))
    }
  }
  return out
}
