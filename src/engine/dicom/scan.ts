/**
 * scanDicom: a folder (recursively), a list of files or a DICOMDIR → the series in it.
 *
 * Headers are parsed with dicom-parser (cornerstone's; it indexes a file without decoding pixels,
 * ~1 ms a file, where itk-wasm's readDicomTagsNode takes ~200 ms a call). Pixels are decoded
 * later by GDCM (read-series.ts). Files that are not DICOM, truncated or in a transfer syntax we
 * cannot decode are skipped and counted, never fatal. Patient names and IDs are kept for display
 * only: no message or note built here contains them.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import dicomParser from 'dicom-parser'
import { SegError } from '../errors'
import type { Vec3 } from '../volume/volume'
import { transferSyntaxProblem } from './transfer-syntax'
import { mapLimited } from '../fs/map-limited'

/** What a scan can find in one file (the header facts geometry and listing need). */
export interface DicomFile {
  path: string
  sopClassUid: string
  sopInstanceUid: string
  seriesUid: string
  studyUid: string
  frameOfReferenceUid: string
  transferSyntaxUid: string
  modality: string
  rows: number
  columns: number
  frames: number
  /** (0020,0032) of a single-frame image, LPS mm; per frame for enhanced multi-frame files. */
  positions: Vec3[]
  /** (0020,0037): row direction then column direction, LPS. */
  orientation: number[] | null
  /** (0028,0030): [between rows, between columns] mm. */
  pixelSpacing: [number, number] | null
  sliceThickness: number | null
  /** How the pixels are stored, for the native decoder (pixels.ts); null without pixel data. */
  pixels: PixelLayout | null
  display: SeriesDisplay
}

/** Stored pixel layout and rescale of one file. */
export interface PixelLayout {
  bitsAllocated: number
  bitsStored: number
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number
  samplesPerPixel: number
  /** (0028,1053)/(0028,1052), 1 and 0 when absent. */
  slope: number
  intercept: number
  /** Byte offset and length of native (uncompressed) pixel data in the file; null when encapsulated. */
  offset: number | null
  length: number
}

/** What a person uses to pick a series (PHI included: for display only, never for messages). */
export interface SeriesDisplay {
  patientName: string
  patientId: string
  studyDescription: string
  seriesDescription: string
  seriesNumber: string
  date: string
}

export type SeriesKind = 'image' | 'SEG' | 'SR' | 'PR' | 'RTSTRUCT' | 'RT' | 'KO' | 'other non-image'

export interface DicomSeries {
  /** 1-based position in the listing (`--series N`). */
  number: number
  uid: string
  kind: SeriesKind
  modality: string
  display: SeriesDisplay
  files: DicomFile[]
  /** Images (files) and frames in all; columns × rows of the first image. */
  images: number
  frames: number
  dimensions: [number, number]
}

export interface DicomScan {
  series: DicomSeries[]
  /** Files skipped, by reason (one line each, e.g. "not DICOM: 1"). */
  skipped: Record<string, number>
  filesSeen: number
}

export interface ScanOptions {
  /** Most files a scan reads before refusing (a whole disk given by mistake). Default 100 000. */
  maxFiles?: number
}

const DEFAULT_MAX_FILES = 100_000
const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10'

/** The SOP classes that carry no image to open, by kind (prefix match on the UID). */
const NON_IMAGE_CLASSES: [string, SeriesKind][] = [
  ['1.2.840.10008.5.1.4.1.1.66.4', 'SEG'],
  ['1.2.840.10008.5.1.4.1.1.88.59', 'KO'],
  ['1.2.840.10008.5.1.4.1.1.88.', 'SR'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'PR'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'RTSTRUCT'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'RT']
]

/** The kind of object a SOP class UID names; 'image' when it has pixels and no other kind claims it. */
export function kindOfSopClass(sopClassUid: string, hasPixels: boolean): SeriesKind {
  for (const [prefix, kind] of NON_IMAGE_CLASSES) if (sopClassUid.startsWith(prefix)) return kind
  return hasPixels ? 'image' : 'other non-image'
}

/**
 * The files a DICOMDIR's records reference (ReferencedFileID, relative to its folder), those that
 * exist; [] when it cannot be parsed or lists none.
 */
