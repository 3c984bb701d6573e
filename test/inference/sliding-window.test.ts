import { describe, expect, it } from 'vitest'
import { SegError } from '../../src/engine/errors'
import {
  checkWindowCount,
  gaussianImportanceMap,
  slidingWindowInference,
  windowStarts,
  type PatchPredictor,
  type Vec3i
} from '../../src/engine/inference/sliding-window'

/** Deterministic pseudo-random values in [0, 1). */
function volume(n: number, seed = 1): Float32Array {
  const a = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    a[i] = s / 2 ** 32
  }
  return a
}

/** out_k = 2 · x_(k mod C) + 1 + k, voxel by voxel (a "model" with a 1x1x1 receptive field). */
function pointwise(C: number, K: number): PatchPredictor {
  return async (batch, n, patch) => {
    const pv = patch[0] * patch[1] * patch[2]
    const out = new Float32Array(n * K * pv)
    for (let w = 0; w < n; w++)
      for (let k = 0; k < K; k++)
        for (let v = 0; v < pv; v++) out[(w * K + k) * pv + v] = 2 * batch[(w * C + (k % C)) * pv + v] + 1 + k
    return out
  }
}

function direct(input: Float32Array, C: number, K: number, voxels: number): Float32Array {
  const out = new Float32Array(K * voxels)
  for (let k = 0; k < K; k++) for (let v = 0; v < voxels; v++) out[k * voxels + v] = 2 * input[(k % C) * voxels + v] + 1 + k
  return out
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

describe('windowStarts (MONAI dense_patch_slices)', () => {
  it.each([
    [10, 4, 0.5, [0, 2, 4, 6]],
    [10, 4, 0, [0, 4, 6]],
    [10, 4, 0.25, [0, 3, 6]],
    [256, 128, 0.5, [0, 64, 128]],
    [96, 96, 0.5, [0]],
    [7, 3, 0.9, [0, 1, 2, 3, 4]],
    [11, 5, 0.4, [0, 3, 6]],
    [5, 1, 0, [0, 1, 2, 3, 4]]
  ])('size %i patch %i overlap %f → %j', (size, patch, overlap, expected) => {
    expect(windowStarts(size, patch, overlap)).toEqual(expected)
  })
  it('rejects an overlap outside [0, 1)', () => {
    expect(() => windowStarts(10, 4, 1)).toThrow('overlap must be >= 0 and < 1')
  })
})

describe('gaussianImportanceMap', () => {
  it('is the separable Gaussian with σ = sigmaScale × patch, max 1, clamped at 1e-3', () => {
    const patch: Vec3i = [5, 8, 33]
    const m = gaussianImportanceMap(patch, 0.125)
    expect(m.length).toBe(5 * 8 * 33)
    let max = 0
    let min = Infinity
    for (const x of m) {
      max = Math.max(max, x)
      min = Math.min(min, x)
    }
    expect(max).toBeCloseTo(1, 7)
    expect(min).toBeCloseTo(1e-3, 9)
    const g = (i: number, p: number) => {
      const s = 0.125 * p
      const c = (p - 1) / 2
      const e = (x: number) => Math.exp(-((x - c) ** 2) / (2 * s * s))
      return e(i) / e(Math.floor(c))
    }
    const at = (a: number, b: number, c: number) => m[(a * 8 + b) * 33 + c]
    expect(at(2, 3, 16)).toBeCloseTo(g(2, 5) * g(3, 8) * g(16, 33), 6)
    expect(at(1, 4, 14)).toBeCloseTo(Math.max(1e-3, g(1, 5) * g(4, 8) * g(14, 33)), 6)
    expect(at(0, 0, 0)).toBeCloseTo(1e-3, 9)
    // symmetric about the centre
    expect(at(0, 1, 2)).toBe(at(4, 6, 30))
  })
  it('rejects a non-positive sigmaScale', () => {
    expect(() => gaussianImportanceMap([4, 4, 4], 0)).toThrow(SegError)
  })
})

describe('checkWindowCount', () => {
  it('refuses more than LIMITS.windows windows in one line naming the count, before any window runs', async () => {
    const counts = [256, 256, 128].map((s) => windowStarts(s, 64, 0.95).length) // step 3: 65 x 65 x 23
    expect(checkWindowCount(counts)).toBe(97175) // within the limit
    const big = [700, 700, 700].map((s) => windowStarts(s, 64, 0.95).length)
    expect(() => checkWindowCount(big)).toThrow('the sliding window needs 9663597 windows (213x213x213); expected at most 200000 (LIMITS.windows) (a lower inference.overlap or a larger patch)')
    let calls = 0
    const run = slidingWindowInference({
      input: new Float32Array(700 * 700 * 70), channels: 1, spatial: [700, 700, 70], patchSize: [4, 4, 4], overlap: 0.5, batchSize: 1,
      blend: 'constant', sigmaScale: 0.125, outChannels: 1, predict: async (x) => (calls++, x)
    })
    await expect(run).rejects.toMatchObject({ code: 'TOO_LARGE' })
    expect(calls).toBe(0)
  })
})

describe('slidingWindowInference with an analytic predictor', () => {
  const cases: [Vec3i, Vec3i, number, number, 'gaussian' | 'constant', number, number][] = [
    // spatial, patch, overlap, batchSize, blend, C, K
    [[12, 10, 9], [4, 4, 4], 0.5, 2, 'gaussian', 1, 3],
    [[12, 10, 9], [5, 3, 4], 0.25, 3, 'gaussian', 2, 2], // non-dividing strides
    [[12, 10, 9], [5, 3, 4], 0, 1, 'constant', 1, 1],
    [[7, 9, 11], [16, 4, 4], 0.5, 4, 'gaussian', 1, 2], // patch larger than the volume on d0
    [[7, 9, 11], [16, 12, 20], 0.5, 2, 'gaussian', 2, 3], // patch larger on every axis
    [[6, 6, 6], [6, 6, 6], 0.5, 1, 'gaussian', 1, 1], // patch == volume: one window
    [[13, 1, 17], [4, 3, 5], 0.8, 5, 'constant', 1, 2], // flat axis, heavy overlap
    [[20, 18, 16], [8, 8, 8], 0.9, 7, 'gaussian', 1, 2]
  ]
  it.each(cases)('spatial %j patch %j overlap %f batch %i %s C=%i K=%i equals the direct computation', async (spatial, patch, overlap, batchSize, blend, C, K) => {
    const voxels = spatial[0] * spatial[1] * spatial[2]
    const input = volume(C * voxels, voxels)
    let calls = 0
    const predict = pointwise(C, K)
    const out = await slidingWindowInference({
      input,
      channels: C,
      spatial,
      patchSize: patch,
      overlap,
      batchSize,
      blend,
      sigmaScale: 0.125,
      outChannels: K,
      predict: (b, n, p) => {
        calls++
        expect(n).toBeLessThanOrEqual(batchSize)
        expect(b.length).toBe(n * C * p[0] * p[1] * p[2])
        return predict(b, n, p)
      }
    })
    const windows = spatial
      .map((d, a) => windowStarts(Math.max(d, patch[a]), patch[a], overlap).length)
      .reduce((x, y) => x * y, 1)
    expect(calls).toBe(Math.ceil(windows / batchSize))
    expect(maxAbsDiff(out, direct(input, C, K, voxels))).toBeLessThan(1e-6)
  })

  it('pads a volume smaller than the patch with padValue, centred (MONAI: odd voxel after)', async () => {
    const spatial: Vec3i = [2, 3, 1]
    const input = Float32Array.from([1, 2, 3, 4, 5, 6])
    let seen: Float32Array | undefined
    await slidingWindowInference({
      input, channels: 1, spatial, patchSize: [4, 4, 2], overlap: 0.5, batchSize: 1, blend: 'constant',
      sigmaScale: 0.125, outChannels: 1, padValue: -7,
      predict: async (b) => {
        seen = b.slice()
        return b.slice()
      }
    })
    // d0: 2 → 4 pads 1 before, 1 after; d1: 3 → 4 pads 0 before, 1 after; d2: 1 → 2 pads 0 before, 1 after
    const expected = new Float32Array(32).fill(-7)
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected[((i + 1) * 4 + j) * 2] = input[i * 3 + j]
    expect(seen).toEqual(expected)
  })

  it('reports progress per batch and honours an AbortSignal between batches', async () => {
    const spatial: Vec3i = [8, 8, 8]
    const input = volume(512)
    const progress: [number, number][] = []
    const ac = new AbortController()
    const run = slidingWindowInference({
      input, channels: 1, spatial, patchSize: [4, 4, 4], overlap: 0.5, batchSize: 5, blend: 'gaussian',
      sigmaScale: 0.125, outChannels: 1, predict: pointwise(1, 1), signal: ac.signal,
      onProgress: (done, total) => {
        progress.push([done, total])
        if (done >= 10) ac.abort()
      }
    })
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(progress).toEqual([[5, 27], [10, 27]])
  })

  it('validates its parameters up front', async () => {
    const base = {
      input: new Float32Array(64), channels: 1, spatial: [4, 4, 4] as Vec3i, patchSize: [2, 2, 2] as Vec3i, overlap: 0.5,
      batchSize: 1, blend: 'gaussian' as const, sigmaScale: 0.125, outChannels: 1, predict: pointwise(1, 1)
    }
    await expect(slidingWindowInference({ ...base, overlap: 1 })).rejects.toThrow('overlap must be >= 0 and < 1, got 1')
    await expect(slidingWindowInference({ ...base, overlap: -0.1 })).rejects.toThrow('overlap must be >= 0 and < 1')
    await expect(slidingWindowInference({ ...base, patchSize: [2, 0, 2] })).rejects.toThrow('patchSize must be 3 positive integers')
    await expect(slidingWindowInference({ ...base, batchSize: 0 })).rejects.toThrow('batchSize must be a positive integer')
    await expect(slidingWindowInference({ ...base, input: new Float32Array(63) })).rejects.toThrow('input holds 63 values')
    await expect(slidingWindowInference({ ...base, predict: async () => new Float32Array(3) })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH'
    })
  })
})

