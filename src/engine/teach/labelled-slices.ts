/**
 * Which voxels the user labelled: `--labelled-slices axial:every:4` (slices 0, 4, 8, … along the
 * voxel axis closest to the patient's head–foot axis), `axial:3,7,12` (a list), `sagittal` /
 * `coronal` likewise (left–right, anterior–posterior), or `all`.
 */
import { SegError } from '../errors'
import type { Grid } from '../volume/volume'
import { axisMapOf } from '../volume/orientation'

export type Plane = 'axial' | 'coronal' | 'sagittal'

export interface SliceSelection {
  plane: Plane
  /** The voxel axis (0 = i, 1 = j, 2 = k) the slices are taken along. */
  axis: number
  /** Slice indices along that axis, ascending, each in [0, size[axis]). */
  slices: number[]
}

/** LPS world axis each plane is perpendicular to: axial ⟂ S–I (z), coronal ⟂ A–P (y), sagittal ⟂ L–R (x). */
const NORMAL: Record<Plane, number> = { sagittal: 0, coronal: 1, axial: 2 }

const LARGEST_STEP = 10000

/**
 * Parses a slice specification against a grid.
 * @throws SegError BAD_ARGUMENT for an unknown plane, a malformed list or step, or a slice outside the volume.
 */
export function parseLabelledSlices(spec: string, grid: Pick<Grid, 'direction' | 'size'>): SliceSelection {
  const [planeText, ...rest] = spec.trim().split(':')
  const plane = planeText as Plane
  if (!(plane in NORMAL)) {
    throw new SegError('BAD_ARGUMENT', `--labelled-slices '${spec}': plane must be axial, coronal or sagittal (e.g. axial:every:4 or axial:3,7,12)`)
  }
  const axis = axisMapOf(grid).world.indexOf(NORMAL[plane])
  const n = grid.size[axis]
  const body = rest.join(':')
  let slices: number[]
  const every = /^every:(\d+)$/.exec(body)
  if (every) {
    const step = Number(every[1])
    if (step < 1 || step > LARGEST_STEP) throw new SegError('BAD_ARGUMENT', `--labelled-slices '${spec}': the step must be an integer in 1..${LARGEST_STEP}`)
    slices = []
    for (let s = 0; s < n; s += step) slices.push(s)
  } else if (/^\d+(,\d+)*$/.test(body)) {
    slices = [...new Set(body.split(',').map(Number))].sort((a, b) => a - b)
    const outside = slices.filter((s) => s >= n)
    if (outside.length) {
      throw new SegError('BAD_ARGUMENT', `--labelled-slices '${spec}': slice ${outside[0]} is outside the volume; ${plane} slices run along voxel axis ${'ijk'[axis]} from 0 to ${n - 1}`)
    }
  } else {
    throw new SegError('BAD_ARGUMENT', `--labelled-slices '${spec}': expected ${plane}:every:N or ${plane}:i,j,k with slice numbers`)
  }
  return { plane, axis, slices }
}

/** Per voxel: 1 when it lies on a selected slice (i fastest, as Volume data). */
export function sliceMask(size: readonly [number, number, number], sel: Pick<SliceSelection, 'axis' | 'slices'>): Uint8Array {
  const mask = new Uint8Array(size[0] * size[1] * size[2])
  const on = new Uint8Array(size[sel.axis])
  for (const s of sel.slices) on[s] = 1
  let o = 0
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0; i < size[0]; i++) mask[o++] = on[sel.axis === 0 ? i : sel.axis === 1 ? j : k]
    }
  }
  return mask
}

/** Slice index along `axis` of voxel offset `o` (i fastest). */
export function sliceOf(o: number, size: readonly [number, number, number], axis: number): number {
  if (axis === 0) return o % size[0]
  if (axis === 1) return Math.floor(o / size[0]) % size[1]
  return Math.floor(o / (size[0] * size[1]))
}
