/**
 * The Teach panel's training data from a label layer of the scan, in the form the engine's teach()
 * takes (the CLI's two forms): with complete slices, the labels plus `--labelled-slices` (only those
 * slices are data; their unpainted voxels are background); without, every painted voxel is data and
 * every unpainted one unknown (`--ignore-value`). Painted voxels of labels not learned are background
 * in both: they were painted as "not this structure".
 */
import { SegError } from '../engine/errors'
import type { CompleteSlices } from '../shared/contract'

/** The engine's "unknown" value for unpainted voxels (never a learned label: validation caps `learn` below it). */
export const UNPAINTED = 65535

export interface TeachLabels {
  /** Per voxel of the scan (i fastest): a learned value, 0 (background) or UNPAINTED. */
  data: Uint16Array
  /** teach()'s labelledSlices, with complete slices. */
  labelledSlices?: string
  /** teach()'s ignoreValue, without. */
  ignoreValue?: number
}

/** `axial:every:3` or `axial:4,8,12`, the CLI's slice syntax. */
export function sliceSpecOf(slices: CompleteSlices): string {
  const list = slices.list ? [...new Set(slices.list)].sort((a, b) => a - b).join(',') : undefined
  return `${slices.plane}:${list ?? `every:${slices.every}`}`
}

/**
 * @param layer label values of the layer, one per voxel of the scan
 * @param learn the values to learn (each ≥ 1)
 * @param slices complete slices, or undefined for painted voxels only
 * @throws SegError BAD_ARGUMENT for a learned label the layer does not hold, or, without complete
 *   slices, no voxel painted with a label not learned (no background to learn from)
 */
export function teachLabelsOf(layer: ArrayLike<number>, learn: readonly number[], slices?: CompleteSlices): TeachLabels {
  const learned = new Set(learn)
  const seen = new Set<number>()
  let background = 0
  const data = new Uint16Array(layer.length)
  for (let o = 0; o < layer.length; o++) {
    const v = layer[o]
    if (learned.has(v)) {
      data[o] = v
      seen.add(v)
    } else if (v !== 0) background++
    else if (!slices) data[o] = UNPAINTED
  }
  const missing = learn.filter((v) => !seen.has(v))
  if (missing.length) throw new SegError('BAD_ARGUMENT', `label ${missing[0]} is not painted in this segmentation; expected labels it holds to learn`)
  if (slices) return { data, labelledSlices: sliceSpecOf(slices) }
  if (!background) {
    throw new SegError('BAD_ARGUMENT', 'nothing is painted as background: unpainted voxels are unknown, so paint background with a label you do not learn, or mark complete slices')
  }
  return { data, ignoreValue: UNPAINTED }
}
