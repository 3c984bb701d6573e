/**
 * seriesGeometry: the grid of a stack of DICOM slices, decided from their headers alone.
 *
 * Slices are ordered by ImagePositionPatient projected on the normal of ImageOrientationPatient
 * (row × column), never by InstanceNumber or file name; the slice spacing comes from those
 * positions. Mixed orientations or sizes, two slices at one position and gantry tilt are refused
 * (no single grid holds them); an irregular spacing (a missing slice) is kept on the most common
 * spacing with a note naming the gap.
 */
import { SegError } from '../errors'
import type { Grid, Vec3 } from '../volume/volume'

export interface Slice {
  /** LPS mm of the first transmitted voxel (0020,0032). */
  position: Vec3
  /** Row direction then column direction (0020,0037). */
  orientation: number[]
  /** [between rows, between columns] mm (0028,0030). */
  pixelSpacing: [number, number]
  rows: number
  columns: number
}

export interface SeriesGeometry {
  grid: Grid
  /** order[k] = index (into the given slices) of the slice at k along the normal. */
  order: number[]
  notes: string[]
}

/** Cosine difference beyond which two orientations are different (≈ 0.06°). */
const ORIENTATION_TOLERANCE = 1e-3
/** Sideways drift of the slice stack, per mm along the normal, beyond which it is a tilt (≈ 0.06°). */
const TILT_TOLERANCE = 1e-3
/** Relative deviation of one slice step from the common step that makes the spacing irregular. */
const SPACING_TOLERANCE = 1e-2

const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const dot = (a: readonly number[], b: readonly number[]): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const cross = (a: readonly number[], b: readonly number[]): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
const norm = (a: readonly number[]): number => Math.sqrt(dot(a, a))
const unit = (a: readonly number[]): Vec3 => {
  const n = norm(a)
  return [a[0] / n, a[1] / n, a[2] / n]
}
const mm = (x: number): string => `${Number(x.toFixed(3))} mm`

/** The median of a non-empty list (the "most common" slice step, robust to one gap). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]
}

function checkConsistent(slices: readonly Slice[]): void {
  const f = slices[0]
  const orientations = new Set<string>()
  for (const s of slices) {
    if (s.orientation.some((c, i) => Math.abs(c - f.orientation[i]) > ORIENTATION_TOLERANCE)) orientations.add(s.orientation.map((c) => c.toFixed(3)).join('\\'))
    if (s.rows !== f.rows || s.columns !== f.columns) {
      throw new SegError('UNSUPPORTED', `the series mixes image sizes (${f.columns}×${f.rows} and ${s.columns}×${s.rows}); expected one size for a 3D volume`)
    }
    if (Math.abs(s.pixelSpacing[0] - f.pixelSpacing[0]) > 1e-4 || Math.abs(s.pixelSpacing[1] - f.pixelSpacing[1]) > 1e-4) {
      throw new SegError('UNSUPPORTED', `the series mixes pixel spacings (${f.pixelSpacing.join('\\')} and ${s.pixelSpacing.join('\\')} mm); expected one spacing for a 3D volume`)
    }
  }
  if (orientations.size > 0) {
    throw new SegError('UNSUPPORTED', `the series mixes ${orientations.size + 1} slice orientations (e.g. a localizer with 3 planes); expected one ImageOrientationPatient for a 3D volume`)
  }
}

/**
 * The grid of a slice stack and the order of its slices.
 * @param slices one entry per 2D image (or frame), any order; at least one.
 * @param singleSliceSpacing mm between slices when there is only one (SliceThickness, else 1).
 */
export function seriesGeometry(slices: readonly Slice[], singleSliceSpacing = 1): SeriesGeometry {
  if (slices.length === 0) throw new SegError('NOT_AN_IMAGE', 'the series has no images with a position and orientation; expected image slices')
  checkConsistent(slices)
  const f = slices[0]
  const row = unit(f.orientation.slice(0, 3))
  const col = unit(f.orientation.slice(3, 6))
  const normal = unit(cross(row, col))
  const along = slices.map((s) => dot(s.position, normal))
  const order = along.map((_, i) => i).sort((a, b) => along[a] - along[b])
  const steps = order.slice(1).map((idx, k) => along[idx] - along[order[k]])
  const notes: string[] = []
  let step = singleSliceSpacing
  if (steps.length > 0) {
    const dupe = steps.findIndex((d) => d < 1e-3)
    if (dupe >= 0) {
      throw new SegError('UNSUPPORTED', `the series has ${slices.length} images but two share the position ${mm(along[order[dupe]])} along the slice normal (several echoes, phases or volumes in one series); expected one image per position`)
    }
    step = median(steps)
    const span = sub(slices[order[order.length - 1]].position, slices[order[0]].position)
    const lengthAlong = dot(span, normal)
    const sideways = norm(sub(span, normal.map((c) => c * lengthAlong)))
    if (sideways > TILT_TOLERANCE * lengthAlong) {
      const degrees = (Math.atan2(sideways, lengthAlong) * 180) / Math.PI
      throw new SegError('UNSUPPORTED', `the slices are stacked at ${degrees.toFixed(2)}° from their normal (gantry tilt); expected slices stacked along their normal (resample the series to an untilted grid first)`)
    }
    const gaps = steps.map((d, k) => ({ d, k })).filter(({ d }) => Math.abs(d - step) > SPACING_TOLERANCE * step)
    if (gaps.length > 0) {
      const g = gaps.reduce((a, b) => (Math.abs(b.d - step) > Math.abs(a.d - step) ? b : a))
      notes.push(
        `irregular slice spacing: a gap of ${mm(g.d)} between slices ${g.k + 1} and ${g.k + 2} (at ${mm(along[order[g.k]])} and ${mm(along[order[g.k + 1]])} along the normal) where the series steps ${mm(step)}` +
          `${gaps.length > 1 ? ` (${gaps.length} irregular steps in all)` : ''}; the volume assumes ${mm(step)} throughout, so slices past the gap are misplaced (a missing slice?)`
      )
    }
  }
  return {
    grid: {
      size: [f.columns, f.rows, slices.length],
      spacing: [f.pixelSpacing[1], f.pixelSpacing[0], step],
      origin: [...slices[order[0]].position] as Vec3,
      direction: [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]]
    },
    order,
    notes
  }
}
