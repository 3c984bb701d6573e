/**
 * readVolume: one 3D scalar volume from NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage
 * (.mha, .mhd), with its geometry, refusing with a SegError whatever we cannot trust.
 *
 * NIfTI (1 and 2) is read by us: header (`nifti-header.ts`, every number checked), voxels
 * (`nifti-voxels.ts`: byte order, scl_slope/scl_inter), geometry by our policy (sform wins, see
 * affine.ts `niftiGeometry`); a NIfTI-1 header is kept for export. NRRD and MetaImage are decoded
 * by itk-wasm (`readImageNode`). Every geometry must be plausible (`plausible.ts`).
 */
import os from 'node:os'
import { basename, resolve } from 'node:path'
import { stat } from 'node:fs/promises'
import { readImageNode } from '@itk-wasm/image-io'
import { SegError } from '../errors'
import { checkRegularFile } from '../fs/regular-file'
import type { Grid, Volume, VolumeSource, VoxelArray } from './volume'
import { NIFTI2_HEADER_BYTES, niftiTypeName, niftiVersion, parseNiftiHeader, readHeadBytes, type NiftiHeader } from './nifti-header'
import {
  checkMemory, checkNiftiDatatype, checkNiftiFields, checkedNiftiGeometry, checkNiftiDimensions, checkNiftiLength,
  formatSize, niftiDecodedBytes
} from './read-nifti'
import { decodeNiftiVoxels } from './nifti-voxels'
import { itkGrid, toVoxelArray, type ItkImage } from './itk-image'
import { checkPlausibleGeometry } from './plausible'
import { parseTextHeader } from './text-header'
import { readInWorker } from './read-in-worker'

export interface ReadOptions {
  /** Most bytes the decoded voxels may take; default 60% of the machine's memory. */
  maxBytes?: number
  /** Fixed decoding deadline (ms) instead of the one scaled with the file's size (read-in-worker.ts). */
  deadlineMs?: number
}

export const SUPPORTED_EXTENSIONS = ['.nii', '.nii.gz', '.nrrd', '.nhdr', '.mha', '.mhd'] as const

/** Default memory limit for decoded voxels: 60% of os.totalmem(), in bytes. */
export function defaultMaxBytes(): number {
  return Math.floor(os.totalmem() * 0.6)
}

/** The format a path's extension names (case-insensitive), or null when it is not one we read. */
export function formatOfPath(path: string): VolumeSource['format'] | null {
  const p = path.toLowerCase()
  if (p.endsWith('.nii') || p.endsWith('.nii.gz')) return 'nifti'
  if (p.endsWith('.nrrd') || p.endsWith('.nhdr')) return 'nrrd'
  if (p.endsWith('.mha') || p.endsWith('.mhd')) return 'metaimage'
  return null
}

const BYTES_PER_COMPONENT: Record<string, number> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8, uint64: 8, int64: 8
}

/**
 * Reads one 3D volume, safely: the path must name a regular file we may read (FIFOs, devices and
 * sockets are refused before anything opens them), and all decoding runs in a worker thread with a
 * deadline (`read-in-worker.ts`), so a file that makes a decoder hang costs this one request.
 * Throws SegError: FILE_NOT_FOUND, NOT_AN_IMAGE, BAD_ARGUMENT (special or unreadable file),
 * CORRUPT_FILE (also: implausible geometry, decoding past the deadline), BAD_DIMENSION,
 * UNSUPPORTED (vector/RGB/complex voxels), TOO_LARGE, NON_FINITE_VOXELS.
 * @param path file path (relative paths resolve against the working directory).
 */
export async function readVolume(path: string, opts: ReadOptions = {}): Promise<Volume> {
  const abs = resolve(path)
  const info = await stat(abs).catch(() => null)
  if (info !== null && (info.isDirectory() || formatOfPath(abs) === null)) throw notSupported(basename(abs))
  const file = await checkRegularFile(abs, 'an image file') // missing, unreadable, FIFO, device, socket
  return readInWorker(abs, { maxBytes: opts.maxBytes ?? defaultMaxBytes(), fileBytes: file.size, deadlineMs: opts.deadlineMs })
}

