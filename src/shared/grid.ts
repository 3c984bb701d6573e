/**
 * Grid comparison shared by the engine (channels of one model input, label maps against their scan)
 * and the renderer (which scans may be a multi-channel model's further inputs). Pure; no Node or DOM.
 */

/** The geometry part of a volume: size (voxels), spacing and origin (mm), direction (9 numbers, row-major). */
export interface GridLike {
  readonly size: readonly number[]
  readonly spacing: readonly number[]
  readonly origin: readonly number[]
  readonly direction: readonly number[]
}

/** Largest difference allowed between two grids' spacing/origin (mm) and direction entries. */
export const GRID_TOLERANCE_MM = 1e-4

/** True when two grids have the same size and, within `tol` (mm), the same spacing, origin and direction. */
export function sameGrid(a: GridLike, b: GridLike, tol = GRID_TOLERANCE_MM): boolean {
  const close = (x: readonly number[], y: readonly number[]): boolean => x.every((v, k) => Math.abs(v - y[k]) <= tol)
  return (
    a.size.every((s, k) => s === b.size[k]) &&
    close(a.spacing, b.spacing) &&
    close(a.origin, b.origin) &&
    close(a.direction, b.direction)
  )
}
