/**
 * NaN/±Inf voxels as "no data". SPM, FSL's applywarp and many resampling tools write NaN outside the
 * brain or the field of view; those scans are otherwise fine. The reader fills such voxels with the
 * background and keeps a mask of them; only a scan that is mostly non-finite is refused.
 */
import { SegError } from '../errors'
import type { VoxelArray } from './volume'

/** Largest fraction of non-finite voxels a scan may hold (more than half: refused). */
export const NO_DATA_MAX_FRACTION = 0.5

export interface NoData {
  /** 1 where the voxel was NaN/±Inf. */
  mask: Uint8Array
  count: number
  /** The value written into those voxels: the smallest finite value (the background). */
  fill: number
}

/**
 * Replaces NaN/±Inf voxels of `data` **in place** by the smallest finite value. The minimum, not 0:
 * it is the background of both MRI (0) and CT (-1024 HU, where 0 would be soft tissue), and it never
 * widens the intensity range a normalisation sees.
 * @returns null when every voxel is finite (integer arrays always are).
 * @throws SegError NON_FINITE_VOXELS when more than NO_DATA_MAX_FRACTION of the voxels are non-finite.
 */
export function fillNoData(name: string, data: VoxelArray): NoData | null {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return null
  let count = 0
  let min = Infinity
  for (let k = 0; k < data.length; k++) {
    const x = data[k]
    if (x - x !== 0) count++ // NaN and ±Inf, without a call per voxel
    else if (x < min) min = x
  }
  if (count === 0) return null
  if (count > data.length * NO_DATA_MAX_FRACTION) {
    const percent = ((100 * count) / data.length).toFixed(1)
    throw new SegError(
      'NON_FINITE_VOXELS',
      `${name} has ${count} NaN/Inf voxels (${percent} % of ${data.length}); expected at most ${NO_DATA_MAX_FRACTION * 100} % without data`
    )
  }
  const mask = new Uint8Array(data.length)
  for (let k = 0; k < data.length; k++) {
    const x = data[k]
    if (x - x !== 0) {
      mask[k] = 1
      data[k] = min
    }
  }
  return { mask, count, fill: min }
}

/** The reader's note on filled voxels. */
export function noDataNote(d: NoData, total: number): string {
  const percent = ((100 * d.count) / total).toFixed(1)
  return `${d.count} NaN/Inf voxels (${percent} %) treated as no data: filled with the background (the smallest finite value, ${d.fill}), left out of normalisation statistics, labelled 0`
}
