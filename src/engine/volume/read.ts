/**
 * readVolume: one 3D scalar volume from NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage
 * (.mha, .mhd), with its geometry, refusing with a SegError whatever we cannot trust.
 *
 * Voxels are decoded by itk-wasm (`readImageNode`, which applies NIfTI scl_slope/scl_inter and
 * handles both byte orders). For NIfTI-1 we also parse the header ourselves: the geometry follows
 * our policy (sform wins, see affine.ts `niftiGeometry`) and the raw header is kept for export.
 */
import os from 'node:os'
import { basename, resolve } from 'node:path'
import { stat } from 'node:fs/promises'
import { readImageNode } from '@itk-wasm/image-io'
import { SegError } from '../errors'
import type { Volume, VolumeSource, VoxelArray } from './volume'
import { NIFTI1_HEADER_BYTES, niftiByteOrder, niftiTypeName, parseNiftiHeader, readHeadBytes, type NiftiHeader } from './nifti-header'
import {
  checkMemory, checkNiftiDatatype, countNonFiniteNifti, checkNiftiDimensions, checkNiftiLength, formatSize, niftiDecodedBytes,
  niftiGeometryWithNotes
} from './read-nifti'
import { itkGrid, toVoxelArray, type ItkImage } from './itk-image'
import { parseTextHeader } from './text-header'

