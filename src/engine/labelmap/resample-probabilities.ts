/**
 * A label map on another grid from class probabilities on the model's grid.
 *
 * When a model runs on a coarser grid than the input (conform to 2 mm, target spacing), its labels
 * must come back onto the input's grid. Nearest-neighbour resampling of the labels turns every model
 * voxel into a block, so thin structures (cortex) get stair-stepped edges. Like nnU-Net, we
 * interpolate the class probabilities trilinearly at each input voxel and decode there. On
 * t1_crop (1 mm) with a 2 mm model this is worth several Dice points for grey matter (see
 * docs/inference.md, "Back to the input grid").
 *
 * Written here rather than as K `resampleToGrid` calls + argmax: that would hold K float32 volumes on
 * the (large) input grid. This walks the target once and interpolates only where the 8 neighbouring
 * model voxels disagree on their label; where they agree the interpolated decision is the same (a
 * convex combination keeps every "p_c ≥ p_k" and "p_c ≥ threshold"), so it is copied.
 */
import { SegError } from '../errors'
import type { Grid } from '../volume/volume'
import { indexMapping, snapped } from '../volume/resample'
import { allocLabels, argmaxLabels, type LabelArray } from './decode'

/** How probabilities become a label; mirrors the manifest's `output.kind`. */
export type ProbabilityDecoding =
  | { kind: 'softmax' } // argmax over K channels (background is a channel), first maximum wins
  | { kind: 'sigmoid'; threshold: number } // best channel if its probability ≥ threshold, else 0

/**
 * Labels on `target` from per-class probabilities on `source`.
 *
 * @param probabilities [K, voxels of source] float32, channel-major, source voxel order (i fastest)
 * @param K             number of channels
 * @param source        the grid the probabilities live on (the model grid)
 * @param target        the grid of the label map to produce (the input's grid)
 * @param decoding      softmax (argmax) or sigmoid (threshold; no background channel)
 * @param labelValues   K label values, `labelValues[k]` for channel k
 * @returns a label array on `target` (i fastest); target voxels outside the source volume get 0.
 *   Extent and edge handling are those of `resampleToGrid(..., 'linear')`, so the result equals
 *   interpolating each channel with it and decoding voxel by voxel.
 */
export function resampleProbabilitiesToLabels(
  probabilities: Float32Array,
  K: number,
  source: Grid,
  target: Grid,
  decoding: ProbabilityDecoding,
  labelValues: readonly number[]
): LabelArray {
  const [nx, ny, nz] = source.size
  const nSrc = nx * ny * nz
  if (probabilities.length !== K * nSrc) {
    throw new SegError('BAD_ARGUMENT', `resampleProbabilitiesToLabels: ${probabilities.length} values for K × source voxels = ${K} × ${nSrc}`)
  }
  if (decoding.kind === 'sigmoid' && !(decoding.threshold > 0 && decoding.threshold < 1)) {
    throw new SegError('BAD_ARGUMENT', `resampleProbabilitiesToLabels: threshold must be > 0 and < 1, got ${decoding.threshold}`)
  }
  const values = Int32Array.from(labelValues)
  // Channel index decoded from K probabilities read by `at(k)`; shared by the source pass and the
  // interpolated voxels so both decide identically.
  const threshold = decoding.kind === 'sigmoid' ? decoding.threshold : -1
  const decide = (at: (k: number) => number): number => {
    let best = 0
    let bestP = at(0)
    for (let k = 1; k < K; k++) {
      const p = at(k)
      if (p > bestP || (bestP !== bestP && p === p)) {
        best = k
        bestP = p
      }
    }
    return threshold < 0 || bestP >= threshold ? values[best] : 0
  }
  // Source labels (for the agreement shortcut). argmaxLabels checks K and the label values.
  const srcLabels =
    decoding.kind === 'softmax' ? argmaxLabels(probabilities, K, nSrc, labelValues) : allocLabels(nSrc, labelValues)
  if (decoding.kind === 'sigmoid') for (let v = 0; v < nSrc; v++) srcLabels[v] = decide((k) => probabilities[k * nSrc + v])

  const { M, b } = indexMapping(source, target)
  const [tx, ty, tz] = target.size
  const out = allocLabels(tx * ty * tz, labelValues)
  const nxy = nx * ny
  let o = 0
  for (let k = 0; k < tz; k++) {
    for (let j = 0; j < ty; j++) {
      const bx = b[0] + M[1] * j + M[2] * k
      const by = b[1] + M[4] * j + M[5] * k
      const bz = b[2] + M[7] * j + M[8] * k
      for (let i = 0; i < tx; i++, o++) {
        let x = snapped(bx + M[0] * i)
        let y = snapped(by + M[3] * i)
        let z = snapped(bz + M[6] * i)
        if (x < -0.5 || y < -0.5 || z < -0.5 || x > nx - 0.5 || y > ny - 0.5 || z > nz - 0.5) continue // 0
        x = x < 0 ? 0 : x > nx - 1 ? nx - 1 : x
        y = y < 0 ? 0 : y > ny - 1 ? ny - 1 : y
        z = z < 0 ? 0 : z > nz - 1 ? nz - 1 : z
        const x0 = Math.floor(x)
        const y0 = Math.floor(y)
        const z0 = Math.floor(z)
        const p = x0 + nx * y0 + nxy * z0
        const dx = x0 < nx - 1 ? 1 : 0
        const dy = y0 < ny - 1 ? nx : 0
        const dz = z0 < nz - 1 ? nxy : 0
        const l = srcLabels[p]
        if (
          srcLabels[p + dx] === l && srcLabels[p + dy] === l && srcLabels[p + dy + dx] === l &&
          srcLabels[p + dz] === l && srcLabels[p + dz + dx] === l && srcLabels[p + dz + dy] === l && srcLabels[p + dz + dy + dx] === l
        ) {
          out[o] = l
          continue
        }
        const fx = x - x0
        const fy = y - y0
        const fz = z - z0
        // the same arithmetic as resample.ts's sampleLinear, channel by channel
        out[o] = decide((c) => {
          const q = c * nSrc + p
          const s = probabilities
          const c00 = s[q] + fx * (s[q + dx] - s[q])
          const c10 = s[q + dy] + fx * (s[q + dy + dx] - s[q + dy])
          const c01 = s[q + dz] + fx * (s[q + dz + dx] - s[q + dz])
          const c11 = s[q + dz + dy] + fx * (s[q + dz + dy + dx] - s[q + dz + dy])
          const c0 = c00 + fy * (c10 - c00)
          const c1 = c01 + fy * (c11 - c01)
          return Math.fround(c0 + fz * (c1 - c0)) // float32, as resampleToGrid stores it
        })
      }
    }
  }
  return out
}