function notSupported(name: string): SegError {
  return new SegError('NOT_AN_IMAGE', `${name} is not a supported image file; expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`)
}

/**
 * The reader itself, on the calling thread (the reader worker runs it; everything else calls
 * `readVolume`). Header checks first, then decoding; `onPlan` hears how many bytes the decoded
 * voxels will take before decoding starts (the worker's deadline grows with it).
 */
export async function readVolumeHere(abs: string, maxBytes: number, onPlan: (decodedBytes: number) => void = () => {}): Promise<Volume> {
  const name = basename(abs)
  const format = formatOfPath(abs)
  if (format === null || format === 'other') throw notSupported(name)
  if (format === 'nifti') {
    const header = await checkNiftiFile(abs, maxBytes)
    onPlan(niftiDecodedBytes(header))
    return readNifti(abs, header)
  }
  onPlan(await checkOtherFile(abs, format, maxBytes))
  const image = await decodeWithItk(abs, FORMAT_NAMES[format])
  const { data, notes } = scalarVoxels(name, image)
  const grid = itkGrid(image)
  checkPlausibleGeometry(name, grid, 'header')
  checkVoxelCount(name, data, grid)
  checkFinite(name, data)
  return { ...grid, data, source: { path: abs, format, storedType: image.imageType.componentType, notes } }
}

/**
 * NIfTI-1 and NIfTI-2: voxels by our decoder (nifti-voxels.ts), geometry by our policy, a NIfTI-1
 * header kept for export. No NIfTI header reaches itk-wasm: it cannot read NIfTI-2, silently turns
 * NaN voxels into 0, refuses some sheared sforms, and a crafted sform made it spin forever.
 */
async function readNifti(abs: string, header: NiftiHeader): Promise<Volume> {
  const name = basename(abs)
  const decoded = await decodeNiftiVoxels(abs, header)
  if (decoded === null) throw new SegError('CORRUPT_FILE', `${name} is truncated: it ends inside its voxels; expected a complete file`)
  const notes = decoded.converted64 ? [`${niftiTypeName(header)} voxels converted to float64 (exact up to 2^53)`] : []
  const grid = niftiGrid(name, header, notes)
  checkFinite(name, decoded.data)
  const niftiHeader = header.version === 1 ? header.raw : undefined
  return { ...grid, data: decoded.data, source: { path: abs, format: 'nifti', storedType: niftiTypeName(header), niftiHeader, notes } }
}

/** The checked geometry of a NIfTI header as a Grid; its notes are appended to `notes`. */
function niftiGrid(name: string, header: NiftiHeader, notes: string[]): Grid {
  const { geometry, notes: geometryNotes } = checkedNiftiGeometry(name, header)
  notes.push(...geometryNotes)
  if (!header.littleEndian) notes.push('big-endian NIfTI file')
  if (header.version === 2) notes.push('NIfTI-2 file')
  return { size: [header.dim[1], header.dim[2], header.dim[3]], spacing: geometry.spacing, origin: geometry.origin, direction: geometry.direction }
}

/** itk-wasm's decoding; its failures become CORRUPT_FILE without quoting what it printed (file contents). */
async function decodeWithItk(abs: string, formatName: string, informationOnly = false): Promise<ItkImage> {
  try {
    return await readImageNode(abs, { informationOnly })
  } catch {
    throw new SegError('CORRUPT_FILE', `${basename(abs)} could not be decoded; expected a complete, readable ${formatName} file`)
  }
}

/** The voxels of a decoded image, refused unless scalar and 3D (a 4th axis of size 1 is fine). */
function scalarVoxels(name: string, image: ItkImage): { data: VoxelArray; notes: string[] } {
  if (image.imageType.components !== 1) {
    throw new SegError('UNSUPPORTED', `${name} has ${image.imageType.components} components per voxel; expected a scalar volume`)
  }
  checkItkDimension(name, image)
  const { data, converted64 } = toVoxelArray(image.data)
  return { data, notes: converted64 ? [`${image.imageType.componentType} voxels converted to float64 (exact up to 2^53)`] : [] }
}

