/**
 * The checks we make on a NIfTI-1 file from its header alone, before any voxel is decoded:
 * dimensionality, voxel type, memory needed, truncation. Also the reader's notes on geometry, and
 * the one pass that reads a volume's stored bytes (`readNiftiVolumeBytes`).
 */
import { basename } from 'node:path'
import { open, stat } from 'node:fs/promises'
import { SegError } from '../errors'
import {
  NIFTI1_HEADER_BYTES, NIFTI2_HEADER_BYTES, inflateFile, isGzipFile, niftiBytesPerVoxel, niftiIsScaled, niftiTypeName, niftiVoxelCount,
  type InflateRange, type NiftiHeader
} from './nifti-header'
import { apply3, flipRasLps, gridAffine, niftiGeometry, qformAffine, sformAffine, type NiftiGeometry } from './affine'
import type { Vec3 } from './volume'
import { HEADER_NUMBER_MAX, checkPlausibleGeometry, describeNumber } from './plausible'

/** "12.3 GB" style size (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  return `${(bytes / 1e3).toFixed(1)} kB`
}

/** "64x64x30" from any list of sizes. */
export function formatSize(size: readonly number[]): string {
  return size.join('x')
}

/**
 * Refuses (TOO_LARGE) when `bytes` of voxels exceed `maxBytes`.
 * @param name file name for the message; bytes and maxBytes in bytes.
 */
export function checkMemory(name: string, bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new SegError(
      'TOO_LARGE',
      `${name} needs ${formatBytes(bytes)} of memory for its voxels; the limit is ${formatBytes(maxBytes)}; ` +
        'expected a smaller volume (crop or downsample it first)'
    )
  }
}

/**
 * Refuses (BAD_DIMENSION) anything but 3D volumes: dim[0] must be 3..7 with positive sizes. Sizes
 * beyond the third count volumes (`niftiVolumeCount`); which one to read is `chosenVolume`'s call.
 */
export function checkNiftiDimensions(name: string, h: NiftiHeader): void {
  const nd = h.dim[0]
  const sizes = h.dim.slice(1, Math.min(Math.max(nd, 0), 7) + 1)
  if (nd < 1 || nd > 7) {
    throw new SegError('BAD_DIMENSION', `${name} declares ${nd} dimensions; expected a 3D volume`)
  }
  if (sizes.some((s) => s < 1)) {
    throw new SegError('BAD_DIMENSION', `${name} has size ${formatSize(sizes)}; expected positive sizes`)
  }
  if (nd < 3) {
    throw new SegError('BAD_DIMENSION', `${name} is ${nd}D (${formatSize(sizes)}); expected a 3D volume`)
  }
}

/** Voxels in one 3D volume of a NIfTI file (dim[1] * dim[2] * dim[3]). */
export function niftiVolumeVoxels(h: NiftiHeader): number {
  return h.dim[1] * h.dim[2] * h.dim[3]
}

/** 3D volumes a NIfTI file holds: the product of its sizes beyond the third (1 for a 3D file). */
export function niftiVolumeCount(h: NiftiHeader): number {
  return niftiVoxelCount(h) / niftiVolumeVoxels(h)
}

/**
 * Bytes of memory the decoded voxels of one volume need: voxels × the decoded bytes per voxel
 * (scl_slope makes them float32, 64-bit integers become float64).
 */
export function niftiDecodedBytes(h: NiftiHeader): number {
  const stored = niftiBytesPerVoxel(h) ?? 8
  const decoded = niftiIsScaled(h) ? Math.max(stored, 4) : stored
  return niftiVolumeVoxels(h) * decoded
}

/** Bytes of content a NIfTI header describes: vox_offset + all its voxels × bytes per voxel. */
export function niftiContentBytes(h: NiftiHeader): number {
  return Math.floor(h.voxOffset) + niftiVoxelCount(h) * (niftiBytesPerVoxel(h) ?? 0)
}

/**
 * Refuses (CORRUPT_FILE) a file shorter than its header says (`niftiContentBytes`).
 * A .nii.gz is inflated whole (streaming, `checkContentLength`): its size trailer alone proves nothing.
 */
export async function checkNiftiLength(path: string, h: NiftiHeader): Promise<void> {
  await checkContentLength(path, niftiContentBytes(h))
}

/**
 * The stored bytes of one 3D volume (`volume`, 0-based; volumes are stored one after another) of a
 * NIfTI file whose header was checked. A gzip file is inflated once: the pass that copies the
 * volume's bytes goes on to the end of the stream, refusing it as `checkContentLength` does
 * (truncated, corrupt, CRC, more than described), so it is never inflated twice. A plain file's
 * length was checked from its size (`checkNiftiLength`); only the volume's bytes are read.
 * @returns null when a plain file ends inside the volume (it shrank since its length was checked).
 */
