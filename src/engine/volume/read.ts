/**
 * readVolume: one 3D scalar volume from NIfTI (.nii, .nii.gz, .hdr/.img pairs), Analyze 7.5
 * (.hdr/.img), FreeSurfer MGH (.mgh, .mgz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd), with its
 * geometry, refusing with a SegError whatever we cannot trust. One volume of a 4D file when chosen.
 *
 * NIfTI (1 and 2) and Analyze are read by us: header (`nifti-header.ts`, every number checked),
 * voxels (`nifti-voxels.ts`: byte order, scl_slope/scl_inter), geometry by our policy (sform wins,
 * see affine.ts `niftiGeometry`; Analyze: `analyze.ts`); a NIfTI-1 header is kept for export. MGH,
 * NRRD and MetaImage are decoded by itk-wasm (`readImageNode`). Every geometry must be plausible
 * (`plausible.ts`). NaN/Inf voxels are "no data" (`no-data.ts`).
 */
import os from 'node:os'
import { basename, dirname, resolve } from 'node:path'
import { stat } from 'node:fs/promises'
import { readImageNode } from '@itk-wasm/image-io'
import { SegError } from '../errors'
import { checkRegularFile } from '../fs/regular-file'
import type { Grid, Volume, VolumeSource, VoxelArray } from './volume'
import { NIFTI2_HEADER_BYTES, isGzipFile, niftiTypeName, niftiVersion, parseNiftiHeader, readHeadBytes, type NiftiHeader } from './nifti-header'
import {
  checkContentLength, checkMemory, checkNiftiDatatype, checkNiftiFields, checkedNiftiGeometry, checkNiftiDimensions, checkNiftiLength,
  formatSize, niftiDecodedBytes, niftiVolumeCount, readNiftiVolumeBytes
} from './read-nifti'
import { decodeNiftiVoxels } from './nifti-voxels'
import { itkGrid, toVoxelArray, type ItkImage } from './itk-image'
import { affineToGeometry } from './affine'
import { fillNoData, noDataNote } from './no-data'
import { chosenVolume } from './volume-choice'
import { analyzeAsNifti, analyzeNotes, isAnalyze, pairPaths, spmMatPath, spmOrientation } from './analyze'
import { checkPlausibleGeometry } from './plausible'
import { parseTextHeader } from './text-header'
import { readInWorker } from './read-in-worker'

export interface ReadOptions {
  /** Most bytes the decoded voxels may take; default 60% of the machine's memory. */
  maxBytes?: number
  /** Fixed decoding deadline (ms) instead of the one scaled with the file's size (read-in-worker.ts). */
  deadlineMs?: number
  /** Which volume (0-based) of a 4D file to read; a file with several volumes is refused without it. */
  volume?: number
}

export const SUPPORTED_EXTENSIONS = ['.nii', '.nii.gz', '.hdr', '.img', '.mgz', '.mgh', '.nrrd', '.nhdr', '.mha', '.mhd'] as const

/** Default memory limit for decoded voxels: 60% of os.totalmem(), in bytes. */
export function defaultMaxBytes(): number {
  return Math.floor(os.totalmem() * 0.6)
}

/** The format a path's extension names (case-insensitive), or null when it is not one we read. */
export function formatOfPath(path: string): VolumeSource['format'] | null {
  const p = path.toLowerCase()
  if (p.endsWith('.nii') || p.endsWith('.nii.gz') || p.endsWith('.hdr') || p.endsWith('.img')) return 'nifti' // a pair may be Analyze: the header decides
  if (p.endsWith('.mgz') || p.endsWith('.mgh')) return 'mgh'
  if (p.endsWith('.nrrd') || p.endsWith('.nhdr')) return 'nrrd'
  if (p.endsWith('.mha') || p.endsWith('.mhd')) return 'metaimage'
  return null
}

/** Bytes per component of each itk-wasm component type (unknown types count 8, the largest). */
export const BYTES_PER_COMPONENT: Record<string, number> = {
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
  return readInWorker(abs, { maxBytes: opts.maxBytes ?? defaultMaxBytes(), fileBytes: file.size, deadlineMs: opts.deadlineMs, volume: opts.volume })
}

function notSupported(name: string): SegError {
  return new SegError('NOT_AN_IMAGE', `${name} is not a supported image file; expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`)
}

/**
 * The reader itself, on the calling thread (the reader worker runs it; everything else calls
 * `readVolume`). Header checks first, then decoding; `onPlan` hears how many bytes the decoded
 * voxels will take before decoding starts (the worker's deadline grows with it).
 */
