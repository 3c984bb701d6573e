/**
 * FreeSurfer-style conform (mri_convert --conform, FastSurfer's and NiiVue's conform()): resample
 * onto a grid of given size, spacing and axis code with no obliquity, centred on the input.
 *
 * Centre convention (FreeSurfer's c_ras, as FastSurfer computes `Pxyz_c`): the world position of
 * the input's continuous index size/2 (not (size-1)/2) lands on the target's index size/2.
 */
import { SegError } from '../errors'
import type { Grid, Vec3, Volume } from './volume'
import { indexToWorld } from './affine'
import { parseOrientation } from './orientation'
import { resampleToGrid } from './resample'
import { minMax, percentile } from './intensity'

export interface ConformOptions {
  /** Target voxels per axis, e.g. [256, 256, 256]. */
  size: Vec3
  /** Target voxel size in mm, e.g. [1, 1, 1]. */
  spacing: Vec3
  /** Target axis code (nibabel convention, see orientation.ts), e.g. 'LIA' (FreeSurfer). */
  orientation: string
}

/** Upper percentile used for the uint8 rescale of non-uint8 inputs. */
export const CONFORM_UPPER_PERCENTILE = 99.9

/**
 * The conformed target grid: axes exactly along the world axes named by `orientation` (LPS unit
 * columns), the given size/spacing, and origin chosen so that target index size/2 sits at the
 * input's centre (world of input index size/2).
 */
export function conformGrid(volume: Grid, opts: ConformOptions): Grid {
  const { size, spacing } = opts
  if (!size.every((n) => Number.isInteger(n) && n > 0) || !spacing.every((s) => s > 0 && Number.isFinite(s))) {
    throw new SegError('BAD_ARGUMENT', `conform to ${size.join('x')} voxels of ${spacing.join('x')} mm is impossible; expected positive sizes and spacings`)
  }
  const { world, sign } = parseOrientation(opts.orientation)
  // RAS unit vector of axis c, then to LPS (negate x and y).
  const direction = new Array<number>(9).fill(0)
  for (let c = 0; c < 3; c++) direction[world[c] * 3 + c] = world[c] < 2 ? -sign[c] : sign[c]
  const centre = indexToWorld(volume, volume.size.map((n) => n / 2))
  const target: Grid = { size: [...size], spacing: [...spacing], origin: [0, 0, 0], direction }
  const offset = indexToWorld(target, size.map((n) => n / 2))
  target.origin = [centre[0] - offset[0], centre[1] - offset[1], centre[2] - offset[2]]
  return target
}

/**
 * Conformed volume: trilinear resampling onto conformGrid.
 * - uint8 false: float32 intensities as resampled (outside the input → 0).
 * - uint8 true: a uint8 input keeps its values (as FreeSurfer does); any other input maps
 *   [min, 99.9th percentile] of its voxels linearly to 0..255 (computed before resampling, as
 *   FastSurfer does), then values are clipped to 0..255 and rounded half up. Outside the input
 *   → 0.
 */
export function conform(volume: Volume, opts: ConformOptions & { uint8: boolean }): Volume {
  const grid = conformGrid(volume, opts)
  if (!opts.uint8) return resampleToGrid(volume, grid, { interpolation: 'linear', fill: 0 })
  let lo = 0
  let scale = 1
  if (!(volume.data instanceof Uint8Array)) {
    const values = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data)
    lo = minMax(values).min
    const hi = percentile(values, CONFORM_UPPER_PERCENTILE)
    scale = hi > lo ? 255 / (hi - lo) : 0
  }
  // Outside the input: its minimum, so 0 after the rescale (CT air, not 0 HU).
  const src = resampleToGrid(volume, grid, { interpolation: 'linear', fill: lo }).data
  const out = new Uint8Array(src.length)
  for (let k = 0; k < src.length; k++) {
    const x = (src[k] - lo) * scale
    out[k] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x)
  }
  return { ...grid, data: out, source: volume.source }
}
