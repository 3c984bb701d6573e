/**
 * Axis codes and exact reorientation (a permutation/flip of voxels, never an interpolation).
 *
 * Codes follow nibabel's `aff2axcodes` exactly (labels (('L','R'),('P','A'),('I','S'))): letter c
 * is the RAS world direction that index axis c points TOWARDS as the index increases. 'RAS': i
 * increases to the Right, j to the Anterior, k to the Superior. FreeSurfer's conformed space is
 * 'LIA'; ITK's identity direction (LPS) is 'LPS'. Oblique axes take the closest world axis, chosen
 * greedily by the largest |cosine| as nibabel's `io_orientation` does.
 */
import { SegError } from '../errors'
import type { Grid, Vec3, Volume, VoxelArray } from './volume'
import { indexToWorld } from './affine'
import { describeGrid, sameGrid } from './stack'

/** For each index axis: the world axis (0 x, 1 y, 2 z, RAS) it is closest to and the sign. */
export interface AxisMap {
  world: Vec3
  sign: Vec3
}

const POSITIVE = ['R', 'A', 'S']
const NEGATIVE = ['L', 'P', 'I']

/** The closest world axis and sign of each index axis of a grid (nibabel's io_orientation). */
export function axisMapOf(grid: Pick<Grid, 'direction'>): AxisMap {
  // RAS direction: LPS with the x and y rows negated.
  const d = grid.direction
  const ras = [-d[0], -d[1], -d[2], -d[3], -d[4], -d[5], d[6], d[7], d[8]]
  const world: Vec3 = [-1, -1, -1]
  const sign: Vec3 = [1, 1, 1]
  const rowsUsed = [false, false, false]
  for (let step = 0; step < 3; step++) {
    let best = -1
    let bestR = 0
    let bestC = 0
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        if (rowsUsed[r] || world[c] >= 0) continue
        const v = Math.abs(ras[r * 3 + c])
        if (v > best) [best, bestR, bestC] = [v, r, c]
      }
    }
    rowsUsed[bestR] = true
    world[bestC] = bestR
    sign[bestC] = ras[bestR * 3 + bestC] < 0 ? -1 : 1
  }
  return { world, sign }
}

/** The 3-letter axis code of a grid (e.g. 'LIA' for a FreeSurfer-conformed volume). */
export function orientationOf(grid: Pick<Grid, 'direction'>): string {
  const { world, sign } = axisMapOf(grid)
  return world.map((w, c) => (sign[c] > 0 ? POSITIVE[w] : NEGATIVE[w])).join('')
}

/** Parses a code such as 'RAS' or 'lia' into an AxisMap; BAD_ARGUMENT when it is not one. */
export function parseOrientation(code: string): AxisMap {
  const letters = code.toUpperCase().split('')
  const world: number[] = []
  const sign: number[] = []
  for (const ch of letters) {
    const p = POSITIVE.indexOf(ch)
    const n = NEGATIVE.indexOf(ch)
    world.push(p >= 0 ? p : n)
    sign.push(p >= 0 ? 1 : -1)
  }
  if (letters.length !== 3 || world.some((w) => w < 0) || new Set(world).size !== 3) {
    throw new SegError('BAD_ARGUMENT', `'${code}' is not an orientation code; expected 3 letters, one of R/L, A/P and S/I each (e.g. RAS, LPS, LIA)`)
  }
  return { world: world as Vec3, sign: sign as Vec3 }
}

/**
 * Voxels re-laid on permuted/flipped axes: target axis t is source axis `perm[t]`, read backwards
 * when `flip[t]`. Same array type as the input; i fastest in the output too.
 * @param size the source size.
 */
export function permuteVoxels<T extends VoxelArray>(data: T, size: Vec3, perm: Vec3, flip: [boolean, boolean, boolean]): T {
  const srcStride = [1, size[0], size[0] * size[1]]
  const n = perm.map((p) => size[p])
  const stride = perm.map((p, t) => (flip[t] ? -srcStride[p] : srcStride[p]))
  let base = 0
  for (let t = 0; t < 3; t++) if (flip[t]) base += (size[perm[t]] - 1) * srcStride[perm[t]]
  const out = new (data.constructor as new (n: number) => T)(data.length)
  let o = 0
  for (let c = 0; c < n[2]; c++) {
    const oc = base + c * stride[2]
    for (let b = 0; b < n[1]; b++) {
      let s = oc + b * stride[1]
      const s0 = stride[0]
      for (let a = 0; a < n[0]; a++, s += s0) out[o++] = data[s]
    }
  }
  return out
}

