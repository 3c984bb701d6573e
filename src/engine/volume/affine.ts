/**
 * Small 3x3 / affine helpers shared by the readers, resampling and reorientation.
 *
 * Matrices are row-major arrays of 9 numbers (m[r*3 + c]). An "affine" here is a 3x3 linear part
 * plus a translation: world = linear · index + translation.
 */
import type { Grid, Vec3 } from './volume'
import type { NiftiHeader } from './nifti-header'

export type Mat3 = number[]

export interface Affine {
  /** Row-major 3x3: column c is the world step (mm) of index axis c. */
  linear: Mat3
  /** World position (mm) of index (0,0,0). */
  translation: Vec3
}

/** Product a·b of two row-major 3x3 matrices. */
export function mul3(a: Mat3, b: Mat3): Mat3 {
  const out = new Array<number>(9)
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c]
    }
  }
  return out
}

export function transpose3(m: Mat3): Mat3 {
  return [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]]
}

export function det3(m: Mat3): number {
  return (
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
  )
}

/** Inverse of a 3x3 matrix (throws on a singular one: callers pass geometry matrices). */
export function invert3(m: Mat3): Mat3 {
  const d = det3(m)
  if (d === 0 || !Number.isFinite(d)) throw new Error('singular 3x3 matrix')
  return [
    (m[4] * m[8] - m[5] * m[7]) / d, (m[2] * m[7] - m[1] * m[8]) / d, (m[1] * m[5] - m[2] * m[4]) / d,
    (m[5] * m[6] - m[3] * m[8]) / d, (m[0] * m[8] - m[2] * m[6]) / d, (m[2] * m[3] - m[0] * m[5]) / d,
    (m[3] * m[7] - m[4] * m[6]) / d, (m[1] * m[6] - m[0] * m[7]) / d, (m[0] * m[4] - m[1] * m[3]) / d
  ]
}

/** m · v for a 3x3 m and a 3-vector v. */
export function apply3(m: Mat3, v: readonly number[]): Vec3 {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
    m[6] * v[0] + m[7] * v[1] + m[8] * v[2]
  ]
}

/** The index → LPS world affine of a grid: linear = direction · diag(spacing), translation = origin. */
export function gridAffine(g: Grid): Affine {
  const d = g.direction
  const s = g.spacing
  return {
    linear: [d[0] * s[0], d[1] * s[1], d[2] * s[2], d[3] * s[0], d[4] * s[1], d[5] * s[2], d[6] * s[0], d[7] * s[1], d[8] * s[2]],
    translation: [g.origin[0], g.origin[1], g.origin[2]]
  }
}

/** World (LPS mm) position of a (continuous) voxel index in a grid. */
export function indexToWorld(g: Grid, ijk: readonly number[]): Vec3 {
  const a = gridAffine(g)
  const w = apply3(a.linear, ijk)
  return [w[0] + a.translation[0], w[1] + a.translation[1], w[2] + a.translation[2]]
}

/**
 * Polar decomposition m = R·S (R orthogonal, S symmetric positive semi-definite), by Higham's
 * iteration R ← (R + R^-T)/2. R is the orthogonal matrix nearest to m (Frobenius norm), with
 * det(R) of the same sign as det(m). This is what nifti1_io's mat44_to_quatern does to a sform.
 */
export function polarRotation(m: Mat3): Mat3 {
  let r = m.slice()
  for (let it = 0; it < 100; it++) {
    const inv = transpose3(invert3(r))
    const next = r.map((x, k) => 0.5 * (x + inv[k]))
    const change = next.reduce((acc, x, k) => Math.max(acc, Math.abs(x - r[k])), 0)
    r = next
    if (change < 1e-15) break
  }
  return r
}

/** RAS ↔ LPS: negate the first two rows (world x and y). Its own inverse. */
export function flipRasLps(a: Affine): Affine {
  const l = a.linear
  return {
    linear: [-l[0], -l[1], -l[2], -l[3], -l[4], -l[5], l[6], l[7], l[8]],
    translation: [-a.translation[0], -a.translation[1], a.translation[2]]
  }
}

