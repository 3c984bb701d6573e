/** Model-space grids derived from an input grid. */
import type { Grid, Vec3 } from '../volume/volume'

/**
 * The grid covering the same physical extent as `g` with a new spacing (same direction, same centre),
 * as MONAI's Spacingd / nnU-Net's resampling do: size = round(size × spacing / target).
 */
export function targetSpacingGrid(g: Grid, spacing: Vec3): Grid {
  const size = [0, 1, 2].map((a) => Math.max(1, Math.round((g.size[a] * g.spacing[a]) / spacing[a]))) as Vec3
  // Centre of the old grid in index space, mapped to world, must equal the centre of the new grid.
  const centre = [0, 1, 2].map((r) => {
    let w = g.origin[r]
    for (let c = 0; c < 3; c++) w += g.direction[r * 3 + c] * g.spacing[c] * ((g.size[c] - 1) / 2)
    return w
  })
  const origin = [0, 1, 2].map((r) => {
    let w = centre[r]
    for (let c = 0; c < 3; c++) w -= g.direction[r * 3 + c] * spacing[c] * ((size[c] - 1) / 2)
    return w
  }) as Vec3
  return { size, spacing: [...spacing] as Vec3, origin, direction: [...g.direction] }
}
