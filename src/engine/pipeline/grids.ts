/** Model-space grids derived from an input grid. */
import type { Grid, Vec3 } from '../volume/volume'
import { indexToWorld } from '../volume/affine'

/**
 * The grid covering the same physical extent as `g` with a new spacing (same direction, same centre),
 * as MONAI's Spacingd / nnU-Net's resampling do: size = round(size × spacing / target).
 */
export function targetSpacingGrid(g: Grid, spacing: Vec3): Grid {
  const size = [0, 1, 2].map((a) => Math.max(1, Math.round((g.size[a] * g.spacing[a]) / spacing[a]))) as Vec3
  const direction = [...g.direction]
  // The geometric centre of the old grid (index (size-1)/2) must be the centre of the new one.
  const centre = indexToWorld(g, g.size.map((n) => (n - 1) / 2))
  const offset = indexToWorld({ size, spacing, origin: [0, 0, 0], direction }, size.map((n) => (n - 1) / 2))
  const origin = [0, 1, 2].map((r) => centre[r] - offset[r]) as Vec3
  return { size, spacing: [...spacing] as Vec3, origin, direction }
}