export async function dicomdirFiles(path: string): Promise<string[]> {
  let ds: dicomParser.DataSet
  try {
    ds = dicomParser.parseDicom(await readFile(path), { inflater } as dicomParser.ParseDicomOptions)
  } catch {
    return []
  }
  const ids = (ds.elements.x00041220?.items ?? []).map((it) => it.dataSet?.string('x00041500')?.trim()).filter((id): id is string => !!id)
  const files = ids.map((id) => join(dirname(path), ...id.split('\\').filter((c) => c && c !== '..')))
  const found = await Promise.all(files.map((f) => stat(f).then((i) => i.isFile(), () => false)))
  return files.filter((_, i) => found[i])
}

/**
 * Every file under the given paths: folders are walked recursively (hidden entries skipped), a
 * DICOMDIR stands for the files its records reference (or, without usable records, its folder). Throws FILE_NOT_FOUND for a path that does not exist.
 */
export async function listFiles(paths: readonly string[], maxFiles = DEFAULT_MAX_FILES): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) out.push(p)
      if (out.length > maxFiles) throw new SegError('TOO_LARGE', `more than ${maxFiles} files under the given paths; expected one study or series folder`)
    }
  }
  for (const given of paths) {
    const abs = resolve(given)
    const info = await stat(abs).catch(() => null)
    if (info === null) throw new SegError('FILE_NOT_FOUND', `${abs} does not exist; expected a DICOM folder, file or DICOMDIR`)
    if (info.isDirectory()) await walk(abs)
    else if (basename(abs).toUpperCase() === 'DICOMDIR') {
      const listed = await dicomdirFiles(abs)
      if (listed.length > 0) out.push(...listed)
      else await walk(dirname(abs)) // an index without usable records: its folder still holds the files
    }
    else out.push(abs)
  }
  return [...new Set(out)]
}

/** Deflated explicit VR LE: dicom-parser asks for the dataset after `position` inflated (RFC 1951). */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position))
  const full = new Uint8Array(position + inflated.length)
  full.set(bytes.subarray(0, position))
  full.set(inflated, position)
  return full
}

const str = (ds: dicomParser.DataSet, tag: string): string => (ds.string(tag) ?? '').trim()

function numbers(ds: dicomParser.DataSet, tag: string): number[] | null {
  const s = ds.string(tag)
  if (!s) return null
  const xs = s.split('\\').map(Number)
  return xs.every(Number.isFinite) ? xs : null
}

/** The first item of a sequence (or null), for the functional groups of enhanced images. */
function firstItem(ds: dicomParser.DataSet | undefined, tag: string): dicomParser.DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet
}

/** Per-frame positions of an enhanced multi-frame image (PerFrameFunctionalGroupsSequence). */
function framePositions(ds: dicomParser.DataSet): Vec3[] {
  const items = ds.elements.x52009230?.items ?? []
  return items.map((it) => numbers(firstItem(it.dataSet, 'x00209113') ?? it.dataSet!, 'x00200032') as Vec3 | null).filter((p): p is Vec3 => p !== null && p.length === 3)
}

/** Orientation/spacing of an enhanced image: shared functional groups first, then the first frame's. */
function functionalGroup(ds: dicomParser.DataSet, seqTag: string, tag: string): number[] | null {
  for (const groups of ['x52009229', 'x52009230']) {
    const item = firstItem(firstItem(ds, groups), seqTag)
    const v = item ? numbers(item, tag) : null
    if (v) return v
  }
  return null
}

/** Bytes the native (uncompressed) pixel data must hold, to catch truncated files. */
function nativePixelBytes(ds: dicomParser.DataSet, frames: number): number {
  const bits = ds.uint16('x00280100') ?? 16
  const spp = ds.uint16('x00280002') ?? 1
  return Math.ceil(((ds.uint16('x00280010') ?? 0) * (ds.uint16('x00280011') ?? 0) * frames * spp * bits) / 8)
}

/**
 * Bytes read first, then again if the header did not fit: a typical slice's header fits in 16 KiB;
 * an enhanced multi-frame file's per-frame groups (~90 kB at 300 frames) in 1 MiB. The whole file
 * is read only beyond that (or for deflate and encapsulated pixels).
 */
