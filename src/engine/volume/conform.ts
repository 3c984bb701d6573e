/**
 * Conform (as mri_convert --conform, FastSurfer's and NiiVue's conform()): resample onto a grid of
 * given size, spacing and axis code with no obliquity, centred on the input.
 *
 * Two centre conventions (`centre`):
 * - 'world' (default): the input's geometric centre, the world position of its continuous index
 *   (size-1)/2, lands on the target's index (size-1)/2. It does not depend on the order the input's
 *   voxels are stored in, and the input is first put into the target's axis order exactly
 *   (canonicalize: a permutation/flip), so every storage order of one scan gives the same
 *   conformed voxels bit for bit.
 * - 'freesurfer': FreeSurfer's c_ras (FastSurfer's `Pxyz_c`): the world position of the input's
 *   index size/2 lands on the target's index size/2, resampled from the voxels as stored. This point
 *   moves by half a voxel along each axis whose storage direction flips, so the result depends on
 *   the storage order; it is kept for models trained on FreeSurfer-conformed data (MeshNet).
 */
import { SegError } from '../errors'
import type { Grid, Vec3, Volume } from './volume'
import { indexToWorld } from './affine'
import { canonicalize, parseOrientation } from './orientation'
import { resampleToGrid } from './resample'
import { minMax, percentile } from './intensity'

export interface ConformOptions {
  /** Target voxels per axis, e.g. [256, 256, 256]. */
  size: Vec3
  /** Target voxel size in mm, e.g. [1, 1, 1]. */
  spacing: Vec3
  /** Target axis code (nibabel convention, see orientation.ts), e.g. 'LIA' (FreeSurfer). */
  orientation: string
  /** Which point of the input lands on which target index (see the file comment); default 'world'. */
  centre?: ConformCentre
}

export type ConformCentre = 'world' | 'freesurfer'

/** The continuous index of a grid's centre under a centre convention. */
function centreIndex(size: readonly number[], centre: ConformCentre): number[] {
  return size.map((n) => (centre === 'freesurfer' ? n / 2 : (n - 1) / 2))
}

/** Upper percentile used for the uint8 rescale of non-uint8 inputs. */
export const CONFORM_UPPER_PERCENTILE = 99.9

/**
 * The conformed target grid: axes exactly along the world axes named by `orientation` (LPS unit
 * columns), the given size/spacing, and origin chosen so that the target's centre index sits at the
 * input's centre (both by `opts.centre`, see the file comment).
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
  const convention = opts.centre ?? 'world'
  const centre = indexToWorld(volume, centreIndex(volume.size, convention))
  const target: Grid = { size: [...size], spacing: [...spacing], origin: [0, 0, 0], direction }
  const offset = indexToWorld(target, centreIndex(size, convention))
  target.origin = [centre[0] - offset[0], centre[1] - offset[1], centre[2] - offset[2]]
  return target
}

/**
 * Conformed volume: trilinear resampling onto conformGrid (with the 'world' centre, from the input
 * put exactly into the target's axis order first, so the arithmetic is the same for any storage
 * order).
 * - uint8 false: float32 intensities as resampled (outside the input → 0).
 * - uint8 true: a uint8 input keeps its values (as FreeSurfer does); any other input maps
 *   [min, 99.9th percentile] of its voxels linearly to 0..255 (computed before resampling, as
 *   FastSurfer does), then values are clipped to 0..255 and rounded half up. Outside the input
 *   → 0.
 */
export function conform(input: Volume, opts: ConformOptions & { uint8: boolean }): Volume {
  const volume = (opts.centre ?? 'world') === 'world' ? canonicalize(input, opts.orientation) : input
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
