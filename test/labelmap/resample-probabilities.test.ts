import { describe, expect, it } from 'vitest'
import { argmaxLabels, resampleProbabilities, softmax } from '../../src/engine/labelmap'
import { dice } from '../../src/engine/labelmap/metrics'
import { resampleToGrid } from '../../src/engine/volume/resample'
import type { Grid, Vec3, Volume } from '../../src/engine/volume/volume'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'

const voxels = (g: Grid) => g.size[0] * g.size[1] * g.size[2]

/** Reference: each channel through resampleToGrid (linear), then argmax voxel by voxel. Outside the
 * source volume every channel is filled with 0, so channel 0 (background) wins there, as it should. */
function bruteForce(probs: Float32Array, K: number, source: Grid, target: Grid, labelValues: number[]) {
  const n = voxels(source)
  const m = voxels(target)
  const stacked = new Float32Array(K * m)
  for (let k = 0; k < K; k++) {
    const ch: Volume = { ...source, data: probs.slice(k * n, (k + 1) * n) }
    stacked.set(resampleToGrid(ch, target, { interpolation: 'linear', fill: 0 }).data as Float32Array, k * m)
  }
  return argmaxLabels(stacked, K, m, labelValues)
}

// A coarse 2 mm source grid and an oblique, finer target grid that pokes out of it on one side.
const source: Grid = { size: [12, 10, 9], spacing: [2, 2, 2], origin: [-11, -9, -8], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
const c = Math.cos(0.3)
const s = Math.sin(0.3)
const target: Grid = { size: [25, 19, 17], spacing: [1, 1.1, 0.9], origin: [-9, -12, -6], direction: [c, -s, 0, s, c, 0, 0, 0, 1] }

describe('resampleProbabilities', () => {
  it('softmax: equals interpolating every channel with resampleToGrid and taking the argmax, voxel for voxel', () => {
    const K = 4
    const rand = mulberry32(7)
    const logits = Float32Array.from({ length: K * voxels(source) }, () => 3 * (rand() - 0.5))
    const probs = softmax(logits, K, voxels(source))
    const got = resampleProbabilities(probs, K, source, target, [0, 1, 2, 3]).labels
    const want = bruteForce(probs, K, source, target, [0, 1, 2, 3])
    let outside = 0
    for (let v = 0; v < got.length; v++) if (want[v] === 0 && got[v] === 0) outside++
    expect(Array.from(got)).toEqual(Array.from(want))
    expect(outside).toBeGreaterThan(0) // the target really leaves the source volume somewhere
  })

  it('on the same grid it is the plain argmax', () => {
    const K = 3
    const rand = mulberry32(3)
    const probs = Float32Array.from({ length: K * voxels(source) }, () => rand())
    expect(Array.from(resampleProbabilities(probs, K, source, source, [0, 4, 9]).labels)).toEqual(
      Array.from(argmaxLabels(probs, K, voxels(source), [0, 4, 9]))
    )
  })

  it('brings a sphere from a 3 mm grid back to 1 mm closer to the true sphere than nearest-neighbour labels do', () => {
    // the true sphere on a 1 mm grid, and a 3 mm model that knows it perfectly (soft, partial-volume probabilities)
    const fine: Grid = { size: [60, 60, 60], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const coarse: Grid = { size: [20, 20, 20], spacing: [3, 3, 3], origin: [1, 1, 1], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const centre: Vec3 = [29.5, 29.5, 29.5]
    const inside = (x: number, y: number, z: number) => (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 < 17.3 ** 2
    const truth = new Uint8Array(voxels(fine))
    for (let z = 0, o = 0; z < 60; z++) for (let y = 0; y < 60; y++) for (let x = 0; x < 60; x++, o++) truth[o] = inside(x, y, z) ? 1 : 0
    const nc = voxels(coarse)
    const probs = new Float32Array(2 * nc)
    for (let z = 0, o = 0; z < 20; z++) for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++, o++) {
      let n = 0 // fraction of the 3 mm voxel inside the sphere (27 sub-samples)
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) for (let d = -1; d <= 1; d++) n += inside(1 + 3 * x + a, 1 + 3 * y + b, 1 + 3 * z + d) ? 1 : 0
      probs[nc + o] = n / 27
      probs[o] = 1 - n / 27
    }
    const soft = resampleProbabilities(probs, 2, coarse, fine, [0, 1]).labels
    const coarseLabels: Volume = { ...coarse, data: argmaxLabels(probs, 2, nc, [0, 1]) }
    const nearest = resampleToGrid(coarseLabels, fine, { interpolation: 'nearest', fill: 0 }).data as Uint8Array
    const one = (v: number) => v === 1
    const dSoft = dice(soft, truth, one, one)
    const dNearest = dice(nearest, truth, one, one)
    expect(dSoft).toBeGreaterThan(dNearest + 0.01)
    expect(dSoft).toBeGreaterThan(0.97)
  })

  it('rejects probabilities that do not fit the source grid', () => {
    expect(() => resampleProbabilities(new Float32Array(5), 2, source, target, [0, 1])).toThrow(
      `5 values for K × source voxels = 2 × ${voxels(source)}`
    )
  })
})