const HEAD_STEPS = [16 * 1024, 1024 * 1024]
const UNDEFINED_LENGTH = 0xffffffff
const DEFLATED = '1.2.840.10008.1.2.1.99'

/** The first `bytes` of a file (fewer when it is shorter) and its size. */
async function readHead(path: string, bytes: number): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(Math.min(size, bytes))
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    return { head: head.subarray(0, bytesRead), size }
  } finally {
    await fh.close()
  }
}

/**
 * A file's dataset up to its pixel data. The head is parsed first; the whole file only when the
 * head does not hold the header, the dataset is deflated, or the pixels are encapsulated (their
 * fragments are walked, so a truncated compressed file is caught here too).
 * @returns the dataset, the bytes its offsets can address (file size, or the inflated length), and
 *   whether its pixel data is native (offsets into the file itself).
 */
async function parseHeader(path: string): Promise<{ ds: dicomParser.DataSet; available: number; native: boolean } | { skip: string }> {
  let head: Buffer = Buffer.alloc(0)
  let size = 0
  for (const step of HEAD_STEPS) {
    ;({ head, size } = await readHead(path, step))
    // Part 10 files carry "DICM" after a 128-byte preamble; anything else is not ours to read.
    if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') return { skip: 'not DICOM' }
    let ds: dicomParser.DataSet | null = null
    try {
      ds = dicomParser.parseDicom(head, { inflater, untilTag: 'x7fe00010' } as dicomParser.ParseDicomOptions)
    } catch {
      ds = null // header longer than the head, or a corrupt file: a longer head, then the whole file
    }
    const pixel = ds?.elements.x7fe00010
    const partial = head.length < size
    if (ds && str(ds, 'x00020010') !== DEFLATED && (pixel ? pixel.length !== UNDEFINED_LENGTH : !partial)) {
      return { ds, available: size, native: pixel !== undefined }
    }
    // Deflated or encapsulated (needs the whole file), or the whole file read already: no longer head helps.
    if (!partial || (ds && (str(ds, 'x00020010') === DEFLATED || pixel))) break
  }
  const partial = head.length < size
  try {
    const full = partial ? await readFile(path) : head
    const whole = dicomParser.parseDicom(full, { inflater } as dicomParser.ParseDicomOptions)
    return { ds: whole, available: whole.byteArray.length, native: whole.byteArray === full && !whole.elements.x7fe00010?.encapsulatedPixelData }
  } catch {
    return { skip: 'truncated or corrupt DICOM' }
  }
}

/**
 * One file's header facts, or the reason it is skipped (a short phrase without PHI).
 * @param path absolute file path.
 */
