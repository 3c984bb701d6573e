/**
 * Bounds on the numbers a file may hand us, so that no hostile header reaches a reader or the
 * pipeline: a scan's geometry must be finite and physically plausible, and header numbers must stay
 * far from float overflow (an sform row of [3.4e10, +Inf, ...] made itk-wasm's NIfTI reader spin
 * forever; an infinite pixdim ended in "singular 3x3 matrix" deep in resampling).
 */
import { SegError } from '../errors'
import { det3 } from './affine'
import type { Grid } from './volume'

/** Voxel spacing bounds (mm): 1 µm (microscopy) to 1 m. */
export const SPACING_MIN_MM = 1e-3
export const SPACING_MAX_MM = 1e3
/** Largest |origin| coordinate (mm): 1 km from the scanner's isocentre. */
export const ORIGIN_MAX_MM = 1e6
/** Smallest |det| of the 3x3 direction (1 for orthonormal axes): below it the axes are nearly coplanar. */
export const DIRECTION_MIN_DET = 1e-3
/** Largest magnitude of any geometry number in a header (pixdim, quaternion, offsets, sform). */
export const HEADER_NUMBER_MAX = 1e9

const AXES = ['i', 'j', 'k']

/** A number for a message: 3 significant digits, or "infinite" / "not a number". */
export function describeNumber(x: number): string {
  if (Number.isNaN(x)) return 'not a number'
  if (!Number.isFinite(x)) return x > 0 ? '+infinite' : '-infinite'
  return String(Number(x.toPrecision(3)))
}

/** What is implausible about a geometry, in words, or null when it is plausible. */
export function geometryProblem(g: Pick<Grid, 'spacing' | 'origin' | 'direction'>): string | null {
  for (let a = 0; a < 3; a++) {
    const s = g.spacing[a]
    if (!(s >= SPACING_MIN_MM && s <= SPACING_MAX_MM)) return `a voxel spacing of ${describeNumber(s)} mm along ${AXES[a]}`
  }
  for (let a = 0; a < 3; a++) {
    const o = g.origin[a]
    if (!(Math.abs(o) < ORIGIN_MAX_MM)) return `an origin ${describeNumber(o)} mm from the centre`
  }
  const det = g.direction.length === 9 ? normalisedDet(g.direction) : NaN
  if (!(det >= DIRECTION_MIN_DET)) return 'axes that are not independent (a singular or non-finite direction)'
  return null
}

/**
 * |det| of a 3x3 with its columns scaled to unit length: 1 for orthogonal axes, near 0 for nearly
 * coplanar ones (whose nearest rotation, what we display, would be arbitrary); NaN if not finite.
 */
export function normalisedDet(m: readonly number[]): number {
  const norms = [0, 1, 2].map((c) => Math.hypot(m[c], m[3 + c], m[6 + c]))
  return Math.abs(det3(m as number[])) / (norms[0] * norms[1] * norms[2])
}

/**
 * Refuses (CORRUPT_FILE) a geometry outside the plausible bounds, naming what was wrong.
 * @param linear the file's own 3x3 (before orthonormalisation), when it has one: its axes must be
 *   independent too.
 * @param what which transform of the file it came from ("sform", "qform", "header").
 */
export function checkPlausibleGeometry(name: string, g: Pick<Grid, 'spacing' | 'origin' | 'direction'>, what: string, linear?: readonly number[]): void {
  const problem = linear !== undefined && !(normalisedDet(linear) >= DIRECTION_MIN_DET) ? 'axes that are not independent (nearly coplanar)' : geometryProblem(g)
  if (problem === null) return
  throw new SegError(
    'CORRUPT_FILE',
    `${name} has an implausible ${what}: ${problem}; expected spacing ${SPACING_MIN_MM} to ${SPACING_MAX_MM} mm, ` +
      `an origin within ${ORIGIN_MAX_MM} mm and independent axes`
  )
}
