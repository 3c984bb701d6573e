/**
 * The training data as the user gave it: per scan, the painted voxels of each label (background
 * included, as its own label 0); every other voxel is *unknown*, never background. Voxels are known
 * either because they lie on the labelled slices or because they do not hold the ignore value.
 * Everything is brought into the teach model's space (the bundle's geometry) here, once.
 */
import { SegError } from '../errors'
import type { Manifest } from '../bundle/manifest'
import type { Volume } from '../volume/volume'
import { voxelCount } from '../volume/volume'
import { sameGrid, describeGrid } from '../volume/stack'
import { resampleToGrid } from '../volume/resample'
import { normalize } from '../volume/intensity'
import { toModelSpace } from '../pipeline/segment'
import { parseLabelledSlices, sliceMask, type SliceSelection } from './labelled-slices'

/** Marks an unknown voxel in a model-space label array. */
export const UNKNOWN = -1

export interface ScanLabels {
  /** A name for messages and provenance (the file path). */
  name: string
  image: Volume
  labels: Volume
  /** `plane:every:N` / `plane:i,j,k`; omitted: every voxel not equal to `ignoreValue` is known. */
  labelledSlices?: string
  /** Label value meaning "not painted" (e.g. 255); only without `labelledSlices`. */
  ignoreValue?: number
}

export interface TeachScan {
  name: string
  /** The normalised image in model space (Float32, the bundle's preprocessing). */
  image: Volume
  /** Per model-space voxel: class index (0..K-1) or UNKNOWN. */
  classes: Int32Array
  /** The axis and slice numbers the validation split groups known voxels by. */
  splitAxis: number
  selection?: SliceSelection
}

export interface TeachSet {
  scans: TeachScan[]
  /** Label value of each class index, ascending; class 0 is background (value 0). */
  values: number[]
  /** Known voxels per label value, over all scans (model space). */
  counts: Record<number, number>
}

/** Largest label value accepted (the manifest's bound). */
const MAX_LABEL = 65535

/** Per source voxel: the label value, or UNKNOWN where not painted. */
function knownLabels(scan: ScanLabels): { known: Int32Array; selection?: SliceSelection } {
  const { labels } = scan
  const n = voxelCount(labels)
  const known = new Int32Array(n)
  const selection = scan.labelledSlices ? parseLabelledSlices(scan.labelledSlices, labels) : undefined
  const onSlice = selection ? sliceMask(labels.size, selection) : undefined
  for (let o = 0; o < n; o++) {
    const v = labels.data[o]
    if (!Number.isInteger(v) || v < 0 || v > MAX_LABEL) {
      throw new SegError('BAD_ARGUMENT', `labels ${scan.name} hold the value ${v}; expected integer label values 0..${MAX_LABEL}`)
    }
    known[o] = (onSlice && !onSlice[o]) || v === scan.ignoreValue ? UNKNOWN : v
  }
  return { known, selection }
}

/**
 * Builds the teach set. `geometry` is the teach bundle's geometry section, `normalization` its
 * channel's; each scan is brought into model space exactly as `segment()` will bring it.
 * @throws SegError GRID_MISMATCH for labels on another grid than their image, BAD_ARGUMENT for a bad
 *   slice list, a label value with no known voxel, or fewer than two classes.
 */
export function buildTeachSet(scans: ScanLabels[], geometry: Manifest['geometry'], normalization: Manifest['channels'][number]['normalization']): TeachSet {
  if (!scans.length) throw new SegError('BAD_ARGUMENT', 'teach needs at least one --image with its --labels')
  const perScan = scans.map((scan) => {
    if (!sameGrid(scan.image, scan.labels)) {
      throw new SegError('GRID_MISMATCH', `labels ${scan.labels.source?.path ?? scan.name} are on another grid (${describeGrid(scan.labels)}) than their image (${describeGrid(scan.image)}); expected the image's own grid`)
    }
    if (scan.labelledSlices && scan.ignoreValue !== undefined) {
      throw new SegError('BAD_ARGUMENT', `labels ${scan.name}: give either labelled slices or an ignore value, not both`)
    }
    return knownLabels(scan)
  })
  // Every value in a labels file must be painted somewhere in the set: a label with no voxels cannot be learned.
  const present = new Set<number>()
  const counts: Record<number, number> = {}
  scans.forEach((scan, s) => {
    for (let o = 0; o < perScan[s].known.length; o++) {
      const v = scan.labels.data[o]
      if (v !== scan.ignoreValue) present.add(v)
    }
  })
  const modelScans = scans.map((scan, s) => {
    const image = toModelSpace(scan.image, geometry)
    const f = image.data instanceof Float32Array ? image.data : Float32Array.from(image.data)
    const normalised: Volume = { ...image, data: normalize(f, normalization) }
    const known = resampleToGrid({ ...scan.labels, data: perScan[s].known }, image, { interpolation: 'nearest', fill: UNKNOWN }).data as Int32Array
    for (const v of known) if (v !== UNKNOWN) counts[v] = (counts[v] ?? 0) + 1
    return { name: scan.name, image: normalised, known, selection: perScan[s].selection }
  })
  const empty = [...present].filter((v) => !counts[v]).sort((a, b) => a - b)
  if (empty.length) {
    throw new SegError('BAD_ARGUMENT', `label ${empty[0]} has no voxels on the labelled slices of any scan; paint it on at least one labelled slice or remove it`)
  }
  const values = Object.keys(counts).map(Number).sort((a, b) => a - b)
  if (values[0] !== 0) throw new SegError('BAD_ARGUMENT', 'no background (label 0) voxels are painted; paint some background explicitly — unpainted voxels are unknown, not background')
  if (values.length < 2) throw new SegError('BAD_ARGUMENT', 'only background is painted; paint at least one structure to learn')
  const index = new Map(values.map((v, c) => [v, c]))
  const teachScans = modelScans.map((m): TeachScan => {
    const classes = new Int32Array(m.known.length)
    for (let o = 0; o < classes.length; o++) classes[o] = m.known[o] === UNKNOWN ? UNKNOWN : index.get(m.known[o])!
    // Slices of the model grid along the same patient axis as the labelled slices (axial when unsaid).
    const splitAxis = parseLabelledSlices(`${m.selection?.plane ?? 'axial'}:0`, m.image).axis
    return { name: m.name, image: m.image, classes, splitAxis, selection: m.selection }
  })
  return { scans: teachScans, values, counts }
}
