import { expect } from 'vitest'
import type { Grid } from '../../src/engine/volume/volume'

/** Same size, and spacing/origin/direction equal within `tol` (1e-6 by default, as the issues ask). */
export function expectSameGrid(a: Grid, b: Grid, tol = 1e-6): void {
  expect(a.size).toEqual(b.size)
  for (let i = 0; i < 3; i++) {
    expect(Math.abs(a.spacing[i] - b.spacing[i])).toBeLessThanOrEqual(tol)
    expect(Math.abs(a.origin[i] - b.origin[i])).toBeLessThanOrEqual(tol)
  }
  for (let i = 0; i < 9; i++) expect(Math.abs(a.direction[i] - b.direction[i])).toBeLessThanOrEqual(tol)
}