export interface ReadOptions {
  /** Most bytes the decoded voxels may take; default 60% of the machine's memory. */
  maxBytes?: number
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
 * Reads one 3D volume. Throws SegError: FILE_NOT_FOUND, NOT_AN_IMAGE, CORRUPT_FILE, BAD_DIMENSION,
 * UNSUPPORTED (vector/RGB/complex voxels), TOO_LARGE, NON_FINITE_VOXELS.
 * @param path file path (relative paths resolve against the working directory).
 */
export async function readVolume(path: string, opts: ReadOptions = {}): Promise<Volume> {
  const abs = resolve(path)
  const name = basename(abs)
  const maxBytes = opts.maxBytes ?? defaultMaxBytes()
  const info = await stat(abs).catch(() => null)
  if (info === null) throw new SegError('FILE_NOT_FOUND', `${abs} does not exist; expected an image file`)
  const format = formatOfPath(abs)
  if (info.isDirectory() || format === null) {
    throw new SegError(
      'NOT_AN_IMAGE',
      `${name} is not a supported image file; expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`
    )
  }
  const notes: string[] = []
  let header: NiftiHeader | null = null
  if (format === 'nifti') header = await checkNiftiFile(abs, maxBytes)
  else await checkOtherFile(abs, format, maxBytes)

  let image: ItkImage
  try {
    image = await readImageNode(abs)
  } catch (e) {
    throw new SegError('CORRUPT_FILE', `${name} could not be decoded (${errorText(e)}); expected a readable image file`)
  }
  if (image.imageType.components !== 1) {
    throw new SegError('UNSUPPORTED', `${name} has ${image.imageType.components} components per voxel; expected a scalar volume`)
  }
  if (image.imageType.dimension < 3 && header === null) {
    throw new SegError('BAD_DIMENSION', `${name} is ${image.imageType.dimension}D (${formatSize(image.size)}); expected a 3D volume`)
  }
  if (image.size.slice(3).some((s) => s > 1)) {
    throw new SegError('BAD_DIMENSION', `${name} is ${image.size.length}D (${formatSize(image.size)}); expected a single 3D volume`)
  }
  const { data, converted64 } = toVoxelArray(image.data)
  if (converted64) notes.push(`${image.imageType.componentType} voxels converted to float64 (exact up to 2^53)`)

  let grid = itkGrid(image, header?.pixdim[3] ?? 1)
  let storedType: string = image.imageType.componentType
  let niftiHeader: Uint8Array | undefined
  if (header !== null) {
    const { geometry, notes: geometryNotes } = niftiGeometryWithNotes(header)
    grid = { size: [header.dim[1], header.dim[2], header.dim[3]], spacing: geometry.spacing, origin: geometry.origin, direction: geometry.direction }
    notes.push(...geometryNotes)
    storedType = niftiTypeName(header)
    niftiHeader = header.raw
    if (!header.littleEndian) notes.push('big-endian NIfTI file')
  }
  if (data.length !== grid.size[0] * grid.size[1] * grid.size[2]) {
    throw new SegError(
      'CORRUPT_FILE',
      `${name} decoded to ${data.length} voxels but its header describes ${formatSize(grid.size)}; expected a consistent file`
    )
  }
  checkFinite(name, data)
  if (header !== null) {
    const bad = await countNonFiniteNifti(abs, header)
    if (bad > 0) throw nonFinite(name, bad)
  }
  return { ...grid, data, source: { path: abs, format, storedType, niftiHeader, notes } }
}

/** Header-only checks of a NIfTI file; returns the parsed NIfTI-1 header (null for NIfTI-2). */
async function checkNiftiFile(abs: string, maxBytes: number): Promise<NiftiHeader | null> {
  const name = basename(abs)
  const head = await readHeadBytes(abs, NIFTI1_HEADER_BYTES)
  const header = parseNiftiHeader(head)
  if (header === null) {
    if (niftiByteOrder(head) !== null) {
      throw new SegError('CORRUPT_FILE', `${name} ends inside its NIfTI header (${head.length} bytes); expected a complete file`)
    }
    if (looksLike('nifti', head)) {
      await checkOtherFile(abs, 'nifti', maxBytes) // NIfTI-2: geometry as ITK reads it
      return null
    }
    throw new SegError('NOT_AN_IMAGE', `${name} is not a NIfTI file (no NIfTI-1 header); expected a .nii or .nii.gz image`)
  }
  checkNiftiDimensions(name, header)
  checkNiftiDatatype(name, header)
  checkMemory(name, niftiDecodedBytes(header), maxBytes)
  await checkNiftiLength(abs, header)
  return header
}

/** True when the first bytes look like the named format (NRRD magic, MetaImage keys, NIfTI-2 size). */
export function looksLike(format: VolumeSource['format'], head: Uint8Array): boolean {
  const text = Buffer.from(head).toString('latin1')
  if (format === 'nrrd') return text.startsWith('NRRD0')
  if (format === 'metaimage') return /^\s*(ObjectType|NDims|DimSize|ElementType)\s*=/m.test(text)
  if (format === 'nifti') {
    const v = head.length >= 4 ? new DataView(head.buffer, head.byteOffset, 4) : null
    return v !== null && (v.getInt32(0, true) === 540 || v.getInt32(0, false) === 540)
  }
  return false
}

/** Header-only checks of NRRD / MetaImage / NIfTI-2 (format sniffing, then itk-wasm's informationOnly read). */
async function checkOtherFile(abs: string, format: VolumeSource['format'], maxBytes: number): Promise<void> {
  const name = basename(abs)
  const head = await readHeadBytes(abs, 16384)
  if (!looksLike(format, head)) {
    throw new SegError('NOT_AN_IMAGE', `${name} is not a ${FORMAT_NAMES[format]} file (its header is missing); expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`)
  }
  if (format === 'nrrd' || format === 'metaimage') {
    const text = parseTextHeader(format, Buffer.from(head).toString('latin1'))
    if (text !== null) checkMemory(name, text.sizes.reduce((a, b) => a * b, 1) * text.voxelBytes, maxBytes)
  }
  let info: ItkImage
  try {
    info = await readImageNode(abs, { informationOnly: true })
  } catch (e) {
    throw new SegError('CORRUPT_FILE', `${name} could not be decoded (${errorText(e)}); expected a complete, readable ${FORMAT_NAMES[format]} file`)
  }
  const { dimension, components, componentType } = info.imageType
  if (dimension < 3 || info.size.slice(3).some((s) => s > 1)) {
    throw new SegError('BAD_DIMENSION', `${name} is ${dimension}D (${formatSize(info.size)}); expected a single 3D volume`)
  }
  const voxels = info.size.reduce((a, b) => a * b, 1)
  checkMemory(name, voxels * components * (BYTES_PER_COMPONENT[componentType] ?? 8), maxBytes)
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

/** A short reason from whatever itk-wasm threw (it sometimes throws a bare wasm pointer number). */
function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : ''
  const line = text.split('\n')[0].trim().slice(0, 200)
  return line === '' || /^\d+$/.test(line) ? 'itk-wasm could not decode it' : line
}
