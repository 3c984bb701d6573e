/**
 * NIfTI-1 (348 bytes) and NIfTI-2 (540 bytes) header parsing, our own, so that we know exactly which
 * transform the file holds (qform, sform and their codes), can check every field before anything
 * else reads the file, and can write a label map back with the very same header.
 *
 * Layouts: nifti1.h and nifti2.h. Both byte orders are accepted; a NIfTI-1 `raw` is the header
 * normalised to little-endian. Only the first bytes of a .nii.gz are decompressed.
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'

export const NIFTI1_HEADER_BYTES = 348
export const NIFTI2_HEADER_BYTES = 540

/** NIfTI datatype code → [name, bytes per voxel] for the scalar types we read. */
export const NIFTI_DATATYPES: Record<number, [string, number]> = {
  2: ['uint8', 1],
  4: ['int16', 2],
  8: ['int32', 4],
  16: ['float32', 4],
  64: ['float64', 8],
  256: ['int8', 1],
  512: ['uint16', 2],
  768: ['uint32', 4],
  1024: ['int64', 8],
  1280: ['uint64', 8]
}

export interface NiftiHeader {
  /** 1 or 2 (NIfTI-2: 64-bit sizes, float64 geometry). */
  version: 1 | 2
  littleEndian: boolean
  /** dim[0..7]: dim[0] is the number of dimensions, dim[1..] the sizes. */
  dim: number[]
  datatype: number
  bitpix: number
  /** pixdim[0..7]: pixdim[0] is qfac (±1), pixdim[1..3] the voxel sizes in mm (when xyzt_units says mm). */
  pixdim: number[]
  voxOffset: number
  sclSlope: number
  sclInter: number
  xyztUnits: number
  calMax: number
  calMin: number
  qformCode: number
  sformCode: number
  quatern: [number, number, number]
  qoffset: [number, number, number]
  /** srow_x, srow_y, srow_z: the sform's rows (RAS mm = srow · [i j k 1]). */
  srow: [number[], number[], number[]]
  magic: string
  /** NIfTI-1: the 348 header bytes, little-endian. NIfTI-2: the 540 bytes as stored. */
  raw: Uint8Array
}

/** Numeric fields as [byte offset, bytes per element, element count] (for byte swapping). */
const NUMERIC_FIELDS: [number, number, number][] = [
  [0, 4, 1], [32, 4, 1], [36, 2, 1], [40, 2, 8], [56, 4, 3], [68, 2, 4], [76, 4, 8],
  [108, 4, 3], [120, 2, 1], [124, 4, 4], [140, 4, 2], [252, 2, 2], [256, 4, 18]
]

/** Reverses the byte order of every numeric field of a 348-byte header, in place. */
function swapHeader(bytes: Uint8Array): void {
  for (const [offset, width, count] of NUMERIC_FIELDS) {
    for (let n = 0; n < count; n++) {
      const start = offset + n * width
      bytes.subarray(start, start + width).reverse()
    }
  }
}

/**
 * Which byte order a buffer holding a NIfTI header uses, or null when it is not one
 * (sizeof_hdr must be `size`, 348 for NIfTI-1 or 540 for NIfTI-2, in one of the two orders).
 */
export function niftiByteOrder(bytes: Uint8Array, size: number = NIFTI1_HEADER_BYTES): 'little' | 'big' | null {
  if (bytes.length < 4) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4)
  if (view.getInt32(0, true) === size) return 'little'
  if (view.getInt32(0, false) === size) return 'big'
  return null
}

/** The NIfTI version a buffer's sizeof_hdr announces (either byte order), or null. */
export function niftiVersion(bytes: Uint8Array): 1 | 2 | null {
  if (niftiByteOrder(bytes, NIFTI1_HEADER_BYTES) !== null) return 1
  if (niftiByteOrder(bytes, NIFTI2_HEADER_BYTES) !== null) return 2
  return null
}

/**
 * Parses the header at the start of a NIfTI-1 or NIfTI-2 file (already decompressed).
 * @returns the header, or null when `bytes` does not start with a complete NIfTI header.
 */
