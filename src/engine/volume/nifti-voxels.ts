/**
 * Our own NIfTI voxel decoder, used for NIfTI-2 (itk-wasm's NIfTI reader refuses NIfTI-2 files).
 * Hand-written because no maintained Node library decodes NIfTI-2; it is small: the stored bytes
 * of one volume (read in one pass by read-nifti.ts `readNiftiVolumeBytes`), byte order fixed,
 * scl_slope/scl_inter applied as nifti1_io and ITK do.
 */
import { endianness } from 'node:os'
import { niftiBytesPerVoxel, niftiIsScaled, type NiftiHeader } from './nifti-header'
import type { VoxelArray } from './volume'

/** The typed array of a NIfTI datatype over `buffer` (host byte order). */
function typedView(datatype: number, buffer: ArrayBuffer): VoxelArray | BigInt64Array | BigUint64Array {
  switch (datatype) {
    case 2: return new Uint8Array(buffer)
    case 256: return new Int8Array(buffer)
    case 4: return new Int16Array(buffer)
    case 512: return new Uint16Array(buffer)
    case 8: return new Int32Array(buffer)
    case 768: return new Uint32Array(buffer)
    case 16: return new Float32Array(buffer)
    case 64: return new Float64Array(buffer)
    case 1024: return new BigInt64Array(buffer)
    default: return new BigUint64Array(buffer) // 1280; other types are refused by checkNiftiDatatype
  }
}

/**
 * Decodes the stored bytes of one 3D volume of a NIfTI file whose header was checked (datatype
 * scalar); `bytes` (exactly one volume, spanning its whole buffer: `readNiftiVolumeBytes`) is
 * byte-swapped in place and may become the voxels' buffer.
 * Scaled data (niftiIsScaled) becomes Float32Array (Float64Array for float64 and 64-bit integer
 * storage); unscaled 64-bit integers become Float64Array (exact up to 2^53).
 * @returns voxels in NIfTI order (i fastest) and whether a 64-bit integer conversion happened.
 */
export function decodeNiftiVoxels(bytes: Uint8Array, h: NiftiHeader): { data: VoxelArray; converted64: boolean } {
  const width = niftiBytesPerVoxel(h) ?? 1
  const count = bytes.length / width
  const hostLittle = endianness() === 'LE'
  if (width > 1 && h.littleEndian !== hostLittle) {
    for (let o = 0; o < bytes.length; o += width) bytes.subarray(o, o + width).reverse()
  }
  const stored = typedView(h.datatype, bytes.buffer as ArrayBuffer)
  const is64 = stored instanceof BigInt64Array || stored instanceof BigUint64Array
  const scaled = niftiIsScaled(h)
  if (!scaled && !is64) return { data: stored as VoxelArray, converted64: false }
  const out = is64 || h.datatype === 64 ? new Float64Array(count) : new Float32Array(count)
  const slope = scaled && Number.isFinite(h.sclSlope) && h.sclSlope !== 0 ? h.sclSlope : 1 // nifti1_io: 0 or NaN = no slope
  const inter = scaled && Number.isFinite(h.sclInter) ? h.sclInter : 0
  for (let k = 0; k < count; k++) out[k] = Number(stored[k]) * slope + inter
  return { data: out, converted64: is64 }
}