/** Largest |cos| of the angle between two distinct columns of a 3x3 (0 when orthogonal). */
export function maxColumnCosine(m: Mat3): number {
  const col = (c: number): Vec3 => [m[c], m[3 + c], m[6 + c]]
  const cos = (a: Vec3, b: Vec3): number =>
    (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (Math.hypot(...a) * Math.hypot(...b))
  return Math.max(Math.abs(cos(col(0), col(1))), Math.abs(cos(col(0), col(2))), Math.abs(cos(col(1), col(2))))
}

/**
 * Splits an LPS affine into ITK-style geometry: spacing = the column norms, direction = the polar
 * rotation of the column-normalised matrix (exactly the normalised columns when they are already
 * orthogonal), origin = translation. A shear, if any, is dropped.
 */
export function affineToGeometry(a: Affine): Pick<Grid, 'spacing' | 'origin' | 'direction'> {
  const l = a.linear
  const spacing: Vec3 = [0, 1, 2].map((c) => Math.hypot(l[c], l[3 + c], l[6 + c])) as Vec3
  const normalised = l.map((x, k) => x / spacing[k % 3])
  const direction = maxColumnCosine(normalised) < 1e-12 ? normalised : polarRotation(normalised)
  // `+ 0` turns -0 into 0 (sign flips of zeros are noise, and they make equality checks fail).
  return { spacing, origin: a.translation.map((x) => x + 0) as Vec3, direction: direction.map((x) => x + 0) }
}

/** The NIfTI qform as a RAS affine (nifti1_io's quatern_to_mat44, qfac from pixdim[0]). */
export function qformAffine(h: NiftiHeader): Affine {
  const [b, c, d] = h.quatern
  let a = 1 - (b * b + c * c + d * d)
  let [qb, qc, qd] = [b, c, d]
  if (a < 1e-7) {
    const n = Math.hypot(b, c, d)
    ;[qb, qc, qd] = [b / n, c / n, d / n]
    a = 0
  } else a = Math.sqrt(a)
  const dx = h.pixdim[1] > 0 ? h.pixdim[1] : 1
  const dy = h.pixdim[2] > 0 ? h.pixdim[2] : 1
  const qfac = h.pixdim[0] < 0 ? -1 : 1
  const dz = (h.pixdim[3] > 0 ? h.pixdim[3] : 1) * qfac
  const r = [
    a * a + qb * qb - qc * qc - qd * qd, 2 * (qb * qc - a * qd), 2 * (qb * qd + a * qc),
    2 * (qb * qc + a * qd), a * a + qc * qc - qb * qb - qd * qd, 2 * (qc * qd - a * qb),
    2 * (qb * qd - a * qc), 2 * (qc * qd + a * qb), a * a + qd * qd - qc * qc - qb * qb
  ]
  const s = [dx, dy, dz]
  return { linear: r.map((x, k) => x * s[k % 3]), translation: [...h.qoffset] as Vec3 }
}

/** The NIfTI sform as a RAS affine (rows srow_x, srow_y, srow_z). */
export function sformAffine(h: NiftiHeader): Affine {
  const [x, y, z] = h.srow
  return { linear: [x[0], x[1], x[2], y[0], y[1], y[2], z[0], z[1], z[2]], translation: [x[3], y[3], z[3]] }
}

export interface NiftiGeometry extends Pick<Grid, 'spacing' | 'origin' | 'direction'> {
  /** Which transform placed the voxels. */
  from: 'sform' | 'qform' | 'default'
  /** Largest angle (degrees) by which two index axes of the chosen transform miss 90° (0: no shear). */
  shearDegrees: number
  /** Set when a transform with a positive code was unusable (singular or not finite) and skipped. */
  skipped?: 'sform' | 'qform'
}

/** True when an affine's linear part is finite and invertible. */
function usable(a: Affine): boolean {
  const d = det3(a.linear)
  return Number.isFinite(d) && d !== 0 && a.translation.every(Number.isFinite)
}

/**
 * Our geometry policy for NIfTI (as nibabel, FSL and NiiVue): the sform when sform_code > 0, else
 * the qform when qform_code > 0, else the default (spacing from pixdim, origin 0, identity
 * direction in LPS — what ITK does). A singular or non-finite transform is skipped for the next.
 * The result is converted RAS → LPS and orthonormalised by `affineToGeometry` (polar
 * decomposition; spacing = column norms).
 */
export function niftiGeometry(h: NiftiHeader): NiftiGeometry {
  let skipped: NiftiGeometry['skipped']
  const candidates: [NiftiGeometry['from'], number, () => Affine][] = [
    ['sform', h.sformCode, () => sformAffine(h)],
    ['qform', h.qformCode, () => qformAffine(h)]
  ]
  for (const [from, code, affine] of candidates) {
    if (code <= 0) continue
    const ras = affine()
    if (!usable(ras)) {
      skipped ??= from as 'sform' | 'qform'
      continue
    }
    const lps = flipRasLps(ras)
    const cos = maxColumnCosine(lps.linear)
    const shearDegrees = 90 - (Math.acos(Math.min(1, cos)) * 180) / Math.PI
    return { ...affineToGeometry(lps), from, shearDegrees, ...(skipped ? { skipped } : {}) }
  }
  const s: Vec3 = [1, 2, 3].map((k) => (h.pixdim[k] > 0 ? h.pixdim[k] : 1)) as Vec3
  return {
    spacing: s, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], from: 'default', shearDegrees: 0,
    ...(skipped ? { skipped } : {})
  }
}
