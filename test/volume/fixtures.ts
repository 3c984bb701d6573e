/**
 * Test fixtures: the real data folder, temp dirs and a minimal, independent NIfTI-1 writer for
 * crafting edge-case files (2D, 4D, NaN, huge headers...). Written from the NIfTI-1 spec, not
 * from the code under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { SegError } from '../../src/engine/errors'

export const DATA = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/data')
export const data = (rel: string): string => join(DATA, rel)

/** A fresh temp directory and a function removing it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'segtransfer-vol-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface CraftOptions {
  /** dim[0..7] as in the header (dim[0] = number of dimensions). */
  dim: number[]
  /** 2 uint8, 4 int16, 16 float32, 64 float64 ... */
  datatype: number
  bitpix: number
  pixdim?: number[]
  /** Voxel bytes to append after the 352-byte prefix (omit for a header-only file). */
  voxels?: Uint8Array
  sform?: number[][]
  sformCode?: number
  qformCode?: number
  quatern?: number[]
  qoffset?: number[]
  sclSlope?: number
  sclInter?: number
  gzip?: boolean
}

/** Bytes of a NIfTI-1 single file (.nii): 348-byte header, 4 zero extension bytes, voxels. */
export function craftNifti(o: CraftOptions): Uint8Array {
  const head = new DataView(new ArrayBuffer(352))
  head.setInt32(0, 348, true)
  ;(o.dim.concat([1, 1, 1, 1, 1, 1, 1, 1])).slice(0, 8).forEach((d, k) => head.setInt16(40 + 2 * k, d, true))
  head.setInt16(70, o.datatype, true)
  head.setInt16(72, o.bitpix, true)
  ;(o.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1]).forEach((p, k) => head.setFloat32(76 + 4 * k, p, true))
  head.setFloat32(108, 352, true)
  head.setFloat32(112, o.sclSlope ?? 1, true)
  head.setFloat32(116, o.sclInter ?? 0, true)
  head.setUint8(123, 2) // mm
  head.setInt16(252, o.qformCode ?? 0, true)
  head.setInt16(254, o.sformCode ?? 0, true)
  ;(o.quatern ?? [0, 0, 0]).forEach((q, k) => head.setFloat32(256 + 4 * k, q, true))
  ;(o.qoffset ?? [0, 0, 0]).forEach((q, k) => head.setFloat32(268 + 4 * k, q, true))
  if (o.sform) o.sform.forEach((row, r) => row.forEach((x, c) => head.setFloat32(280 + 16 * r + 4 * c, x, true)))
  ;[0x6e, 0x2b, 0x31, 0].forEach((b, k) => head.setUint8(344 + k, b)) // "n+1\0"
  const voxels = o.voxels ?? new Uint8Array(0)
  const out = new Uint8Array(352 + voxels.length)
  out.set(new Uint8Array(head.buffer), 0)
  out.set(voxels, 352)
  return o.gzip ? new Uint8Array(gzipSync(out)) : out
}

/** Writes a crafted NIfTI to `path`. */
export function writeCrafted(path: string, o: CraftOptions): string {
  writeFileSync(path, craftNifti(o))
  return path
}

/** Max |a[k] - b[k]| over two equally long number lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let m = 0
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]))
  return m
}

/** True when two typed arrays hold the same values in the same order (NaN never equal). */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  return true
}

/** The SegError a promise rejects with (fails the test when it resolves or throws anything else). */
export async function refusal(p: Promise<unknown>): Promise<SegError> {
  try {
    await p
  } catch (e) {
    if (e instanceof SegError) return e
    throw e
  }
  throw new Error('expected a SegError')
}

/**
 * Two hostile gzip files of `raw` whose size trailer is right: `corrupt` has compressed bytes
 * XORed mid-stream, `lying` holds only the first half of `raw` but ends with the whole file's
 * trailer (CRC-32 and length). Only inflating the whole stream tells either from the real file.
 */
export function gzipsWithTrueTrailer(raw: Uint8Array): { corrupt: Buffer; lying: Buffer } {
  const whole = gzipSync(raw)
  const corrupt = Buffer.from(whole)
  const mid = corrupt.length >> 1
  for (let i = mid; i < mid + 16; i++) corrupt[i] ^= 0x5a
  const half = gzipSync(raw.subarray(0, raw.length >> 1))
  const lying = Buffer.concat([half.subarray(0, half.length - 8), whole.subarray(whole.length - 8)])
  return { corrupt, lying }
}
