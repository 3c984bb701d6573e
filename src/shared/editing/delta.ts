/**
 * What one edit changed, sparsely: the linear indices of the changed voxels (strictly increasing)
 * with their values before and after. Never a whole volume: a delta costs 4 bytes per changed voxel
 * plus two label values, so undo memory is bounded by what changed.
 */
import { check } from './errors'
import type { LabelArray, LabelMap } from './grid'

export interface Delta {
  /** Linear voxel offsets, strictly increasing. */
  indices: Uint32Array
  /** Values before the edit (same array type as the map). */
  before: LabelArray
  /** Values after the edit. */
  after: LabelArray
}

/** Bookkeeping bytes of one delta beyond its arrays (object and three array headers, an estimate). */
export const DELTA_OVERHEAD_BYTES = 256

/** Bytes a delta holds (its arrays plus a fixed overhead). */
export function deltaBytes(d: Delta): number {
  return d.indices.byteLength + d.before.byteLength + d.after.byteLength + DELTA_OVERHEAD_BYTES
}

/** Number of changed voxels. */
export function deltaSize(d: Delta): number {
  return d.indices.length
}

/**
 * The delta that sets each listed voxel to `value(offset, old)`, keeping only voxels whose value
 * really changes. Offsets must be strictly increasing (all tools visit voxels in memory order).
 * @param offsets candidate voxel offsets, increasing
 * @param value new value of a voxel, given its offset and current value; return the current value to skip it
 */
export function deltaFrom(map: LabelMap, offsets: ArrayLike<number>, value: (offset: number, old: number) => number): Delta {
  const idx = new Uint32Array(offsets.length)
  const before = new (map.data.constructor as new (n: number) => LabelArray)(offsets.length)
  const after = new (map.data.constructor as new (n: number) => LabelArray)(offsets.length)
  let n = 0
  for (let k = 0; k < offsets.length; k++) {
    const o = offsets[k]
    const old = map.data[o]
    const v = value(o, old)
    if (v === old) continue
    idx[n] = o
    before[n] = old
    after[n] = v
    n++
  }
  // Copies (not views) so the unused tail is freed: the stack's byte count is what is really held.
  return { indices: idx.slice(0, n), before: before.slice(0, n), after: after.slice(0, n) }
}

/**
 * Applies a delta in place: forward (redo) writes `after`, backward (undo) writes `before`.
 * Refuses a delta whose starting values are not in the map (it belongs to another map or state),
 * before writing anything.
 */
export function applyDelta(map: LabelMap, d: Delta, direction: 'forward' | 'backward' = 'forward'): void {
  const from = direction === 'forward' ? d.before : d.after
  const to = direction === 'forward' ? d.after : d.before
  const data = map.data
  for (let k = 0; k < d.indices.length; k++) {
    check(data[d.indices[k]] === from[k], `edit does not match the label map at voxel ${d.indices[k]} (${data[d.indices[k]]}, expected ${from[k]}); it belongs to another state`)
  }
  for (let k = 0; k < d.indices.length; k++) data[d.indices[k]] = to[k]
}