describe('slidingWindowInference against a naive float64 reference (window-dependent predictor)', () => {
  /** out_k = x_0 + (k + 1) · mean of the window's channel 0: each window predicts differently. */
  const windowMean: PatchPredictor = async (batch, n, patch) => {
    const pv = patch[0] * patch[1] * patch[2]
    const C = batch.length / (n * pv)
    const out = new Float32Array(n * 2 * pv)
    for (let w = 0; w < n; w++) {
      let m = 0
      for (let v = 0; v < pv; v++) m += batch[w * C * pv + v]
      m /= pv
      for (let k = 0; k < 2; k++) for (let v = 0; v < pv; v++) out[(w * 2 + k) * pv + v] = batch[w * C * pv + v] + (k + 1) * m
    }
    return out
  }
  /** Explicit padding, every window, Σ w·y / Σ w in float64, crop. */
  function naive(input: Float32Array, spatial: Vec3i, patch: Vec3i, overlap: number, blend: 'gaussian' | 'constant', padValue: number): Float64Array {
    const P = spatial.map((d, a) => Math.max(d, patch[a])) as Vec3i
    const before = spatial.map((d, a) => Math.floor((P[a] - d) / 2))
    const padded = new Float64Array(P[0] * P[1] * P[2]).fill(padValue)
    for (let i = 0; i < spatial[0]; i++) for (let j = 0; j < spatial[1]; j++) for (let k = 0; k < spatial[2]; k++)
      padded[((i + before[0]) * P[1] + j + before[1]) * P[2] + k + before[2]] = input[(i * spatial[1] + j) * spatial[2] + k]
    const imp = blend === 'gaussian' ? gaussianImportanceMap(patch, 0.125) : new Float32Array(patch[0] * patch[1] * patch[2]).fill(1)
    const num = new Float64Array(2 * padded.length)
    const den = new Float64Array(padded.length)
    const pv = imp.length
    for (const a of windowStarts(P[0], patch[0], overlap)) for (const b of windowStarts(P[1], patch[1], overlap)) for (const c of windowStarts(P[2], patch[2], overlap)) {
      let m = 0
      for (let x = 0; x < patch[0]; x++) for (let y = 0; y < patch[1]; y++) for (let z = 0; z < patch[2]; z++) m += padded[((a + x) * P[1] + b + y) * P[2] + c + z]
      m /= pv
      for (let x = 0; x < patch[0]; x++) for (let y = 0; y < patch[1]; y++) for (let z = 0; z < patch[2]; z++) {
        const v = ((a + x) * P[1] + b + y) * P[2] + c + z
        const w = imp[(x * patch[1] + y) * patch[2] + z]
        den[v] += w
        for (let k = 0; k < 2; k++) num[k * padded.length + v] += w * (padded[v] + (k + 1) * m)
      }
    }
    const voxels = spatial[0] * spatial[1] * spatial[2]
    const out = new Float64Array(2 * voxels)
    for (let k = 0; k < 2; k++) for (let i = 0; i < spatial[0]; i++) for (let j = 0; j < spatial[1]; j++) for (let z = 0; z < spatial[2]; z++) {
      const v = ((i + before[0]) * P[1] + j + before[1]) * P[2] + z + before[2]
      out[k * voxels + (i * spatial[1] + j) * spatial[2] + z] = num[k * padded.length + v] / den[v]
    }
    return out
  }
  it.each([
    [[12, 10, 9], [4, 4, 4], 0.5, 'gaussian', 0],
    [[12, 10, 9], [5, 3, 7], 0.3, 'constant', 0],
    [[7, 9, 11], [16, 4, 6], 0.5, 'gaussian', -1],
    [[5, 6, 3], [8, 8, 8], 0.25, 'gaussian', 0.5],
    [[16, 16, 16], [6, 6, 6], 0.85, 'gaussian', 0]
  ] as [Vec3i, Vec3i, number, 'gaussian' | 'constant', number][])('spatial %j patch %j overlap %f %s pad %f', async (spatial, patch, overlap, blend, padValue) => {
    const voxels = spatial[0] * spatial[1] * spatial[2]
    const input = volume(voxels, 7)
    const out = await slidingWindowInference({
      input, channels: 1, spatial, patchSize: patch, overlap, batchSize: 3, blend, sigmaScale: 0.125, outChannels: 2, predict: windowMean, padValue
    })
    const ref = naive(input, spatial, patch, overlap, blend, padValue)
    let m = 0
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(out[i] - ref[i]))
    expect(m).toBeLessThan(1e-5)
  })
})
