/**
 * An edited label map received from the renderer as run-length changes (contract EditedLabels.runs)
 * applied to a copy of a base map. Pure: validates every run against the scan's voxel count and
 * returns a new array, never touching the base.
 */
import { SegError } from '../engine/errors'
import type { VoxelArray } from '../engine/volume/volume'

/** Largest label value an edited map may hold (uint16, as the editing tools' maps). */
export const MAX_EDIT_LABEL = 65535

/**
 * The base's voxels (or zeros) with `runs` written over them: triplets (first offset, count, value).
 * Uint8Array when every value fits, else Uint16Array.
 * @param voxels the scan's voxel count (the map's length)
 */
export function applyEditRuns(voxels: number, runs: readonly number[], base?: VoxelArray): Uint8Array | Uint16Array {
  if (runs.length % 3 !== 0) throw new SegError('BAD_ARGUMENT', `edited labels: runs hold ${runs.length} numbers; expected triplets (offset, count, value)`)
  if (base && base.length !== voxels) throw new SegError('BAD_ARGUMENT', `edited labels: the base has ${base.length} voxels, the scan ${voxels}; expected a segmentation of this scan`)
  let top = 0
  for (let r = 0; r < runs.length; r += 3) {
    const [start, count, value] = [runs[r], runs[r + 1], runs[r + 2]]
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > voxels) {
      throw new SegError('BAD_ARGUMENT', `edited labels: run ${r / 3} covers voxels ${start}..${start + count - 1}; expected whole voxels within 0..${voxels - 1} of the scan`)
    }
    if (!Number.isInteger(value) || value < 0 || value > MAX_EDIT_LABEL) {
      throw new SegError('BAD_ARGUMENT', `edited labels: run ${r / 3} has value ${value}; expected an integer label 0..${MAX_EDIT_LABEL}`)
    }
    top = Math.max(top, value)
  }
  for (let i = 0; base && i < base.length; i++) top = Math.max(top, base[i])
  const out = top > 255 ? new Uint16Array(voxels) : new Uint8Array(voxels)
  if (base) out.set(base)
  for (let r = 0; r < runs.length; r += 3) out.fill(runs[r + 2], runs[r], runs[r] + runs[r + 1])
  return out
}
