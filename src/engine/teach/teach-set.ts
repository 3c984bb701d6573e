/**
 * The training data as the user gave it: per scan, the painted voxels of each label (background
 * included, as its own label 0); every other voxel is *unknown*, never background. Voxels are known
 * either because they lie on the labelled slices or because they do not hold the ignore value.
 * Everything is brought into the teach model's space (the bundle's geometry) here, once.
 */
import { SegError } from '../errors'
import type { Manifest } from '../bundle/manifest'
import type { Grid, Volume } from '../volume/volume'
import { voxelCount } from '../volume/volume'
import { sameGrid, describeGrid } from '../volume/stack'
import { indexMapping, resampleToGrid } from '../volume/resample'
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

/**
 * Per source voxel: the label value, or UNKNOWN where not painted; and, in the same pass, every label
 * value the file holds other than the ignore value (on or off the labelled slices).
 */
function knownLabels(scan: ScanLabels): { known: Int32Array; present: number[]; selection?: SliceSelection } {
  const { labels } = scan
  const n = voxelCount(labels)
  const known = new Int32Array(n)
  const seen = new Uint8Array(MAX_LABEL + 1)
  const selection = scan.labelledSlices ? parseLabelledSlices(scan.labelledSlices, labels) : undefined
  const onSlice = selection ? sliceMask(labels.size, selection) : undefined
  for (let o = 0; o < n; o++) {
    const v = labels.data[o]
    if (!Number.isInteger(v) || v < 0 || v > MAX_LABEL) {
      throw new SegError('BAD_ARGUMENT', `labels ${scan.name} hold the value ${v}; expected integer label values 0..${MAX_LABEL}`)
    }
    const ignored = v === scan.ignoreValue
    if (!ignored) seen[v] = 1
    known[o] = (onSlice && !onSlice[o]) || ignored ? UNKNOWN : v
  }
  const present: number[] = []
  for (let v = 0; v <= MAX_LABEL; v++) if (seen[v]) present.push(v)
  return { known, present, selection }
}

/**
 * Painted voxels carried onto the model grid: each model voxel takes the label of its nearest source
 * voxel. On a coarser model grid (the base's 2 mm space for network features) the model's planes can
 * all fall between the labelled slices, so a model voxel left unknown also takes the label most of
 * the painted source voxels nearest to it hold (ties: the smaller value).
 */
export function knownOnGrid(known: Volume, model: Grid): Int32Array {
  const out = resampleToGrid(known, model, { interpolation: 'nearest', fill: UNKNOWN }).data as Int32Array
  const cell = (g: Grid) => g.spacing[0] * g.spacing[1] * g.spacing[2]
  if (cell(model) <= cell(known) * (1 + 1e-6)) return out
  const values = [...new Set(known.data as Int32Array)].filter((v) => v !== UNKNOWN).sort((a, b) => a - b)
  const index = new Map(values.map((v, c) => [v, c]))
  const K = values.length
  const votes = new Int32Array(out.length * K)
  const { M, b } = indexMapping(model, known) // source index → model continuous index
  const [ni, nj] = known.size
  const [mi, mj, mk] = model.size
  for (let o = 0; o < known.data.length; o++) {
    const v = known.data[o]
    if (v === UNKNOWN) continue
    const i = o % ni
    const j = Math.floor(o / ni) % nj
    const k = Math.floor(o / (ni * nj))
    const x = Math.round(M[0] * i + M[1] * j + M[2] * k + b[0])
    const y = Math.round(M[3] * i + M[4] * j + M[5] * k + b[1])
    const z = Math.round(M[6] * i + M[7] * j + M[8] * k + b[2])
    if (x < 0 || y < 0 || z < 0 || x >= mi || y >= mj || z >= mk) continue
    const m = x + mi * (y + mj * z)
    if (out[m] === UNKNOWN) votes[m * K + index.get(v)!]++
  }
  for (let m = 0; m < out.length; m++) {
    if (out[m] !== UNKNOWN) continue
    let best = -1
    for (let c = 0; c < K; c++) if (votes[m * K + c] > (best < 0 ? 0 : votes[m * K + best])) best = c
    if (best >= 0) out[m] = values[best]
  }
  return out
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
  const present = new Set(perScan.flatMap((p) => p.present))
  const counts: Record<number, number> = {}
  const modelScans = scans.map((scan, s) => {
    const image = toModelSpace(scan.image, geometry)
    const f = image.data instanceof Float32Array ? image.data : Float32Array.from(image.data)
    const normalised: Volume = { ...image, data: normalize(f, normalization) }
    const known = knownOnGrid({ ...scan.labels, data: perScan[s].known }, image)
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
