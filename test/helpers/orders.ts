/**
 * The 48 orders a scan's voxels can be stored in (axis permutations × flips), made independently of
 * src/engine/volume/orientation.ts: voxel (x0, x1, x2) of a stored order is the original's voxel with
 * idx[perm[t]] = flip[t] ? n - 1 - x_t : x_t; its direction columns are the original's permuted and
 * negated, its origin the world position of the original corner it starts at.
 */
import type { Vec3, Volume, VoxelArray } from '../../src/engine/volume/volume'

export type Flip = [boolean, boolean, boolean]
export interface Order {
  perm: Vec3
  flip: Flip
}

/** The 6 permutations × 8 flips, identity first. */
export const ORDERS: Order[] = [
  [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]
].flatMap((perm) =>
  Array.from({ length: 8 }, (_, f) => ({ perm: perm as Vec3, flip: [(f & 1) > 0, (f & 2) > 0, (f & 4) > 0] as Flip }))
)

/** Visits every voxel of the stored order: (offset in the stored array, offset in the original). */
function eachVoxel(size: Vec3, order: Order, visit: (stored: number, original: number) => void): void {
  const originalStride = [1, size[0], size[0] * size[1]]
  // stored axis t walks original axis perm[t], backwards from its last voxel when flipped
  const n = order.perm.map((p) => size[p])
  const step = order.perm.map((p, t) => (order.flip[t] ? -originalStride[p] : originalStride[p]))
  const start = order.perm.reduce((sum, p, t) => sum + (order.flip[t] ? (size[p] - 1) * originalStride[p] : 0), 0)
  let o = 0
  for (let c = 0; c < n[2]; c++) {
    for (let b = 0; b < n[1]; b++) {
      let v = start + c * step[2] + b * step[1]
      for (let a = 0; a < n[0]; a++, v += step[0]) visit(o++, v)
    }
  }
}

/** `volume` with its voxels stored in `order`, geometry transformed to keep every voxel's world position. */
export function storedAs(volume: Volume, order: Order): Volume {
  const { size, spacing, origin, direction: d } = volume
  const out = new (volume.data.constructor as new (n: number) => VoxelArray)(volume.data.length)
  eachVoxel(size, order, (s, v) => (out[s] = volume.data[v]))
  const corner = order.perm.map(() => 0)
  for (let t = 0; t < 3; t++) if (order.flip[t]) corner[order.perm[t]] = size[order.perm[t]] - 1
  const direction = new Array<number>(9)
  for (let r = 0; r < 3; r++) for (let t = 0; t < 3; t++) direction[r * 3 + t] = (order.flip[t] ? -1 : 1) * d[r * 3 + order.perm[t]]
  return {
    size: order.perm.map((p) => size[p]) as Vec3,
    spacing: order.perm.map((p) => spacing[p]) as Vec3,
    origin: [0, 1, 2].map((r) => origin[r] + d[r * 3] * spacing[0] * corner[0] + d[r * 3 + 1] * spacing[1] * corner[1] + d[r * 3 + 2] * spacing[2] * corner[2]) as Vec3,
    direction,
    data: out
  }
}

/** Labels stored in `order` put back into the original's voxel order. */
export function backToOriginal(labels: VoxelArray, size: Vec3, order: Order): VoxelArray {
  const out = new (labels.constructor as new (n: number) => VoxelArray)(labels.length)
  eachVoxel(size, order, (s, v) => (out[v] = labels[s]))
  return out
}

