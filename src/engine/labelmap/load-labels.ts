/**
 * Loading an existing segmentation as the labels of a scan (NIfTI, NRRD, MetaImage; any integer
 * type, or a float type holding integers), with its names from a sidecar (label-names.ts); or a
 * DICOM Segmentation object (dcmqi's reader, the one 3D Slicer uses), its segments as labels 1..n
 * with their names and recommended colours.
 *
 * Grid policy: a segmentation on the scan's grid (same size; spacing, origin and direction within
 * GRID_TOLERANCE_MM) is taken as is. Any other grid is refused unless the caller asks for
 * nearest-neighbour resampling, which then says so in a note: labels are never silently moved.
 */
import { basename, resolve } from 'node:path'
import { SegError } from '../errors'
import { LIMITS } from '../limits'
import { formatOfPath, readVolume, type ReadOptions } from '../volume/read'
import { resampleToGrid } from '../volume/resample'
import { describeGrid, sameGrid } from '../volume/stack'
import type { Grid, VoxelArray } from '../volume/volume'
import { defaultColor, labelCounts, type LabelArray, type LabelDef, type LabelMap } from '../../shared/editing'
import { checkedNames, findSidecar, readSidecarNames, readSlicerSegNames, type NamedLabel } from './label-names'
import { readDicomSeg, type ReadSeg } from '../dicom/seg'
import { indexFile, kindOfSopClass } from '../dicom/scan'

export interface LoadLabelsOptions extends ReadOptions {
  /** Put a segmentation on another grid onto the scan's by nearest-neighbour resampling (default: refuse). */
  resample?: 'nearest'
  /** Label names file; default: the .seg.nrrd's own segment names, else `<stem>.json|.txt|.label` next to it. */
  namesPath?: string
}

export interface LoadedLabels {
  /** The labels on the scan's grid (uint8 when every value fits, else uint16). */
  labels: LabelMap
  /** One entry per label value present or named (background excluded), by value. */
  table: LabelDef[]
  /** Voxel count per value present (0 included). */
  counts: Map<number, number>
  /** Where the names came from, or null for default names. */
  namesFrom: string | null
  /** What the loader decided (resampling), one line each. */
  notes: string[]
}

/**
 * Reads `segPath` as labels of `scan`.
 * @throws SegError GRID_MISMATCH (another grid, no `resample`), BAD_ARGUMENT (values not integers in
 *   0..65535, too many labels, a bad names file), and readVolume's errors.
 */
export async function loadLabels(segPath: string, scan: Grid, opts: LoadLabelsOptions = {}): Promise<LoadedLabels> {
  const file = basename(segPath)
  const notes: string[] = []
  const dicom = await dicomSegmentation(segPath)
  const seg = dicom?.labels ?? (await readVolume(segPath, opts))
  if (dicom) notes.push(`${file}: DICOM-SEG with ${dicom.segments.length} segment(s) (${dicom.segments.map((s) => `${s.number} ${segmentName(s)}`).join(', ')})`)
  const data = toLabelArray(seg.data, file)
  let onScan: LabelArray = data
  if (!sameGrid(seg, scan)) {
    if (opts.resample !== 'nearest') {
      throw new SegError(
        'GRID_MISMATCH',
        `${file} is on another grid (${gridText(seg)}) than the scan (${gridText(scan)}); expected the scan's grid, or load it with nearest-neighbour resampling`
      )
    }
    onScan = resampleToGrid({ ...seg, data }, scan, { interpolation: 'nearest', fill: 0 }).data as LabelArray
    notes.push(`${file} was resampled by nearest neighbour from ${gridText(seg)} onto the scan's grid ${gridText(scan)}`)
  }
  const counts = labelCounts(onScan)
  const namesFrom = opts.namesPath ?? (dicom || /\.seg\.nrrd$/i.test(segPath) ? segPath : findSidecar(segPath))
  const named = namesFrom === null ? [] : namesFrom !== segPath ? await readSidecarNames(namesFrom) : dicom ? segmentNames(dicom, file) : await readSlicerSegNames(segPath)
  const labels: LabelMap = { size: [...scan.size], spacing: [...scan.spacing], origin: [...scan.origin], direction: [...scan.direction], data: onScan }
  return { labels, table: labelTable(counts, named), counts, namesFrom: named.length > 0 ? namesFrom : null, notes }
}