export async function readNiftiVolumeBytes(path: string, h: NiftiHeader, volume: number): Promise<Uint8Array | null> {
  const length = niftiVolumeVoxels(h) * (niftiBytesPerVoxel(h) ?? 1)
  const start = Math.floor(h.voxOffset) + volume * length
  const into = new Uint8Array(length)
  if (await isGzipFile(path)) {
    await checkInflated(path, niftiContentBytes(h), { start, into })
    return into
  }
  return (await readFileRange(path, start, into)) === length ? into : null
}

/** Largest single read (bytes): one read(2) moves at most ~2 GB. */
const READ_CHUNK_BYTES = 1 << 26

/** Reads `into.length` bytes of a file from `start` into `into`; returns the bytes read (fewer at its end). */
async function readFileRange(path: string, start: number, into: Uint8Array): Promise<number> {
  const fh = await open(path, 'r')
  try {
    let filled = 0
    while (filled < into.length) {
      const { bytesRead } = await fh.read(into, filled, Math.min(READ_CHUNK_BYTES, into.length - filled), start + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled
  } finally {
    await fh.close()
  }
}

/** What a zlib error code means for the user (the raw code says nothing to them). */
function gzipProblem(code: string | undefined): string {
  if (code === 'Z_DATA_ERROR') return 'has invalid data or a wrong checksum'
  return 'ends early'
}

/** Decompressed bytes a gzip file may hold beyond what its header describes (trailing padding). */
const GZIP_SLACK_BYTES = 64 * 2 ** 20

/**
 * Refuses (CORRUPT_FILE) a file (gzip or not) whose content is shorter than `expected` bytes. A gzip
 * file is inflated whole, streaming, with its CRC checked (`checkInflated`).
 * Also for MGH: itk-wasm decodes a truncated or corrupt .mgz without a word.
 */
export async function checkContentLength(path: string, expected: number): Promise<void> {
  if (await isGzipFile(path)) return checkInflated(path, expected)
  const actual = (await stat(path)).size
  if (actual < expected) throw truncated(basename(path), actual, expected)
}

/**
 * Inflates a whole gzip file (`inflateFile`, copying `range` on the way) and refuses (CORRUPT_FILE)
 * one whose content is shorter than `expected` bytes, corrupted mid-way, cut short behind a copied
 * trailer, with a wrong CRC, or longer than `expected` + GZIP_SLACK_BYTES (inflation stops there).
 */
async function checkInflated(path: string, expected: number, range?: InflateRange): Promise<void> {
  const name = basename(path)
  const counted = await inflateFile(path, expected + GZIP_SLACK_BYTES, range)
  if (counted.overCap) {
    throw new SegError(
      'CORRUPT_FILE',
      `${name} is corrupt: its gzip stream holds more than the ${formatBytes(expected)} its header describes; expected a complete file`
    )
  }
  if (!counted.complete) {
    throw new SegError(
      'CORRUPT_FILE',
      `${name} is truncated or corrupt: its gzip stream ${gzipProblem(counted.problem)} after ` +
        `${formatBytes(counted.bytes)} of the ${formatBytes(expected)} its header describes; expected a complete file`
    )
  }
  if (counted.bytes < expected) throw truncated(name, counted.bytes, expected)
}

function truncated(name: string, actual: number, expected: number): SegError {
  return new SegError('CORRUPT_FILE', `${name} is truncated: it holds ${actual} bytes but its header describes ${expected}; expected a complete file`)
}

/** Refuses (UNSUPPORTED) NIfTI voxel types other than the scalar integer and float types. */
export function checkNiftiDatatype(name: string, h: NiftiHeader): void {
  if (niftiBytesPerVoxel(h) === undefined) {
    throw new SegError(
      'UNSUPPORTED',
      `${name} stores ${niftiTypeName(h)} voxels; expected a scalar type (uint8/int8/uint16/int16/uint32/int32/int64/uint64/float32/float64)`
    )
  }
}

/**
 * What is wrong with a NIfTI header's numbers, in words, or null. Every number a reader uses must
 * be finite and within HEADER_NUMBER_MAX: pixdim (up to the declared dimensions), the qform's
 * quaternion and offsets (nifti1_io computes the qform whatever its code), the sform when its code
 * is positive, vox_offset (after the header) and scl_slope/scl_inter (NaN means "unset" in NIfTI).
 */
export function niftiFieldProblem(h: NiftiHeader, pair = false): string | null {
  const bounded = (x: number): boolean => Math.abs(x) <= HEADER_NUMBER_MAX
  const nd = Math.min(Math.max(h.dim[0], 0), 7)
  const pixdim = h.pixdim.slice(0, nd + 1)
  if (!pixdim.every(bounded)) return `a voxel size (pixdim) of ${describeNumber(pixdim.find((x) => !bounded(x))!)}`
  if (![...h.quatern, ...h.qoffset].every(bounded)) return 'a non-finite or overflowing qform (quaternion or offset)'
  if (h.sformCode > 0 && !h.srow.flat().every(bounded)) return 'a non-finite or overflowing sform'
  const headerBytes = pair ? 0 : h.version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES // a pair's voxels are in the .img
  if (!(h.voxOffset >= headerBytes && h.voxOffset <= Number.MAX_SAFE_INTEGER)) {
    return pair
      ? `a vox_offset of ${describeNumber(h.voxOffset)} bytes (the offset of the voxels in the .img file)`
      : `a vox_offset of ${describeNumber(h.voxOffset)} bytes (voxels must start after the ${headerBytes}-byte header)`
  }
  if ([h.sclSlope, h.sclInter].some((x) => !Number.isNaN(x) && !bounded(x))) return 'an infinite or overflowing scl_slope/scl_inter'
  return null
}

/** Refuses (CORRUPT_FILE) a NIfTI header with numbers no reader should be handed (`niftiFieldProblem`). */
export function checkNiftiFields(name: string, h: NiftiHeader, pair = false): void {
  const problem = niftiFieldProblem(h, pair)
  if (problem !== null) throw new SegError('CORRUPT_FILE', `${name} has ${problem} in its NIfTI header; expected finite, bounded values`)
}

/**
 * The Volume geometry of a NIfTI header under our policy, refused (CORRUPT_FILE) when implausible
 * (`checkPlausibleGeometry`), with the notes the user should see.
 */
export function checkedNiftiGeometry(name: string, h: NiftiHeader): { geometry: NiftiGeometry; notes: string[] } {
  const result = niftiGeometryWithNotes(h)
  const from = result.geometry.from
  const linear = from === 'sform' ? sformAffine(h).linear : from === 'qform' ? qformAffine(h).linear : undefined
  checkPlausibleGeometry(name, result.geometry, from === 'default' ? 'voxel size (pixdim)' : from, linear)
  return result
}

/** The Volume geometry of a NIfTI header under our policy, with the notes the user should see. */
export function niftiGeometryWithNotes(h: NiftiHeader): { geometry: NiftiGeometry; notes: string[] } {
  const geometry = niftiGeometry(h)
  const notes: string[] = []
  if (geometry.skipped !== undefined) {
    notes.push(`the ${geometry.skipped} is degenerate (singular or not finite) and was ignored; the ${geometry.from === 'default' ? 'default geometry' : geometry.from} was used`)
  }
  if (geometry.from === 'default') {
    notes.push('no qform/sform: default geometry (spacing from pixdim, origin 0, identity direction) assumed')
  }
  if (geometry.shearDegrees > 0.01) {
    const moved = shearDisplacement(h, geometry)
    notes.push(
      `the ${geometry.from} has a shear of ${geometry.shearDegrees.toFixed(1)}° (e.g. gantry tilt); it was dropped for ` +
        `display (nearest rotation by polar decomposition, spacing = column norms; corner voxels move up to ${moved.toFixed(1)} mm); ` +
        'masks are still written with the original header'
    )
  }
  return { geometry, notes }
}

/**
 * Largest distance (mm) between where the header's own affine and the orthonormalised geometry put
 * the centres of the 8 corner voxels: what dropping the shear costs.
 */
export function shearDisplacement(h: NiftiHeader, g: NiftiGeometry): number {
  const exact = flipRasLps(g.from === 'sform' ? sformAffine(h) : qformAffine(h))
  const approx = gridAffine({ ...g, size: [h.dim[1], h.dim[2], h.dim[3]] })
  let worst = 0
  for (let corner = 0; corner < 8; corner++) {
    const ijk: Vec3 = [0, 1, 2].map((a) => ((corner >> a) & 1 ? Math.max(h.dim[a + 1] - 1, 0) : 0)) as Vec3
    const p = apply3(exact.linear, ijk)
    const q = apply3(approx.linear, ijk)
    const d = Math.hypot(
      p[0] + exact.translation[0] - q[0] - approx.translation[0],
      p[1] + exact.translation[1] - q[1] - approx.translation[1],
      p[2] + exact.translation[2] - q[2] - approx.translation[2]
    )
    worst = Math.max(worst, d)
  }
  return worst
}