/** The grid of `grid` with its axes permuted/flipped as permuteVoxels does to the voxels. */
export function permuteGrid(grid: Grid, perm: Vec3, flip: [boolean, boolean, boolean]): Grid {
  const d = grid.direction
  const direction = new Array<number>(9)
  for (let t = 0; t < 3; t++) {
    for (let r = 0; r < 3; r++) direction[r * 3 + t] = (flip[t] ? -1 : 1) * d[r * 3 + perm[t]]
  }
  const corner = [0, 0, 0]
  for (let t = 0; t < 3; t++) if (flip[t]) corner[perm[t]] = grid.size[perm[t]] - 1
  return {
    size: perm.map((p) => grid.size[p]) as Vec3,
    spacing: perm.map((p) => grid.spacing[p]) as Vec3,
    origin: indexToWorld(grid, corner),
    direction
  }
}

/** The permutation/flips taking a grid's axes to those of a target axis map. */
function axesTowards(from: AxisMap, to: AxisMap): { perm: Vec3; flip: [boolean, boolean, boolean] } {
  const perm = to.world.map((w) => from.world.indexOf(w)) as Vec3
  const flip = perm.map((p, t) => from.sign[p] !== to.sign[t]) as [boolean, boolean, boolean]
  return { perm, flip }
}

/**
 * The same image with its voxels stored in the orientation `code` (exact permutation/flip; the
 * grid moves with them so every voxel keeps its world position). The source is kept.
 */
export function reorient(volume: Volume, code: string): Volume {
  const { perm, flip } = axesTowards(axisMapOf(volume), parseOrientation(code))
  return { ...permuteGrid(volume, perm, flip), data: permuteVoxels(volume.data, volume.size, perm, flip), source: volume.source }
}

/** Origins of canonical grids are rounded to a multiple of this (mm): 2^-20 mm, about 1e-6 mm. */
export const CANONICAL_ORIGIN_QUANTUM_MM = 2 ** -20

/** Where a volume's voxels go to be stored in a canonical order, and the grid they then have. */
export interface CanonicalOrder {
  grid: Grid
  perm: Vec3
  flip: [boolean, boolean, boolean]
}

/**
 * The grid of `grid` stored in the axis order `code`, made independent of the order it came in: the
 * same scan in any of its 48 storage orders gets a bit-identical grid (and, through permuteVoxels,
 * bit-identical voxels). Reordering is exact for size, spacing and direction; the origin (the world
 * position of another corner, computed in floating point) differs by rounding from one order to the
 * next, so it is rounded to CANONICAL_ORIGIN_QUANTUM_MM. Everything computed from a canonical
 * volume (resampling weights, model input, sampling, bias field) is then the same arithmetic
 * whatever the storage order.
 */
export function canonicalOrder(grid: Grid, code: string): CanonicalOrder {
  const { perm, flip } = axesTowards(axisMapOf(grid), parseOrientation(code))
  const g = permuteGrid(grid, perm, flip)
  const q = CANONICAL_ORIGIN_QUANTUM_MM
  g.origin = g.origin.map((x) => Math.round(x / q) * q + 0) as Vec3 // + 0: no -0
  g.direction = g.direction.map((x) => x + 0)
  return { grid: g, perm, flip }
}

/** The volume stored in the canonical order `code` (see canonicalOrder); the source is kept. */
export function canonicalize(volume: Volume, code: string): Volume {
  const { grid, perm, flip } = canonicalOrder(volume, code)
  return { ...grid, data: permuteVoxels(volume.data, volume.size, perm, flip), source: volume.source }
}

/**
 * Undoes a reorientation exactly: voxels permuted/flipped onto `target` (usually the original
 * input's grid), whose geometry is copied as is, so no rounding creeps into the result.
 * @throws SegError GRID_MISMATCH when `target` is not a permutation/flip of the volume's grid.
 */
export function reorientLike(volume: Volume, target: Grid): Volume {
  const { perm, flip } = axesTowards(axisMapOf(volume), axisMapOf(target))
  const moved = permuteGrid(volume, perm, flip)
  if (!sameGrid(moved, target)) {
    throw new SegError(
      'GRID_MISMATCH',
      `a ${describeGrid(volume)} volume cannot be reoriented onto a ${describeGrid(target)} grid; expected a permutation/flip of the same grid`
    )
  }
  return {
    size: [...target.size],
    spacing: [...target.spacing],
    origin: [...target.origin],
    direction: [...target.direction],
    data: permuteVoxels(volume.data, volume.size, perm, flip),
    source: volume.source
  }
}