/**
 * The file as a DICOM Segmentation object; null when it is not DICOM or is named as an image format
 * (read as an image file then: 'DICM' at byte 128 may be any other format's bytes, a NIfTI's cal_min).
 * @throws SegError BAD_ARGUMENT for a DICOM object of another kind (an image slice, a report).
 */
async function dicomSegmentation(path: string): Promise<ReadSeg | null> {
  if (formatOfPath(path) !== null) return null
  const indexed = await indexFile(resolve(path))
  if (indexed === null || 'skip' in indexed) {
    // Not DICOM, or not readable at all: readVolume says what it is (a missing file, a folder…).
    if (!indexed || indexed.skip === 'not DICOM' || indexed.skip === 'unreadable file') return null
    throw new SegError('CORRUPT_FILE', `${basename(path)} is DICOM but cannot be read (${indexed.skip}); expected a complete DICOM-SEG file`)
  }
  const kind = kindOfSopClass(indexed.sopClassUid, indexed.pixels !== null)
  if (kind !== 'SEG') {
    throw new SegError('BAD_ARGUMENT', `${basename(path)} is a DICOM ${kind === 'image' ? 'image' : `${kind} object`}, not a segmentation; expected a DICOM-SEG, or a label image (NIfTI, NRRD, MetaImage); open an image as a scan`)
  }
  return readDicomSeg(path)
}

/** A segment's label, or `segment N` when it has none (the note and the table say the same). */
const segmentName = (s: ReadSeg['segments'][number]): string => s.label.trim() || `segment ${s.number}`

/** A DICOM-SEG's segments as label names (and recommended colours), checked as a names file's are. */
function segmentNames(seg: ReadSeg, file: string): NamedLabel[] {
  return checkedNames(seg.segments.map((s) => ({ value: s.number, name: segmentName(s), ...(s.color ? { color: s.color } : {}) })), file)
}

function gridText(g: Grid): string {
  return `${describeGrid(g)}, origin ${g.origin.map((x) => +x.toFixed(2)).join(', ')}`
}

/** Values as uint8/uint16, refusing non-integers, negatives, values above 65535 and too many labels. */
export function toLabelArray(data: VoxelArray, file: string): LabelArray {
  let max = 0
  const seen = new Set<number>()
  for (let o = 0; o < data.length; o++) {
    const v = data[o]
    if (v === 0) continue
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      throw new SegError('BAD_ARGUMENT', `${file} holds the value ${v} at voxel ${o}; expected integer label values from 0 to 65535`)
    }
    if (v > max) max = v
    if (!seen.has(v)) {
      seen.add(v)
      if (seen.size > LIMITS.classes) throw new SegError('BAD_ARGUMENT', `${file} holds more than ${LIMITS.classes} label values (LIMITS.classes); expected a label map, not an image`)
    }
  }
  if (data instanceof (max <= 255 ? Uint8Array : Uint16Array)) return data as LabelArray
  return max <= 255 ? Uint8Array.from(data) : Uint16Array.from(data)
}

/** The label table: every value present or named, with the sidecar's name and colour when given. */
function labelTable(counts: Map<number, number>, named: NamedLabel[]): LabelDef[] {
  const byValue = new Map(named.map((l) => [l.value, l]))
  const values = [...new Set([...counts.keys(), ...byValue.keys()])].filter((v) => v !== 0).sort((a, b) => a - b)
  return values.map((value) => {
    const l = byValue.get(value)
    return { value, name: l?.name ?? `label ${value}`, color: l?.color ?? defaultColor(value), locked: false }
  })
}

