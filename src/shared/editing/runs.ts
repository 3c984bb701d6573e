/**
 * Run-length description of an edited label map against its base (the contract's EditedLabels.runs):
 * what the renderer sends the app core to save an edited copy without sending the whole map.
 */
import type { LabelArray } from './grid'

/**
 * Triplets (first voxel offset, voxel count, value) covering every voxel where `current` differs
 * from `base` (zeros when absent); consecutive differing voxels of one value make one run.
 */
export function changeRuns(current: LabelArray, base?: ArrayLike<number>): number[] {
  const out: number[] = []
  let start = -1
  for (let i = 0; i <= current.length; i++) {
    const differs = i < current.length && current[i] !== (base ? base[i] : 0)
    if (start >= 0 && (!differs || current[i] !== current[start])) {
      out.push(start, i - start, current[start])
      start = -1
    }
    if (differs && start < 0) start = i
  }
  return out
}
