/**
 * SPM's orientation file beside an Analyze image (`x.mat` next to `x.hdr`): a MATLAB file (level 5,
 * as SPM writes it, or level 4, as nibabel and old SPM do) holding `mat` (voxel → RAS mm, 1-based
 * voxels, flips included) or `M` (without the x flip). SPM and nibabel place the image by it, so we
 * do too. Hand-written (a small subset of the formats: real double matrices, level 5 optionally
 * zlib-compressed) because the only npm reader (mat-for-js) is little used, unmaintained and reads
 * level 5 only; every size is bounded.
 */
import { inflateSync } from 'node:zlib'

/** Largest .mat file we read (SPM's are a few hundred bytes). */
export const SPM_MAT_MAX_BYTES = 1 << 20

const MI_INT8 = 1
const MI_INT32 = 5
const MI_UINT32 = 6
const MI_DOUBLE = 9
const MI_MATRIX = 14
const MI_COMPRESSED = 15
const MX_DOUBLE_CLASS = 6

/** One data element: its type and payload (small elements pack both into 8 bytes). */
interface Element {
  type: number
  data: Uint8Array
  /** Offset of the next element. */
  next: number
}

function element(buf: Uint8Array, at: number, le: boolean): Element | null {
  if (at + 8 > buf.length) return null
  const v = new DataView(buf.buffer, buf.byteOffset + at, 8)
  const first = v.getUint32(0, le)
  if (first >>> 16 !== 0) {
    const bytes = first >>> 16 // small data element: type and size in 4 bytes, data in the next 4
    return bytes > 4 ? null : { type: first & 0xffff, data: buf.subarray(at + 4, at + 4 + bytes), next: at + 8 }
  }
  const bytes = v.getUint32(4, le)
  if (at + 8 + bytes > buf.length) return null
  const padded = first === MI_COMPRESSED ? bytes : Math.ceil(bytes / 8) * 8
  return { type: first, data: buf.subarray(at + 8, at + 8 + bytes), next: at + 8 + padded }
}

/** The named double matrices (column-major values, dims) in a sequence of elements. */
function matrices(buf: Uint8Array, le: boolean, out: Map<string, { dims: number[]; values: number[] }>, depth = 0): void {
  for (let at = 0, e = element(buf, 0, le); e !== null; at = e.next, e = element(buf, at, le)) {
    if (e.type === MI_COMPRESSED && depth === 0) {
      matrices(new Uint8Array(inflateSync(e.data, { maxOutputLength: SPM_MAT_MAX_BYTES })), le, out, 1)
    } else if (e.type === MI_MATRIX) {
      const m = matrix(e.data, le)
      if (m !== null) out.set(m.name, m)
    }
    if (e.next <= at) return
  }
}

/** A miMATRIX's name, dims and values when it is a real double matrix, else null. */
function matrix(buf: Uint8Array, le: boolean): { name: string; dims: number[]; values: number[] } | null {
  const flags = element(buf, 0, le)
  const dims = flags && element(buf, flags.next, le)
  const name = dims && element(buf, dims.next, le)
  const real = name && element(buf, name.next, le)
  if (!flags || !dims || !name || !real || flags.type !== MI_UINT32 || dims.type !== MI_INT32 || name.type !== MI_INT8) return null
  if ((flags.data[le ? 0 : 3] & 0xff) !== MX_DOUBLE_CLASS || real.type !== MI_DOUBLE) return null
  const dv = new DataView(dims.data.buffer, dims.data.byteOffset, dims.data.length)
  const shape = Array.from({ length: dims.data.length >> 2 }, (_, k) => dv.getInt32(4 * k, le))
  const rv = new DataView(real.data.buffer, real.data.byteOffset, real.data.length)
  const values = Array.from({ length: real.data.length >> 3 }, (_, k) => rv.getFloat64(8 * k, le))
  return { name: Buffer.from(name.data).toString('latin1'), dims: shape, values }
}

/**
 * The real double matrices of a MATLAB level-4 file: each a 20-byte header (type = 1000·M + 100·O +
 * 10·P + T: M 0 little-/1 big-endian, P 0 double, T 0 full; rows; columns; imaginary flag; name
 * length), the name, then the values column by column. Stops at the first other kind.
 */
function level4Matrices(buf: Uint8Array, out: Map<string, { dims: number[]; values: number[] }>): void {
  let at = 0
  while (at + 20 <= buf.length) {
    const v = new DataView(buf.buffer, buf.byteOffset + at, 20)
    const le = v.getInt32(0, true) < 1000 // M = 0: little-endian
    const [type, rows, cols, imag, nameLength] = [0, 1, 2, 3, 4].map((k) => v.getInt32(4 * k, le))
    if (type % 1000 !== 0 || imag !== 0 || rows < 0 || cols < 0 || nameLength < 1 || nameLength > 64) return // doubles only
    const start = at + 20 + nameLength
    const end = start + rows * cols * 8
    if (end > buf.length) return
    const name = Buffer.from(buf.subarray(at + 20, start - 1)).toString('latin1')
    const dv = new DataView(buf.buffer, buf.byteOffset + start, rows * cols * 8)
    out.set(name, { dims: [rows, cols], values: Array.from({ length: rows * cols }, (_, k) => dv.getFloat64(8 * k, le)) })
    at = end
  }
}

/**
 * The RAS affine (4x4 rows, 0-based voxels) an SPM .mat file gives an Analyze image, as nibabel's
 * `Spm99AnalyzeImage` computes it: `mat` as is, else diag(-1,1,1,1)·`M`; then shifted from
 * MATLAB's 1-based voxels.
 * @returns the affine, or a one-phrase reason it cannot be used.
 */
export function spmMatAffine(bytes: Uint8Array): { affine: number[][] } | { problem: string } {
  if (bytes.length < 20 || bytes.length > SPM_MAT_MAX_BYTES) return { problem: 'not a MATLAB file of at most 1 MB' }
  const endian = bytes.length >= 128 ? Buffer.from(bytes.subarray(126, 128)).toString('latin1') : ''
  const text = Buffer.from(bytes.subarray(0, 10)).toString('latin1')
  if (text.startsWith('MATLAB 7.3')) return { problem: 'a MATLAB 7.3 (HDF5) file, which is not read' }
  const found = new Map<string, { dims: number[]; values: number[] }>()
  try {
    if (text.startsWith('MATLAB 5.0') && (endian === 'IM' || endian === 'MI')) matrices(bytes.subarray(128), endian === 'IM', found)
    else level4Matrices(bytes, found)
  } catch {
    return { problem: 'a corrupt compressed element' }
  }
  const m = found.get('mat') ?? found.get('M')
  if (m === undefined) return { problem: "no double matrix named 'mat' or 'M' in it" }
  if (m.dims[0] !== 4 || m.dims[1] !== 4 || m.values.length < 16 || !m.values.slice(0, 16).every(Number.isFinite)) {
    return { problem: `its '${found.has('mat') ? 'mat' : 'M'}' is not a finite 4x4 matrix` }
  }
  const flip = found.has('mat') ? 1 : -1 // 'M' leaves out the x flip of radiological storage
  const rows = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => m.values[c * 4 + r] * (r === 0 ? flip : 1))) // column-major
  // to 0-based voxels: translation += linear · (1, 1, 1)
  return { affine: rows.map((row) => [row[0], row[1], row[2], row[3] + row[0] + row[1] + row[2]]) }
}
