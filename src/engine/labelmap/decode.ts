/**
 * Turning a model's class scores into a label map: pure functions over flat channel-major arrays.
 *
 * Layout of every score array here: [K, voxels] — channel k of voxel v at `k * voxels + v` (the
 * [K, d0, d1, d2] output of `runModel` is exactly that, with the spatial dims flattened). The voxel
 * order is whatever the caller's is; these functions never look at neighbours.
 */
import { SegError } from '../errors'

/** A label map: Uint8Array when every label value is ≤ 255, else Uint16Array (values ≤ 65535). */
export type LabelArray = Uint8Array | Uint16Array

/** A zeroed label array of `voxels` elements, wide enough for the largest of `labelValues`. */
export function allocLabels(voxels: number, labelValues: readonly number[]): LabelArray {
  const max = labelValues.reduce((a, b) => Math.max(a, b), 0)
  return max <= 255 ? new Uint8Array(voxels) : new Uint16Array(voxels)
}

function checkScores(name: string, scores: Float32Array, K: number, voxels: number, labelValues: readonly number[]): void {
  if (!Number.isInteger(K) || K < 1) throw new SegError('BAD_ARGUMENT', `${name}: K must be a positive integer, got ${K}`)
  if (!Number.isInteger(voxels) || voxels < 0) {
    throw new SegError('BAD_ARGUMENT', `${name}: voxels must be a non-negative integer, got ${voxels}`)
  }
  if (scores.length !== K * voxels) {
    throw new SegError('BAD_ARGUMENT', `${name}: scores hold ${scores.length} values but K × voxels = ${K} × ${voxels} = ${K * voxels}`)
  }
  if (labelValues.length !== K) {
    throw new SegError('BAD_ARGUMENT', `${name}: ${labelValues.length} label values given for ${K} channels (one per channel expected)`)
  }
  for (const v of labelValues) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      throw new SegError('BAD_ARGUMENT', `${name}: label values must be integers in 0..65535, got ${v}`)
    }
  }
}

/**
 * Argmax over channels: voxel v gets `labelValues[k]` of the channel with the largest score.
 *
 * Ties: the FIRST maximum wins (lowest k), as numpy/PyTorch argmax — required to reproduce reference
 * label maps exactly. Scores may be logits or probabilities (softmax is monotonic, the result is the
 * same). NaN never wins a comparison, so a NaN channel is skipped (channel 0 wins if all are NaN).
 *
 * @param scores      [K, voxels] float32, channel-major
 * @param K           number of channels (classes, background included)
 * @param voxels      number of voxels
 * @param labelValues K label values, `labelValues[k]` is written for class k (e.g. [0, 1, 2])
 */
export function argmaxLabels(scores: Float32Array, K: number, voxels: number, labelValues: readonly number[]): LabelArray {
  checkScores('argmaxLabels', scores, K, voxels, labelValues)
  const out = allocLabels(voxels, labelValues)
  const values = Int32Array.from(labelValues)
  for (let v = 0; v < voxels; v++) {
    let best = 0
    let bestScore = scores[v]
    for (let k = 1, o = voxels + v; k < K; k++, o += voxels) {
      const s = scores[o]
      if (s > bestScore || (bestScore !== bestScore && s === s)) {
        best = k
        bestScore = s
      }
    }
    out[v] = values[best]
  }
  return out
}

/**
 * Multi-label sigmoid decoding into one label map: voxel v gets `labelValues[k]` of the channel with
 * the largest logit (first maximum wins) if sigmoid(that logit) ≥ `threshold`, else 0.
 * Channels are ranked by logit rather than by probability because float probabilities saturate at 1
 * (sigmoid is monotonic, so the rank is otherwise the same). sigmoid is computed in float64.
 *
 * @param logits      [K, voxels] float32 logits, one channel per foreground label (no background channel)
 * @param K           number of channels
 * @param voxels      number of voxels
 * @param threshold   probability threshold in (0, 1), e.g. 0.5
 * @param labelValues K label values (normally all > 0; 0 means "background" anyway)
 */
export function sigmoidLabels(
  logits: Float32Array,
  K: number,
  voxels: number,
  threshold: number,
  labelValues: readonly number[]
): LabelArray {
  checkScores('sigmoidLabels', logits, K, voxels, labelValues)
  if (!(threshold > 0 && threshold < 1)) {
    throw new SegError('BAD_ARGUMENT', `sigmoidLabels: threshold must be > 0 and < 1, got ${threshold}`)
  }
  const out = allocLabels(voxels, labelValues)
  const values = Int32Array.from(labelValues)
  for (let v = 0; v < voxels; v++) {
    let best = 0
    let bestScore = logits[v]
    for (let k = 1, o = voxels + v; k < K; k++, o += voxels) {
      const s = logits[o]
      if (s > bestScore || (bestScore !== bestScore && s === s)) {
        best = k
        bestScore = s
      }
    }
    if (1 / (1 + Math.exp(-bestScore)) >= threshold) out[v] = values[best]
  }
  return out
}

/**
 * Softmax over channels, per voxel (numerically stable: the maximum is subtracted first, float64
 * arithmetic, float32 result). Only needed to show or save probabilities: labels come from argmax
 * on the logits directly.
 *
 * @param logits [K, voxels] float32; returns a new [K, voxels] array whose channels sum to 1
 */
export function softmax(logits: Float32Array, K: number, voxels: number): Float32Array {
  if (!Number.isInteger(K) || K < 1 || logits.length !== K * voxels) {
    throw new SegError('BAD_ARGUMENT', `softmax: logits hold ${logits.length} values, expected K × voxels = ${K} × ${voxels}`)
  }
  const out = new Float32Array(logits.length)
  const e = new Float64Array(K) // each exp computed once, kept in float64 until the division
  for (let v = 0; v < voxels; v++) {
    let max = -Infinity
    for (let k = 0, o = v; k < K; k++, o += voxels) if (logits[o] > max) max = logits[o]
    let sum = 0
    for (let k = 0, o = v; k < K; k++, o += voxels) sum += e[k] = Math.exp(logits[o] - max)
    for (let k = 0, o = v; k < K; k++, o += voxels) out[o] = e[k] / sum
  }
  return out
}
