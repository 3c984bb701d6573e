/**
 * The label map the editing tools work on, and the index <-> world arithmetic they share.
 *
 * Same conventions as the engine's Volume (src/engine/volume/volume.ts) and the contract's GridInfo:
 * voxels i fastest (offset = i + nx*(j + ny*k)); world = origin + direction · diag(spacing) · index
 * in LPS millimetres; `direction` row-major, column c the unit direction of index axis c.
 * Mirrored here (not imported) so the editing code depends on neither the engine nor the contract.
 */
import { SegError } from '../errors'
import { check } from './errors'

export type Vec3 = [number, number, number]

export interface EditGrid {
  size: Vec3
  /** mm between voxel centres along i, j, k. */
  spacing: Vec3
  /** LPS mm of the centre of voxel (0,0,0). */
  origin: Vec3
  /** 9 numbers, row-major. */
  direction: number[]
}

/** Label values are unsigned 8 or 16 bit (as the engine's decoded label maps). */
export type LabelArray = Uint8Array | Uint16Array

/** Voxels and geometry together: geometry travels with the labels. */
export interface LabelMap extends EditGrid {
  data: LabelArray
}

/** Largest label value the array type can hold. */
export function maxValue(data: LabelArray): number {
  return data instanceof Uint8Array ? 255 : 65535
}

/** Throws unless the map's size, spacing, direction and data length are usable. */
export function checkLabelMap(map: LabelMap): void {
  check(map.size.length === 3 && map.size.every((s) => Number.isInteger(s) && s > 0), `label map size must be 3 positive integers, got [${map.size.join(', ')}]`)
  check(map.spacing.every((s) => Number.isFinite(s) && s > 0), `label map spacing must be 3 positive mm values, got [${map.spacing.join(', ')}]`)
  check(map.direction.length === 9 && map.direction.every(Number.isFinite), 'label map direction must be 9 finite numbers (row-major 3x3)')
  const n = map.size[0] * map.size[1] * map.size[2]
  check(map.data.length === n, `label map holds ${map.data.length} voxels but its size [${map.size.join(', ')}] has ${n}`)
}

/** Row-major 3x3 index → world linear part: direction · diag(spacing). */
export function indexToWorldMatrix(g: EditGrid): number[] {
  const d = g.direction
  const s = g.spacing
  return [d[0] * s[0], d[1] * s[1], d[2] * s[2], d[3] * s[0], d[4] * s[1], d[5] * s[2], d[6] * s[0], d[7] * s[1], d[8] * s[2]]
}

/** Inverse of a row-major 3x3 matrix (cofactors); throws for a singular direction. */
export function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m
  const A = e * i - f * h
  const B = -(d * i - f * g)
  const C = d * h - e * g
  const det = a * A + b * B + c * C
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new SegError('BAD_ARGUMENT', 'label map direction is singular; expected 3 independent axes')
  const k = 1 / det
  return [A * k, -(b * i - c * h) * k, (b * f - c * e) * k, B * k, (a * i - c * g) * k, -(a * f - c * d) * k, C * k, -(a * h - b * g) * k, (a * e - b * d) * k]
}

/** World position (LPS mm) of a (continuous) voxel index. */
export function indexToWorld(g: EditGrid, ijk: readonly number[]): Vec3 {
  const m = indexToWorldMatrix(g)
  const o = g.origin
  return [0, 1, 2].map((r) => o[r] + m[r * 3] * ijk[0] + m[r * 3 + 1] * ijk[1] + m[r * 3 + 2] * ijk[2]) as Vec3
}

/** Continuous voxel index of a world position (LPS mm). */
export function worldToIndex(g: EditGrid, p: readonly number[]): Vec3 {
  const inv = invert3(indexToWorldMatrix(g))
  const q = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]]
  return [0, 1, 2].map((r) => inv[r * 3] * q[0] + inv[r * 3 + 1] * q[1] + inv[r * 3 + 2] * q[2]) as Vec3
}

/** Inclusive voxel index box. */
export interface Box {
  min: Vec3
  max: Vec3
}

/** Number of voxels in an inclusive box (0 when empty). */
export function boxVoxels(b: Box): number {
  return [0, 1, 2].reduce((n, a) => n * Math.max(0, b.max[a] - b.min[a] + 1), 1)
}

/** The index axis (0 = i, 1 = j, 2 = k) a radiological view slices across, for any direction. */
export type ViewPlane = 'axial' | 'coronal' | 'sagittal' | 0 | 1 | 2

/**
 * The index axis normal to a view: axial slices across LPS S (world z), coronal across P (y),
 * sagittal across L (x); the index axis whose direction column points most along that world axis
 * (as the slice views choose it for oblique scans). A number is taken as the index axis itself.
 */
export function planeAxis(g: EditGrid, plane: ViewPlane): 0 | 1 | 2 {
  if (plane === 0 || plane === 1 || plane === 2) return plane
  const world = { sagittal: 0, coronal: 1, axial: 2 }[plane]
  check(world !== undefined, `view plane '${String(plane)}' is unknown; expected axial, coronal, sagittal or an index axis 0, 1, 2`)
  let best: 0 | 1 | 2 = 0
  for (const c of [1, 2] as const) if (Math.abs(g.direction[world * 3 + c]) > Math.abs(g.direction[world * 3 + best])) best = c
  return best
}