export async function readVolumeHere(
  abs: string,
  maxBytes: number,
  onPlan: (decodedBytes: number) => void = () => {},
  volume?: number
): Promise<Volume> {
  const name = basename(abs)
  const format = formatOfPath(abs)
  if (format === null || format === 'other' || format === 'analyze') throw notSupported(name)
  if (format === 'nifti') {
    const file = await checkNiftiFile(abs, maxBytes)
    const index = chosenVolume(name, niftiVolumeCount(file.header), volume)
    onPlan(niftiDecodedBytes(file.header))
    return readNifti(abs, file, index)
  }
  onPlan(await checkOtherFile(abs, format, maxBytes))
  const image = await decodeWithItk(abs, FORMAT_NAMES[format])
  const { data, notes, index, count } = scalarVoxels(name, image, format, volume)
  const grid = orthonormalGrid(name, itkGrid(image), notes)
  checkVoxelCount(name, data, grid)
  const files = [abs, ...(await detachedDataFiles(abs, format))]
  return withNoData(name, { ...grid, data, source: { path: abs, files, format, storedType: image.imageType.componentType, notes, ...volumeOf(index, count) } })
}

/** source.volume for a 4D file's volume; nothing for a 3D file. */
function volumeOf(index: number, count: number): Pick<VolumeSource, 'volume'> {
  return count > 1 ? { volume: { index, count } } : {}
}

/** The volume with its NaN/Inf voxels filled as "no data" (`no-data.ts`), noted and masked. */
function withNoData(name: string, v: Volume & { source: VolumeSource }): Volume {
  const noData = fillNoData(name, v.data)
  if (noData === null) return v
  return { ...v, source: { ...v.source, noData: noData.mask, notes: [...v.source.notes, noDataNote(noData, v.data.length)] } }
}

/**
 * itk-wasm's grid, checked plausible, with non-unit or non-orthogonal direction columns (an MGH
 * file's Mdc may be anything) made orthonormal as NIfTI's are (`affineToGeometry`: spacing = column
 * norms, direction = nearest rotation), with a note when that moved something.
 */
function orthonormalGrid(name: string, grid: Grid, notes: string[]): Grid {
  const linear = grid.direction.map((d, i) => d * grid.spacing[i % 3])
  checkPlausibleGeometry(name, grid, 'header', linear)
  const g = affineToGeometry({ linear, translation: grid.origin })
  const moved = Math.max(...g.direction.map((d, i) => Math.abs(d - grid.direction[i])), ...g.spacing.map((s, i) => Math.abs(s - grid.spacing[i])))
  if (!(moved > 1e-6)) return grid // orthonormal already: kept bit for bit
  const orthonormal: Grid = { size: grid.size, spacing: g.spacing, origin: grid.origin, direction: g.direction }
  // The axis lengths become the spacing: a direction column of length 3.4e10 is a spacing of 3.4e10 mm.
  checkPlausibleGeometry(name, orthonormal, 'header')
  notes.push('the header\'s axes are not orthonormal; spacing = axis lengths and the nearest rotation were used')
  return orthonormal
}

/**
 * NIfTI-1 and NIfTI-2: voxels by our decoder (nifti-voxels.ts), geometry by our policy, a NIfTI-1
 * header kept for export. No NIfTI header reaches itk-wasm: it cannot read NIfTI-2, silently turns
 * NaN voxels into 0, refuses some sheared sforms, and a crafted sform made it spin forever.
 */
async function readNifti(abs: string, file: NiftiFile, index: number): Promise<Volume> {
  const name = basename(abs)
  const { header, voxelPath, analyze } = file
  const bytes = await readNiftiVolumeBytes(voxelPath, header, index) // a .nii.gz: its one inflation, checks included
  if (bytes === null) throw new SegError('CORRUPT_FILE', `${name} is truncated: it ends inside its voxels; expected a complete file`)
  const decoded = decodeNiftiVoxels(bytes, header)
  const notes = decoded.converted64 ? [`${niftiTypeName(header)} voxels converted to float64 (exact up to 2^53)`] : []
  if (analyze) notes.push(...analyzeNotes(pairPaths(abs)!.header, file.spmMat))
  const grid = niftiGrid(name, header, notes, analyze ? 'Analyze' : 'NIfTI')
  // Analyze has no NIfTI header to copy: its mask is written from the grid.
  const niftiHeader = header.version === 1 && !analyze ? header.raw : undefined
  const pair = pairPaths(abs)
  const files = pair === null ? [abs] : [pair.header, pair.image, ...(file.spmMat ? [spmMatPath(pair.header)] : [])]
  const source: VolumeSource = {
    path: abs, files, format: analyze ? 'analyze' : 'nifti', storedType: niftiTypeName(header), niftiHeader, notes, ...volumeOf(index, niftiVolumeCount(header))
  }
  return withNoData(name, { ...grid, data: decoded.data, source })
}

