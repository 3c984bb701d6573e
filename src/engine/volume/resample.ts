/**
 * Resampling a volume onto another grid through world space: for each target voxel, its world
 * position (LPS mm) is mapped to a continuous source index and sampled there.
 *
 * The whole mapping is one precomputed affine (source index = M · target index + b). Continuous
 * indices within 1e-6 of an integer are snapped to it, so a target grid equal to the source grid
 * (or a permutation/flip of it) reproduces the voxels bit for bit.
 *
 * Extent: voxel centres are at integer indices and a voxel covers ±0.5 around its centre, so a
 * source index x is inside when -0.5 <= x <= n - 0.5 on every axis. Linear interpolation clamps
 * the neighbours into [0, n-1] (edge replication inside that half-voxel rim); points outside get
 * `fill`.
 */
import { SegError } from '../errors'
import type { Grid, Vec3, Volume, VoxelArray } from './volume'
import { apply3, gridAffine, invert3, mul3, type Mat3 } from './affine'

export interface ResampleOptions {
  interpolation: 'linear' | 'nearest'
  /** Value of target voxels whose world position falls outside the source volume. */
  fill: number
}

/** Continuous indices closer than this to an integer are snapped to it. */
export const SNAP = 1e-6

/**
 * The affine from target voxel index to source continuous index: src = M · ijk + b.
 * @returns M (row-major 3x3) and b.
 */
export function indexMapping(source: Grid, target: Grid): { M: Mat3; b: Vec3 } {
  const s = gridAffine(source)
  const t = gridAffine(target)
  const inv = invert3(s.linear)
  const M = mul3(inv, t.linear)
  const b = apply3(inv, [0, 1, 2].map((k) => t.translation[k] - s.translation[k]))
  // Entries that are integers up to rounding (permutations, flips) become exact integers.
  const snap = (x: number): number => (Math.abs(x - Math.round(x)) < 1e-12 * Math.max(1, Math.abs(x)) ? Math.round(x) : x)
  return { M: M.map(snap), b: b.map((x) => (Math.abs(x - Math.round(x)) < SNAP ? Math.round(x) : x)) as Vec3 }
}

/**
 * `volume` resampled onto `target` (a new Volume on exactly that grid; the source is kept).
 * Output type: nearest → the input's array type; linear → Float64Array for float64 input, else
 * Float32Array. `fill` is converted to the output type.
 */
export function resampleToGrid(volume: Volume, target: Grid, opts: ResampleOptions): Volume {
  if (opts.interpolation !== 'linear' && opts.interpolation !== 'nearest') {
    throw new SegError('BAD_ARGUMENT', `interpolation '${String(opts.interpolation)}' is unknown; expected 'linear' or 'nearest'`)
  }
  const { M, b } = indexMapping(volume, target)
  const n = target.size[0] * target.size[1] * target.size[2]
  const out: VoxelArray =
    opts.interpolation === 'nearest'
      ? new (volume.data.constructor as new (n: number) => VoxelArray)(n)
      : volume.data instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)
  if (opts.interpolation === 'nearest') sampleNearest(volume.data, volume.size, M, b, target.size, out, opts.fill)
  else sampleLinear(volume.data, volume.size, M, b, target.size, out, opts.fill)
  return {
    size: [...target.size],
    spacing: [...target.spacing],
    origin: [...target.origin],
    direction: [...target.direction],
    data: out,
    source: volume.source
  }
}

/** Snaps x to the nearest integer when within SNAP of it. */
export function snapped(x: number): number {
  const r = Math.round(x)
  return Math.abs(x - r) < SNAP ? r : x
}

// sampleNearest and sampleLinear share their loop skeleton on purpose: one specialised hot loop per
// interpolation, no per-voxel branch or callback (256^3 voxels).
function sampleNearest(src: VoxelArray, size: Vec3, M: Mat3, b: Vec3, tsize: Vec3, out: VoxelArray, fill: number): void {
  const [nx, ny, nz] = size
  const nxy = nx * ny
  let o = 0
  for (let k = 0; k < tsize[2]; k++) {
    for (let j = 0; j < tsize[1]; j++) {
      const bx = b[0] + M[1] * j + M[2] * k
      const by = b[1] + M[4] * j + M[5] * k
      const bz = b[2] + M[7] * j + M[8] * k
      for (let i = 0; i < tsize[0]; i++, o++) {
        // Math.round rounds .5 up; snapping first keeps exact integers exact.
        const x = Math.round(snapped(bx + M[0] * i))
        const y = Math.round(snapped(by + M[3] * i))
        const z = Math.round(snapped(bz + M[6] * i))
        out[o] = x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz ? fill : src[x + nx * y + nxy * z]
      }
    }
  }
}

function sampleLinear(src: VoxelArray, size: Vec3, M: Mat3, b: Vec3, tsize: Vec3, out: VoxelArray, fill: number): void {
  const [nx, ny, nz] = size
  const nxy = nx * ny
  let o = 0
  for (let k = 0; k < tsize[2]; k++) {
    for (let j = 0; j < tsize[1]; j++) {
      const bx = b[0] + M[1] * j + M[2] * k
      const by = b[1] + M[4] * j + M[5] * k
      const bz = b[2] + M[7] * j + M[8] * k
      for (let i = 0; i < tsize[0]; i++, o++) {
        let x = snapped(bx + M[0] * i)
        let y = snapped(by + M[3] * i)
        let z = snapped(bz + M[6] * i)
        if (x < -0.5 || y < -0.5 || z < -0.5 || x > nx - 0.5 || y > ny - 0.5 || z > nz - 0.5) {
          out[o] = fill
          continue
        }
        x = x < 0 ? 0 : x > nx - 1 ? nx - 1 : x
        y = y < 0 ? 0 : y > ny - 1 ? ny - 1 : y
        z = z < 0 ? 0 : z > nz - 1 ? nz - 1 : z
        const x0 = Math.floor(x)
        const y0 = Math.floor(y)
        const z0 = Math.floor(z)
        const fx = x - x0
        const fy = y - y0
        const fz = z - z0
        const p = x0 + nx * y0 + nxy * z0
        if (fx === 0 && fy === 0 && fz === 0) {
          out[o] = src[p]
          continue
        }
        const dx = x0 < nx - 1 ? 1 : 0
        const dy = y0 < ny - 1 ? nx : 0
        const dz = z0 < nz - 1 ? nxy : 0
        const c00 = src[p] + fx * (src[p + dx] - src[p])
        const c10 = src[p + dy] + fx * (src[p + dy + dx] - src[p + dy])
        const c01 = src[p + dz] + fx * (src[p + dz + dx] - src[p + dz])
        const c11 = src[p + dz + dy] + fx * (src[p + dz + dy + dx] - src[p + dz + dy])
        const c0 = c00 + fy * (c10 - c00)
        const c1 = c01 + fy * (c11 - c01)
        out[o] = c0 + fz * (c1 - c0)
      }
    }
  }
}