export function parseNiftiHeader(bytes: Uint8Array): NiftiHeader | null {
  return niftiVersion(bytes) === 2 ? parseNifti2Header(bytes) : parseNifti1Header(bytes)
}

function parseNifti1Header(bytes: Uint8Array): NiftiHeader | null {
  const order = niftiByteOrder(bytes)
  if (order === null || bytes.length < NIFTI1_HEADER_BYTES) return null
  const raw = new Uint8Array(bytes.subarray(0, NIFTI1_HEADER_BYTES))
  if (order === 'big') swapHeader(raw)
  const v = new DataView(raw.buffer)
  const i16 = (o: number): number => v.getInt16(o, true)
  const f32 = (o: number): number => v.getFloat32(o, true)
  const floats = (o: number, n: number): number[] => Array.from({ length: n }, (_, k) => f32(o + 4 * k))
  const magic = String.fromCharCode(...raw.subarray(344, 347))
  return {
    version: 1,
    littleEndian: order === 'little',
    dim: Array.from({ length: 8 }, (_, k) => i16(40 + 2 * k)),
    datatype: i16(70),
    bitpix: i16(72),
    pixdim: floats(76, 8),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: raw[123],
    calMax: f32(124),
    calMin: f32(128),
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: floats(256, 3) as [number, number, number],
    qoffset: floats(268, 3) as [number, number, number],
    srow: [floats(280, 4), floats(296, 4), floats(312, 4)],
    magic,
    raw
  }
}

/**
 * Parses a NIfTI-2 header (nifti2.h: int64 dims and vox_offset, float64 pixdim, scaling and
 * transforms). int64 values become numbers (exact below 2^53; larger ones are refused later by
 * the size checks).
 */
function parseNifti2Header(bytes: Uint8Array): NiftiHeader | null {
  const order = niftiByteOrder(bytes, NIFTI2_HEADER_BYTES)
  if (order === null || bytes.length < NIFTI2_HEADER_BYTES) return null
  const raw = new Uint8Array(bytes.subarray(0, NIFTI2_HEADER_BYTES))
  const le = order === 'little'
  const v = new DataView(raw.buffer)
  const i64 = (o: number): number => Number(v.getBigInt64(o, le))
  const f64 = (o: number): number => v.getFloat64(o, le)
  const doubles = (o: number, n: number): number[] => Array.from({ length: n }, (_, k) => f64(o + 8 * k))
  return {
    version: 2,
    littleEndian: le,
    dim: Array.from({ length: 8 }, (_, k) => i64(16 + 8 * k)),
    datatype: v.getInt16(12, le),
    bitpix: v.getInt16(14, le),
    pixdim: doubles(104, 8),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    calMax: f64(192),
    calMin: f64(200),
    qformCode: v.getInt32(344, le),
    sformCode: v.getInt32(348, le),
    quatern: doubles(352, 3) as [number, number, number],
    qoffset: doubles(376, 3) as [number, number, number],
    srow: [doubles(400, 4), doubles(432, 4), doubles(464, 4)],
    xyztUnits: v.getInt32(500, le),
    magic: String.fromCharCode(...raw.subarray(4, 7)),
    raw
  }
}

/** True when the file starts with the gzip magic bytes 1f 8b. */
export async function isGzipFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0)
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
  } finally {
    await fh.close()
  }
}

/**
 * The first `n` decompressed bytes of a file (gzip or not), decompressing only as much as needed.
 * @returns fewer than `n` bytes when the (decompressed) file is shorter; never throws for a
 *   truncated gzip stream (it returns what could be decompressed).
 */
export async function readHeadBytes(path: string, n: number): Promise<Uint8Array> {
  if (!(await isGzipFile(path))) {
    const fh = await open(path, 'r')
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(n), 0, n, 0)
      return new Uint8Array(buffer.subarray(0, bytesRead))
    } finally {
      await fh.close()
    }
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let got = 0
    const input = createReadStream(path, { highWaterMark: 16 * 1024 })
    const gunzip = createGunzip()
    const finish = (): void => {
      input.destroy()
      gunzip.destroy()
      const all = Buffer.concat(chunks)
      resolve(new Uint8Array(all.subarray(0, Math.min(n, all.length))))
    }
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      got += chunk.length
      if (got >= n) finish()
    })
    gunzip.on('end', finish)
    gunzip.on('error', finish)
    input.on('error', finish)
    input.pipe(gunzip)
  })
}