/** The checked geometry of a NIfTI header as a Grid; its notes are appended to `notes`. */
function niftiGrid(name: string, header: NiftiHeader, notes: string[], kind: 'NIfTI' | 'Analyze'): Grid {
  const { geometry, notes: geometryNotes } = checkedNiftiGeometry(name, header)
  notes.push(...geometryNotes)
  if (!header.littleEndian) notes.push(`big-endian ${kind} file`)
  if (header.version === 2) notes.push('NIfTI-2 file')
  const count = niftiVolumeCount(header)
  if (count > 1) notes.push(`one volume of ${count} (4D, ${formatSize(header.dim.slice(1, header.dim[0] + 1))})`)
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

/**
 * The voxels of the chosen volume of a decoded image, refused unless scalar and 3D. A 4th axis
 * counts volumes (stored one after another); itk-wasm hands an MGH file's frames as interleaved
 * components instead.
 */
function scalarVoxels(
  name: string,
  image: ItkImage,
  format: VolumeSource['format'],
  volume: number | undefined
): { data: VoxelArray; notes: string[]; index: number; count: number } {
  const count = itkVolumeCount(name, image, format)
  const index = chosenVolume(name, count, volume)
  const { data: all, converted64 } = toVoxelArray(image.data)
  const notes = converted64 ? [`${image.imageType.componentType} voxels converted to float64 (exact up to 2^53)`] : []
  if (count > 1) notes.push(`one volume of ${count} (4D, ${formatSize([...image.size.slice(0, 3), count])})`)
  const n = image.size[0] * image.size[1] * (image.size[2] ?? 1)
  if (count === 1) return { data: all, notes, index, count }
  const data = new (all.constructor as new (n: number) => VoxelArray)(n)
  if (image.imageType.components > 1) for (let k = 0; k < n; k++) data[k] = all[k * count + index]
  else data.set(all.subarray(index * n, (index + 1) * n))
  return { data, notes, index, count }
}

/**
 * Volumes in an itk-wasm image: the product of the sizes beyond the 3rd axis, or an MGH file's
 * frames (components). Refuses (BAD_DIMENSION) fewer than 3 axes, (UNSUPPORTED) vector voxels.
 */
function itkVolumeCount(name: string, image: Pick<ItkImage, 'imageType' | 'size'>, format: VolumeSource['format']): number {
  if (image.imageType.dimension < 3) {
    throw new SegError('BAD_DIMENSION', `${name} is ${image.imageType.dimension}D (${formatSize(image.size)}); expected a 3D volume`)
  }
  const components = image.imageType.components
  if (components !== 1 && format !== 'mgh') {
    throw new SegError('UNSUPPORTED', `${name} has ${components} components per voxel; expected a scalar volume`)
  }
  return image.size.slice(3).reduce((a, b) => a * b, 1) * components
}

function checkVoxelCount(name: string, data: VoxelArray, grid: Grid): void {
  if (data.length !== grid.size[0] * grid.size[1] * grid.size[2]) {
    throw new SegError(
      'CORRUPT_FILE',
      `${name} decoded to ${data.length} voxels but its header describes ${formatSize(grid.size)}; expected a consistent file`
    )
  }
}

/** A NIfTI header checked, the file its voxels are in (the .img of a pair) and whether it is Analyze 7.5. */
interface NiftiFile {
  header: NiftiHeader
  voxelPath: string
  analyze: boolean
  /** Analyze placed by SPM's .mat file beside it. */
  spmMat: boolean
}

/**
 * Header-only checks of a NIfTI-1 or NIfTI-2 file or an .hdr/.img pair (NIfTI or Analyze 7.5). A
 * plain file's length is checked from its size; a gzip file's by the one pass that reads its
 * voxels (`readNiftiVolumeBytes`), not here: inflating it here too would inflate it twice.
 */
async function checkNiftiFile(abs: string, maxBytes: number): Promise<NiftiFile> {
  const name = basename(abs)
  const pair = pairPaths(abs)
  if (pair !== null) await checkRegularFile(pair.header, 'the .hdr of an .hdr/.img pair')
  if (pair !== null) await checkRegularFile(pair.image, 'the .img of an .hdr/.img pair')
  const head = await readHeadBytes(pair?.header ?? abs, NIFTI2_HEADER_BYTES)
  const parsed = parseNiftiHeader(head)
  const analyze = pair !== null && parsed !== null && isAnalyze(parsed)
  const spm = analyze ? await spmOrientation(pair.header) : null
  const header = analyze ? analyzeAsNifti(parsed!, head, spm) : parsed
  if (header === null) {
    if (niftiVersion(head) !== null) {
      throw new SegError('CORRUPT_FILE', `${name} ends inside its NIfTI header (${head.length} bytes); expected a complete file`)
    }
    throw new SegError('NOT_AN_IMAGE', `${name} is not a NIfTI file (no NIfTI-1 or NIfTI-2 header); expected a .nii or .nii.gz image`)
  }
  checkNiftiDimensions(name, header)
  checkNiftiDatatype(name, header)
  checkNiftiFields(name, header, pair !== null)
  checkedNiftiGeometry(name, header)
  checkMemory(name, niftiDecodedBytes(header), maxBytes)
  const voxelPath = pair?.image ?? abs
  if (!(await isGzipFile(voxelPath))) await checkNiftiLength(voxelPath, header)
  return { header, voxelPath, analyze, spmMat: spm !== null }
}

/** True when the first bytes look like the named format (NRRD magic, MetaImage keys, MGH version 1). */
export function looksLike(format: 'nrrd' | 'metaimage' | 'mgh', head: Uint8Array): boolean {
  if (format === 'mgh') return mghHeaderSizes(head) !== null
  const text = Buffer.from(head).toString('latin1')
  return format === 'nrrd' ? text.startsWith('NRRD0') : /^\s*(ObjectType|NDims|DimSize|ElementType)\s*=/m.test(text)
}

/** The MGH header before the voxels (FreeSurfer's mghread: 284 bytes). */
const MGH_HEADER_BYTES = 284

/** MGH voxel type code → bytes (FreeSurfer's mghread: 0 uchar, 1 int32, 3 float32, 4 short). */
const MGH_TYPE_BYTES: Record<number, number> = { 0: 1, 1: 4, 3: 4, 4: 2 }

/**
 * Sizes and voxel bytes from an MGH header (big-endian int32: version 1, width, height, depth,
 * frames, type), or null when the bytes are not one (too short, another version, a size < 1).
 */
export function mghHeaderSizes(head: Uint8Array): { sizes: number[]; voxelBytes: number } | null {
  if (head.length < 24) return null
  const v = new DataView(head.buffer, head.byteOffset, 24)
  const [version, ...sizes] = [0, 1, 2, 3, 4].map((k) => v.getInt32(4 * k, false))
  const voxelBytes = MGH_TYPE_BYTES[v.getInt32(20, false)]
  if (version !== 1 || voxelBytes === undefined || sizes.some((x) => x < 1)) return null
  return { sizes, voxelBytes }
}

/**
 * The data file a detached NRRD (`data file:`) or MetaImage (`ElementDataFile =`) header names,
 * resolved beside the header; none for attached data, lists and patterns (whose files we do not name).
 */
async function detachedDataFiles(abs: string, format: 'nrrd' | 'metaimage' | 'mgh'): Promise<string[]> {
  if (format === 'mgh') return []
  const text = Buffer.from(await readHeadBytes(abs, 16384)).toString('latin1')
  const re = format === 'nrrd' ? /^\s*data ?file\s*:\s*(.+)$/im : /^\s*ElementDataFile\s*=\s*(.+)$/im
  const named = re.exec(text)?.[1].trim()
  if (named === undefined || named === 'LOCAL' || /^(LIST|list)\b|%/.test(named) || named.includes(' ')) return []
  return [resolve(dirname(abs), named)]
}

/**
 * Header-only checks of NRRD / MetaImage (format sniffing, our look at the text header, then
 * itk-wasm's informationOnly read and its geometry).
 * @returns the bytes the decoded voxels will take.
 */
async function checkOtherFile(abs: string, format: 'nrrd' | 'metaimage' | 'mgh', maxBytes: number): Promise<number> {
  const name = basename(abs)
  const head = await readHeadBytes(abs, 16384)
  if (!looksLike(format, head)) {
    throw new SegError('NOT_AN_IMAGE', `${name} is not a ${FORMAT_NAMES[format]} file (its header is missing); expected one of ${SUPPORTED_EXTENSIONS.join(', ')}`)
  }
  const text = format === 'mgh' ? mghHeaderSizes(head) : parseTextHeader(format, Buffer.from(head).toString('latin1'))
  if (text !== null) checkMemory(name, text.sizes.reduce((a, b) => a * b, 1) * text.voxelBytes, maxBytes)
  if (format === 'mgh') await checkContentLength(abs, MGH_HEADER_BYTES + text!.sizes.reduce((a, b) => a * b, 1) * text!.voxelBytes)
  const info = await decodeWithItk(abs, FORMAT_NAMES[format], true)
  itkVolumeCount(name, info, format)
  checkPlausibleGeometry(name, itkGrid(info), 'header')
  const { components, componentType } = info.imageType
  const bytes = info.size.reduce((a, b) => a * b, 1) * components * (BYTES_PER_COMPONENT[componentType] ?? 8)
  checkMemory(name, bytes, maxBytes)
  return bytes
}

const FORMAT_NAMES: Record<VolumeSource['format'], string> = {
  nifti: 'NIfTI', analyze: 'Analyze 7.5', mgh: 'FreeSurfer MGH', nrrd: 'NRRD', metaimage: 'MetaImage', other: 'image'
}
