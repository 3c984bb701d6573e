import { expect } from 'vitest'
import type { Grid } from '../../src/engine/volume/volume'
import { indexToWorld } from '../../src/engine/volume/affine'

/** Same size, and spacing/origin/direction equal within `tol` (1e-6 by default, as the issues ask). */
export function expectSameGrid(a: Grid, b: Grid, tol = 1e-6): void {
  expect(a.size).toEqual(b.size)
  for (let i = 0; i < 3; i++) {
    expect(Math.abs(a.spacing[i] - b.spacing[i])).toBeLessThanOrEqual(tol)
    expect(Math.abs(a.origin[i] - b.origin[i])).toBeLessThanOrEqual(tol)
  }
  for (let i = 0; i < 9; i++) expect(Math.abs(a.direction[i] - b.direction[i])).toBeLessThanOrEqual(tol)
}

/**
 * Offsets (i fastest) of the voxels of `g` whose centres lie within r mm of the LPS point `p`, by
 * brute force over every voxel with the engine's indexToWorld: the independent answer for brush tests.
 */
export function voxelsWithinMm(g: Grid, p: readonly number[], r: number): number[] {
  const out: number[] = []
  const [nx, ny, nz] = g.size
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    const w = indexToWorld(g, [i, j, k])
    if (Math.hypot(w[0] - p[0], w[1] - p[1], w[2] - p[2]) <= r * (1 + 1e-9)) out.push(i + nx * (j + ny * k))
  }
  return out
}

/** Offsets of the non-zero voxels. */
export const nonzeroOffsets = (a: ArrayLike<number>): number[] => Array.from(a).flatMap((v, i) => (v ? [i] : []))