/** Refuses (BAD_DIMENSION) an itk-wasm image that is not one 3D volume. */
function checkItkDimension(name: string, image: Pick<ItkImage, 'imageType' | 'size'>): void {
  if (image.imageType.dimension < 3 || image.size.slice(3).some((s) => s > 1)) {
    throw new SegError('BAD_DIMENSION', `${name} is ${image.imageType.dimension}D (${formatSize(image.size)}); expected a single 3D volume`)
  }
}

function checkVoxelCount(name: string, data: VoxelArray, grid: Grid): void {
  if (data.length !== grid.size[0] * grid.size[1] * grid.size[2]) {
    throw new SegError(
      'CORRUPT_FILE',
      `${name} decoded to ${data.length} voxels but its header describes ${formatSize(grid.size)}; expected a consistent file`
    )
  }
}

/** Header-only checks of a NIfTI-1 or NIfTI-2 file; returns the parsed header. */
async function checkNiftiFile(abs: string, maxBytes: number): Promise<NiftiHeader> {
  const name = basename(abs)
  const head = await readHeadBytes(abs, NIFTI2_HEADER_BYTES)
  const header = parseNiftiHeader(head)
  if (header === null) {
    if (niftiVersion(head) !== null) {
      throw new SegError('CORRUPT_FILE', `${name} ends inside its NIfTI header (${head.length} bytes); expected a complete file`)
    }
    throw new SegError('NOT_AN_IMAGE', `${name} is not a NIfTI file (no NIfTI-1 or NIfTI-2 header); expected a .nii or .nii.gz image`)
  }
  checkNiftiDimensions(name, header)
  checkNiftiDatatype(name, header)
  checkNiftiFields(name, header)
  checkedNiftiGeometry(name, header)
  checkMemory(name, niftiDecodedBytes(header), maxBytes)
  await checkNiftiLength(abs, header)
  return header
}

/** True when the first bytes look like the named text format (NRRD magic, MetaImage keys). */
export function looksLike(format: 'nrrd' | 'metaimage', head: Uint8Array): boolean {
  const text = Buffer.from(head).toString('latin1')
  return format === 'nrrd' ? text.startsWith('NRRD0') : /^\s*(ObjectType|NDims|DimSize|ElementType)\s*=/m.test(text)
}

/**
 * Header-only checks of NRRD / MetaImage (format sniffing, our look at the text header, then
 * itk-wasm's informationOnly read and its geometry).
 * @returns the bytes the decoded voxels will take.
 */
async function checkOtherFile(abs: string, format: 'nrrd' | 'metaimage', maxBytes: number): Promise<number> {
  const name = basename(abs)
  const head = await readHeadBytes(abs, 16384)
  if (!looksLike(format, head)) {
    throw new SegError('NOT_AN_IMAGE', `${name} is not a ${FORMAT_NAMES[format]} file (its header is missing); expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`)
  }
  const text = parseTextHeader(format, Buffer.from(head).toString('latin1'))
  if (text !== null) checkMemory(name, text.sizes.reduce((a, b) => a * b, 1) * text.voxelBytes, maxBytes)
  const info = await decodeWithItk(abs, FORMAT_NAMES[format], true)
  checkItkDimension(name, info)
  checkPlausibleGeometry(name, itkGrid(info), 'header')
  const { components, componentType } = info.imageType
  const bytes = info.size.reduce((a, b) => a * b, 1) * components * (BYTES_PER_COMPONENT[componentType] ?? 8)
  checkMemory(name, bytes, maxBytes)
  return bytes
}

const FORMAT_NAMES: Record<VolumeSource['format'], string> = { nifti: 'NIfTI', nrrd: 'NRRD', metaimage: 'MetaImage', other: 'image' }

/** Refuses (NON_FINITE_VOXELS) float data holding NaN or ±Inf. */
export function checkFinite(name: string, data: VoxelArray): void {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return
  let bad = 0
  for (let k = 0; k < data.length; k++) {
    const x = data[k]
    if (x - x !== 0) bad++ // NaN and ±Inf, without a call per voxel
  }
  if (bad > 0) throw nonFinite(name, bad)
}

function nonFinite(name: string, bad: number): SegError {
  return new SegError('NON_FINITE_VOXELS', `${name} has ${bad} NaN/Inf voxels; expected finite intensities`)
}