export async function indexFile(path: string): Promise<DicomFile | { skip: string } | null> {
  let read: { ds: dicomParser.DataSet; available: number; native: boolean } | { skip: string }
  try {
    read = await parseHeader(path)
  } catch {
    return { skip: 'unreadable file' }
  }
  if ('skip' in read) return read
  const { ds, available, native } = read
  const sopClassUid = str(ds, 'x00020002') || str(ds, 'x00080016')
  if (sopClassUid === DICOMDIR_SOP_CLASS) return null // the index itself, not an object
  const pixel = ds.elements.x7fe00010
  const frames = Math.max(1, ds.intString('x00280008') ?? 1)
  const transferSyntaxUid = str(ds, 'x00020010')
  if (pixel) {
    const problem = transferSyntaxProblem(transferSyntaxUid)
    if (problem) return { skip: problem }
    if (native && pixel.length < nativePixelBytes(ds, frames)) return { skip: 'truncated or corrupt DICOM' }
    if (pixel.dataOffset + (native ? pixel.length : 0) > available) return { skip: 'truncated or corrupt DICOM' }
  }
  const enhanced = ds.elements.x52009230 !== undefined
  const single = numbers(ds, 'x00200032')
  const positions = enhanced ? framePositions(ds) : single && single.length === 3 ? [single as Vec3] : []
  const spacing = (enhanced ? functionalGroup(ds, 'x00289110', 'x00280030') : null) ?? numbers(ds, 'x00280030')
  return {
    path,
    sopClassUid,
    sopInstanceUid: str(ds, 'x00080018'),
    seriesUid: str(ds, 'x0020000e') || '(no series UID)',
    studyUid: str(ds, 'x0020000d'),
    frameOfReferenceUid: str(ds, 'x00200052'),
    transferSyntaxUid,
    modality: str(ds, 'x00080060'),
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    frames,
    positions,
    orientation: (enhanced ? functionalGroup(ds, 'x00209116', 'x00200037') : null) ?? numbers(ds, 'x00200037'),
    pixelSpacing: spacing && spacing.length === 2 ? [spacing[0], spacing[1]] : null,
    sliceThickness: ds.floatString('x00180050') ?? null,
    pixels: pixel
      ? {
          bitsAllocated: ds.uint16('x00280100') ?? 16,
          bitsStored: ds.uint16('x00280101') ?? ds.uint16('x00280100') ?? 16,
          pixelRepresentation: ds.uint16('x00280103') ?? 0,
          samplesPerPixel: ds.uint16('x00280002') ?? 1,
          slope: ds.floatString('x00281053') ?? 1,
          intercept: ds.floatString('x00281052') ?? 0,
          offset: native ? pixel.dataOffset : null,
          length: pixel.length
        }
      : null,
    display: {
      patientName: str(ds, 'x00100010').replace(/\^/g, ' ').trim(),
      patientId: str(ds, 'x00100020'),
      studyDescription: str(ds, 'x00081030'),
      seriesDescription: str(ds, 'x0008103e'),
      seriesNumber: str(ds, 'x00200011'),
      date: str(ds, 'x00080021') || str(ds, 'x00080020')
    }
  }
}

/** Groups indexed files by SeriesInstanceUID into a listing ordered by date, series number, UID. */
export function groupSeries(files: readonly DicomFile[]): DicomSeries[] {
  const bySeries = new Map<string, DicomFile[]>()
  for (const f of files) bySeries.set(f.seriesUid, [...(bySeries.get(f.seriesUid) ?? []), f])
  const series = [...bySeries.entries()].map(([uid, fs]): DicomSeries => {
    const first = fs[0]
    const kind = kindOfSopClass(first.sopClassUid, first.rows > 0)
    return {
      number: 0,
      uid,
      kind,
      modality: first.modality,
      display: first.display,
      files: fs,
      images: fs.length,
      frames: fs.reduce((n, f) => n + f.frames, 0),
      dimensions: [first.columns, first.rows]
    }
  })
  const key = (s: DicomSeries) => [s.display.date, s.display.seriesNumber.padStart(8, '0'), s.uid].join('|')
  series.sort((a, b) => key(a).localeCompare(key(b)))
  series.forEach((s, i) => (s.number = i + 1))
  return series
}

/** Files read at once: their opens, reads and closes overlap on libuv's thread pool (4 threads by default). */
export const FILE_CONCURRENCY = 8

/**
 * Scans folders, files or a DICOMDIR for DICOM series.
 * @param paths folders (walked recursively), files, or a DICOMDIR (the files it references).
 */
export async function scanDicom(paths: readonly string[], opts: ScanOptions = {}): Promise<DicomScan> {
  const all = await listFiles(paths, opts.maxFiles ?? DEFAULT_MAX_FILES)
  const files: DicomFile[] = []
  const skipped: Record<string, number> = {}
  for (const r of await mapLimited(all, FILE_CONCURRENCY, indexFile)) {
    if (r === null) continue
    if ('skip' in r) skipped[r.skip] = (skipped[r.skip] ?? 0) + 1
    else files.push(r)
  }
  return { series: groupSeries(files), skipped, filesSeen: all.length }
}

/** "3 files skipped (not DICOM: 1, truncated or corrupt DICOM: 2)", or '' when none were. */
export function skippedSummary(skipped: Record<string, number>): string {
  const entries = Object.entries(skipped)
  const n = entries.reduce((s, [, c]) => s + c, 0)
  return n === 0 ? '' : `${n} file${n === 1 ? '' : 's'} skipped (${entries.map(([r, c]) => `${r}: ${c}`).join(', ')})`
}
