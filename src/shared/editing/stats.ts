/**
 * Statistics kept up to date from deltas instead of rescanning the volume: voxel counts per label
 * and their volume in mL, and the box an edit touched (to recompute only the edited labels' surfaces).
 */
import type { Delta } from './delta'
import type { Box, EditGrid, LabelArray, LabelMap, Vec3 } from './grid'

/** Volume of one voxel in millilitres (spacing in mm; 1 mL = 1000 mm³). */
export function voxelMl(g: Pick<EditGrid, 'spacing'>): number {
  return (g.spacing[0] * g.spacing[1] * g.spacing[2]) / 1000
}

/** Voxel count of every label value present (background 0 included): the one full scan, at load. */
export function labelCounts(data: LabelArray): Map<number, number> {
  // A histogram over every possible value (256 or 65536 slots) is far cheaper per voxel than a Map.
  const hist = new Float64Array(data instanceof Uint8Array ? 256 : 65536)
  for (let o = 0; o < data.length; o++) hist[data[o]]++
  const counts = new Map<number, number>()
  hist.forEach((n, v) => n > 0 && counts.set(v, n))
  return counts
}

/** Change of each label's voxel count made by applying `d` forward (negate for undo). */
export function countChange(d: Delta): Map<number, number> {
  const change = new Map<number, number>()
  for (let k = 0; k < d.indices.length; k++) {
    change.set(d.before[k], (change.get(d.before[k]) ?? 0) - 1)
    change.set(d.after[k], (change.get(d.after[k]) ?? 0) + 1)
  }
  return change
}

/**
 * Counts after an edit: `counts` plus `d`'s change (sign -1 for an undo). Labels left with no
 * voxel are removed. Returns a new map.
 */
export function updateCounts(counts: ReadonlyMap<number, number>, d: Delta, sign: 1 | -1 = 1): Map<number, number> {
  const out = new Map(counts)
  for (const [label, n] of countChange(d)) {
    const v = (out.get(label) ?? 0) + sign * n
    if (v === 0) out.delete(label)
    else out.set(label, v)
  }
  return out
}

/** Label values whose voxels an edit changed (their surfaces need recomputing); 0 excluded. */
export function editedLabels(d: Delta): Set<number> {
  const s = new Set<number>()
  for (let k = 0; k < d.indices.length; k++) {
    s.add(d.before[k])
    s.add(d.after[k])
  }
  s.delete(0)
  return s
}

/** Inclusive index box of the changed voxels, or null for an empty delta. */
export function deltaBox(d: Delta, size: Vec3): Box | null {
  if (d.indices.length === 0) return null
  const [nx, ny] = size
  const min: Vec3 = [Infinity, Infinity, Infinity]
  const max: Vec3 = [-Infinity, -Infinity, -Infinity]
  for (let k = 0; k < d.indices.length; k++) {
    const o = d.indices[k]
    const c = Math.floor(o / (nx * ny))
    const b = Math.floor((o - c * nx * ny) / nx)
    const ijk = [o - nx * (b + ny * c), b, c]
    for (let a = 0; a < 3; a++) {
      if (ijk[a] < min[a]) min[a] = ijk[a]
      if (ijk[a] > max[a]) max[a] = ijk[a]
    }
  }
  return { min, max }
}

/**
 * The part of a label map inside `box` grown by `margin` voxels (clipped to the map), as a label
 * map of its own: same spacing and direction, origin moved to the box's first voxel. Marching cubes
 * (src/shared/marching-cubes.ts `labelSurface`) runs on it unchanged to remesh only that region.
 */
export function cropLabelMap(map: LabelMap, box: Box, margin = 1): LabelMap {
  const lo = box.min.map((x, a) => Math.max(0, x - margin)) as Vec3
  const hi = box.max.map((x, a) => Math.min(map.size[a] - 1, x + margin)) as Vec3
  const size = [0, 1, 2].map((a) => hi[a] - lo[a] + 1) as Vec3
  const data = new (map.data.constructor as new (n: number) => LabelArray)(size[0] * size[1] * size[2])
  const [nx, ny] = map.size
  let t = 0
  for (let k = lo[2]; k <= hi[2]; k++)
    for (let j = lo[1]; j <= hi[1]; j++) {
      const row = lo[0] + nx * (j + ny * k)
      data.set(map.data.subarray(row, row + size[0]), t)
      t += size[0]
    }
  const m = map.direction
  const s = map.spacing
  const origin = [0, 1, 2].map((r) => map.origin[r] + m[r * 3] * s[0] * lo[0] + m[r * 3 + 1] * s[1] * lo[1] + m[r * 3 + 2] * s[2] * lo[2]) as Vec3
  return { size, spacing: [...s], origin, direction: [...m], data }
}