/** What inflating a whole gzip file found (`inflateFile`). */
export interface Inflated {
  /** Decompressed bytes that came out (at most just over the cap). */
  bytes: number
  /** The stream ended cleanly: every member's CRC-32 and length trailer checked. */
  complete: boolean
  /** More than the cap came out (inflation stopped there). */
  overCap: boolean
  /** zlib's error code when it did not end cleanly (e.g. Z_DATA_ERROR). */
  problem?: string
}

/** Where `inflateFile` copies a range of the decompressed bytes: `into.length` bytes from `start`. */
export interface InflateRange {
  /** Offset (bytes) in the decompressed content of the first byte to copy. */
  start: number
  into: Uint8Array
}

/**
 * Inflates a whole gzip file by streaming it, in one pass, which also checks every member's CRC-32
 * and length trailer (node:zlib does at the end of each member). Nothing is kept but the bytes of
 * `range`, copied as they pass: so one pass both reads a volume and proves the file complete.
 * @param capBytes stop once more than this many decompressed bytes came out (a gzip bomb costs
 *   no more time than a file of the size we expect).
 * @param range optional: the decompressed bytes [start, start + into.length) are copied into `into`.
 */
export async function inflateFile(path: string, capBytes = Number.MAX_SAFE_INTEGER, range?: InflateRange): Promise<Inflated> {
  return new Promise((resolve) => {
    let bytes = 0
    const input = createReadStream(path, { highWaterMark: 1 << 20 })
    const gunzip = createGunzip() // 16 kB chunks: a refusal's "after N kB" is exact to 16 kB
    let done = false
    const finish = (complete: boolean, problem?: string): void => {
      if (done) return
      done = true
      input.destroy()
      gunzip.destroy()
      resolve({ bytes, complete, overCap: bytes > capBytes, problem })
    }
    gunzip.on('data', (chunk: Buffer) => {
      if (range !== undefined) copyOverlap(chunk, bytes, range)
      bytes += chunk.length
      if (bytes > capBytes) finish(false)
    })
    gunzip.on('end', () => finish(true))
    gunzip.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? 'unreadable stream'))
    input.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? 'unreadable file'))
    input.pipe(gunzip)
  })
}

/** Copies the part of `chunk` (which starts at content offset `at`) that falls in `range`. */
function copyOverlap(chunk: Uint8Array, at: number, range: InflateRange): void {
  const lo = Math.max(0, range.start - at)
  const hi = Math.min(chunk.length, range.start + range.into.length - at)
  if (hi > lo) range.into.set(chunk.subarray(lo, hi), at + lo - range.start)
}

/** Bytes per voxel of the stored type, or undefined for types we do not read (RGB, complex...). */
export function niftiBytesPerVoxel(h: NiftiHeader): number | undefined {
  return NIFTI_DATATYPES[h.datatype]?.[1]
}

/** The stored component type name (e.g. 'int16'), or `datatype <code>` when unknown. */
export function niftiTypeName(h: NiftiHeader): string {
  return NIFTI_DATATYPES[h.datatype]?.[0] ?? `datatype ${h.datatype}`
}

/** Number of voxels the header describes over all its dimensions (dim[1] * ... * dim[dim[0]]). */
export function niftiVoxelCount(h: NiftiHeader): number {
  let n = 1
  for (let d = 1; d <= Math.min(Math.max(h.dim[0], 0), 7); d++) n *= Math.max(h.dim[d], 1)
  return n
}

/** True when scl_slope/scl_inter change the values (slope not 0 or 1, or a non-zero intercept). */
export function niftiIsScaled(h: NiftiHeader): boolean {
  const slope = h.sclSlope
  const scaled = Number.isFinite(slope) && slope !== 0 && slope !== 1
  return scaled || (Number.isFinite(h.sclInter) && h.sclInter !== 0 && slope !== 0)
}
