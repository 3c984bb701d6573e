/**
 * Label maps from model outputs. See docs/inference.md ("Label maps").
 */
import type { OutputSettings } from '../bundle/manifest'
import { SegError } from '../errors'
import { keepLargestComponents } from './components'
import { argmaxLabels, sigmoidLabels, type LabelArray } from './decode'

export { allocLabels, argmaxLabels, sigmoidLabels, softmax, type LabelArray } from './decode'
export { largestComponent, keepLargestComponents } from './components'

/**
 * The manifest's `output` section applied to a [K, voxels] score array: softmax → argmax (first
 * maximum wins), sigmoid → `sigmoidLabels` with the threshold, then `largestComponent` filtering.
 *
 * @param scores  [K, voxels] float32 model output (channel-major); K must equal output.labels.length
 * @param K       number of output channels
 * @param size    [n0, n1, n2] voxels, n0 fastest (used only for largestComponent)
 * @param output  the manifest's `output` section
 */
export function decodeOutput(
  scores: Float32Array,
  K: number,
  size: readonly [number, number, number],
  output: OutputSettings
): LabelArray {
  const voxels = size[0] * size[1] * size[2]
  const values = output.labels.map((l) => l.value)
  if (values.length !== K) {
    throw new SegError(
      'MODEL_MISMATCH',
      `the model outputs ${K} channels but the manifest declares ${values.length} labels (${output.kind} output needs one per channel)`
    )
  }
  const labels =
    output.kind === 'softmax' ? argmaxLabels(scores, K, voxels, values) : sigmoidLabels(scores, K, voxels, output.threshold, values)
  return keepLargestComponents(labels, size, output.largestComponent, values)
}
