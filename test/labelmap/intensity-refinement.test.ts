/**
 * Intensity refinement (labelmap/intensity-refinement.ts): an EM fit of one Gaussian per refined
 * class with the model's probabilities as per-voxel priors.
 */
import { describe, expect, it } from 'vitest'
import { refineByIntensity, refineLabelsByIntensity, FIT_SAMPLE } from '../../src/engine/labelmap/intensity-refinement'
import { resampleProbabilities } from '../../src/engine/labelmap/resample-probabilities'
import { SegError } from '../../src/engine/errors'
import type { Grid } from '../../src/engine/volume/volume'

/** Deterministic standard normals (mulberry32 + Box-Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())
}

const grid = (size: [number, number, number], spacing: [number, number, number]): Grid => ({
  size,
  spacing,
  origin: [0, 0, 0],
  direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]
})

describe('refineByIntensity', () => {
  it('recovers the means and spreads of a two-class mixture from a weak, often wrong prior', () => {
    const n = 40_000
    const rnd = normals(1)
    const x = new Float32Array(n)
    for (let i = 0; i < n; i++) x[i] = i % 3 === 0 ? 100 + 10 * rnd() : 200 + 20 * rnd() // 1/3 vs 2/3
    // K = 3 channels: 0 background (always 0.1), 1 and 2 the refined classes. The prior leans 0.5 vs
    // 0.4 towards the true class for 70 % of the voxels and the wrong way for the others.
    const P = new Float32Array(n * 3)
    for (let i = 0; i < n; i++) {
      const right = i % 10 < 7
      const lean = (i % 3 === 0) === right ? [0.5, 0.4] : [0.4, 0.5]
      P.set([0.1, ...lean], i * 3)
    }
    const { fit, probabilities } = refineByIntensity({ intensities: x, probabilities: P, K: 3, classes: [1, 2], maxIterations: 200, tolerance: 1e-9 })
    expect(fit.converged).toBe(true)
    expect(fit.means[0]).toBeCloseTo(100, 0)
    expect(fit.means[1]).toBeCloseTo(200, 0)
    expect(fit.sds[0]).toBeGreaterThan(9.5)
    expect(fit.sds[0]).toBeLessThan(10.5)
    expect(fit.sds[1]).toBeGreaterThan(19)
    expect(fit.sds[1]).toBeLessThan(21)
    // background untouched, refined mass preserved, classes follow the intensity
    expect(probabilities[0]).toBeCloseTo(0.1, 6)
    expect(probabilities[1] + probabilities[2]).toBeCloseTo(0.9, 5)
    const low = Array.from({ length: n }, (_, i) => i).filter((i) => x[i] < 130)
    expect(low.every((i) => probabilities[i * 3 + 1] > probabilities[i * 3 + 2])).toBe(true)
  })

  it('keeps the prior where it is certain, and for NaN intensities and classes absent everywhere', () => {
    const x = new Float32Array([10, 10, 50, 50, NaN])
    // K = 4: channel 3 has no prior anywhere
    const P = new Float32Array([
      0, 1, 0, 0, // certain class 1
      0, 0.5, 0.5, 0,
      0, 0.5, 0.5, 0,
      0, 0, 1, 0, // certain class 2
      0.2, 0.3, 0.5, 0 // NaN intensity
    ])
    const { probabilities } = refineByIntensity({ intensities: x, probabilities: P, K: 4, classes: [1, 2, 3], maxIterations: 50, tolerance: 1e-8 })
    expect(Array.from(probabilities.slice(0, 4))).toEqual([0, 1, 0, 0])
    expect(Array.from(probabilities.slice(12, 16))).toEqual([0, 0, 1, 0])
    expect(Array.from(probabilities.slice(16, 20))).toEqual(Array.from(P.slice(16, 20)))
    expect(probabilities[5]).toBeGreaterThan(0.99) // 10 is class 1's intensity
    expect(probabilities[10]).toBeGreaterThan(0.99) // 50 is class 2's
    expect(probabilities.every((p) => Number.isFinite(p))).toBe(true)
  })

  it('changes nothing on a constant image (no intensity evidence)', () => {
    const n = 1000
    const P = new Float32Array(n * 2)
    for (let i = 0; i < n; i++) P.set([i / n, 1 - i / n], i * 2)
    const { probabilities } = refineByIntensity({ intensities: new Float32Array(n).fill(7), probabilities: P, K: 2, classes: [0, 1], maxIterations: 20, tolerance: 0 })
    for (let i = 0; i < P.length; i++) expect(probabilities[i]).toBeCloseTo(P[i], 6)
  })

  it('fits on an even sample when there are more than FIT_SAMPLE voxels, and gives every voxel its posterior', () => {
    const n = 2 * FIT_SAMPLE + 10
    const rnd = normals(2)
    const x = new Float32Array(n)
    const P = new Float32Array(n * 2)
    for (let i = 0; i < n; i++) {
      x[i] = i % 2 ? 10 + rnd() : 20 + rnd()
      P.set(i % 2 === (i % 5 < 4 ? 1 : 0) ? [0.6, 0.4] : [0.4, 0.6], i * 2) // leans right 80 % of the time
    }
    const { fit, probabilities } = refineByIntensity({ intensities: x, probabilities: P, K: 2, classes: [0, 1], maxIterations: 100, tolerance: 1e-8 })
    expect(Math.min(...fit.means)).toBeCloseTo(10, 0)
    expect(Math.max(...fit.means)).toBeCloseTo(20, 0)
    const c10 = fit.means[0] < fit.means[1] ? 0 : 1
    // the last voxel (not in the fitting sample) is decided by its intensity too
    expect(probabilities[(n - 1) * 2 + c10]).toBeGreaterThan(0.99)
  })

  it('a class absent from the fitting sample keeps the model probability; the others share their own mass', () => {
    // 2 * FIT_SAMPLE + 2 voxels: stride 3. Class 3 has prior only at voxel 1, which is not in the sample.
    const n = 2 * FIT_SAMPLE + 2
    const rnd = normals(5)
    const x = new Float32Array(n)
    const P = new Float32Array(n * 4)
    for (let i = 0; i < n; i++) {
      x[i] = i % 2 ? 10 + rnd() : 20 + rnd()
      P.set(i % 2 ? [0, 0.6, 0.4, 0] : [0, 0.4, 0.6, 0], i * 4)
    }
    x[1] = 15
    P.set([0.1, 0.05, 0.05, 0.8], 4)
    const { probabilities, fit } = refineByIntensity({ intensities: x, probabilities: P, K: 4, classes: [1, 2, 3], maxIterations: 50, tolerance: 1e-8 })
    expect(Number.isNaN(fit.means[2])).toBe(true) // no weight in the fit
    expect(probabilities[4 + 3]).toBeCloseTo(0.8, 6) // kept
    expect(probabilities[4]).toBeCloseTo(0.1, 6) // background kept
    expect(probabilities[4 + 1] + probabilities[4 + 2]).toBeCloseTo(0.1, 6) // the present classes' own mass
  })

  it('far outliers (every likelihood underflows) still get a finite posterior: the nearest class in σ', () => {
    const n = 2000
    const rnd = normals(6)
    const x = new Float32Array(n)
    const P = new Float32Array(n * 2)
    for (let i = 0; i < n; i++) {
      x[i] = i % 2 ? 100 + rnd() : 200 + 10 * rnd()
      P.set([0.5 + (i % 2 ? 0.1 : -0.1), 0.5 - (i % 2 ? 0.1 : -0.1)], i * 2)
    }
    x[0] = 1e6 // > 80 000 σ from either class: exp underflows for both
    const { probabilities } = refineByIntensity({ intensities: x, probabilities: P, K: 2, classes: [0, 1], maxIterations: 50, tolerance: 1e-8 })
    expect(probabilities.every((p) => Number.isFinite(p))).toBe(true)
    expect(probabilities[0] + probabilities[1]).toBeCloseTo(1, 6) // the mass, as float32 inputs sum
    expect(probabilities[1]).toBeGreaterThan(0.99) // the wide class (σ 10) is nearer in σ than the narrow one (σ 1)
  })

  it('nothing to fit (no mass, or only NaN and infinite intensities): the model probabilities, 0 iterations', () => {
    const P = new Float32Array([0.3, 0.7, 0.6, 0.4, 0.5, 0.5])
    for (const x of [new Float32Array([NaN, Infinity, -Infinity]), new Float32Array(0)]) {
      const probs = x.length ? P : new Float32Array(0)
      const { probabilities, fit } = refineByIntensity({ intensities: x, probabilities: probs, K: 2, classes: [0, 1], maxIterations: 10, tolerance: 1e-5 })
      expect(Array.from(probabilities)).toEqual(Array.from(probs))
      expect(fit).toMatchObject({ iterations: 0, converged: false })
    }
  })

  it('says what is wrong with bad arguments, in one line', () => {
    const call = (over: object) => () =>
      refineByIntensity({ intensities: new Float32Array(2), probabilities: new Float32Array(4), K: 2, classes: [0, 1], maxIterations: 5, tolerance: 1e-5, ...over })
    expect(call({ probabilities: new Float32Array(3) })).toThrow(/3 probabilities for 2 voxels × K = 2/)
    expect(call({ classes: [1] })).toThrow(/classes must be ≥ 2 distinct channel indices in 0\.\.1, got \[1\]/)
    expect(call({ classes: [0, 2] })).toThrow(SegError)
    expect(call({ maxIterations: 0 })).toThrow(/maxIterations must be a positive integer/)
  })
})

describe('refineLabelsByIntensity on a coarse model grid', () => {
  it('puts a boundary the 4 mm model blurred back where the 1 mm image has it', () => {
    // Model grid: 16 voxels of 4 mm along x; class 1 ("GM") left, class 2 ("WM") right, with a soft
    // ramp over 5 voxels (20 mm) around x = 30 mm. The image (1 mm) steps at x = 33 mm exactly.
    const source = grid([16, 2, 2], [4, 4, 4])
    const target = grid([60, 6, 6], [1, 1, 1]) // inside the source's extent (x ≤ 61.5 mm, y, z ≤ 5.5 mm)
    const ns = 16 * 4
    const probs = new Float32Array(3 * ns)
    for (let v = 0; v < ns; v++) {
      const xmm = (v % 16) * 4
      const t = Math.min(1, Math.max(0, (xmm - 20) / 20)) // 0 at 20 mm, 1 at 40 mm
      probs[v] = 0.02
      probs[ns + v] = 0.98 * (1 - t)
      probs[2 * ns + v] = 0.98 * t
    }
    const values = [0, 1, 2]
    const { labels, kept } = resampleProbabilities(probs, 3, source, target, values, { channels: [1, 2], minMass: 0.01 })
    expect(Buffer.from(labels.buffer).equals(Buffer.from(resampleProbabilities(probs, 3, source, target, values).labels.buffer))).toBe(true)
    expect(kept!.index.length).toBe(60 * 6 * 6) // every target voxel has the mass
    const rnd = normals(3)
    const image = new Float32Array(60 * 6 * 6)
    for (let o = 0; o < image.length; o++) image[o] = (o % 60 < 33 ? 80 : 120) + 2 * rnd()
    const before = Array.from({ length: 60 }, (_, i) => labels[i])
    const refined = refineLabelsByIntensity({ labels, kept: kept!, image, size: target.size, labelValues: values, classes: [1, 2], maxIterations: 50, tolerance: 1e-6, biasFieldOrder: 0 })
    const row = (l: ArrayLike<number>, j: number, k: number) => Array.from({ length: 60 }, (_, i) => l[i + 60 * (j + 6 * k)])
    expect(before.indexOf(2)).toBe(31) // the model's own boundary (a tie at 30 mm: the first class wins)
    for (const [j, k] of [[0, 0], [3, 5], [5, 5]]) {
      const r = row(refined.labels, j, k)
      expect(r.indexOf(2)).toBe(33)
      expect(r.slice(33).every((v) => v === 2)).toBe(true)
    }
    expect(labels[0]).toBe(1) // the input array is not modified
    expect(refined.fit.means[0]).toBeCloseTo(80, 0)
    expect(refined.fit.means[1]).toBeCloseTo(120, 0)
  })

  it('refuses an image on another grid', () => {
    expect(() =>
      refineLabelsByIntensity({
        labels: new Uint8Array(8),
        kept: { index: new Uint32Array(0), probabilities: new Float32Array(0) },
        image: new Float32Array(7),
        size: [2, 2, 2],
        labelValues: [0, 1],
        classes: [0, 1],
        maxIterations: 5,
        tolerance: 1e-5,
        biasFieldOrder: 0
      })
    ).toThrow(/image has 7 voxels, labels 8, grid 2×2×2; expected the same grid/)
  })

  it('a smooth bias field fitted alongside undoes a ×0.55…×1.8 intensity gradient', () => {
    // Stripes of two classes (80 and 120) along j, the whole volume multiplied by exp(0.6 x), x in
    // [-1, 1] along i: uncorrected, the bright end of class 1 is brighter than the dark end of class 2.
    const size: [number, number, number] = [40, 10, 10]
    const n = 4000
    const rnd = normals(4)
    const image = new Float32Array(n)
    const truth = new Uint8Array(n)
    const probs = new Float32Array(n * 3)
    for (let v = 0; v < n; v++) {
      const i = v % 40
      const j = Math.floor(v / 40) % 10
      truth[v] = j % 2 ? 2 : 1
      image[v] = ((truth[v] === 1 ? 80 : 120) + 3 * rnd()) * Math.exp(0.6 * ((2 * i) / 39 - 1))
      const right = v % 5 !== 0 // the prior leans the right way (0.55 vs 0.45) for 80 % of the voxels
      probs.set([0, truth[v] === 1 === right ? 0.55 : 0.45, truth[v] === 1 === right ? 0.45 : 0.55], v * 3)
    }
    const kept = { index: Uint32Array.from({ length: n }, (_, v) => v), probabilities: probs }
    const labels = new Uint8Array(n).fill(1)
    const run = (biasFieldOrder: number) =>
      refineLabelsByIntensity({ labels, kept, image, size, labelValues: [0, 1, 2], classes: [1, 2], maxIterations: 100, tolerance: 1e-8, biasFieldOrder })
    const accuracy = (l: ArrayLike<number>) => Array.from(truth).filter((t, v) => l[v] === t).length / n
    const plain = run(0)
    const corrected = run(1)
    expect(accuracy(plain.labels)).toBeLessThan(0.9)
    expect(accuracy(corrected.labels)).toBeGreaterThan(0.99)
    const { min, max } = corrected.fit.biasField!
    expect(max / min).toBeGreaterThan(Math.exp(1.2) * 0.95) // the imposed field spans e^1.2
    expect(max / min).toBeLessThan(Math.exp(1.2) * 1.05)
    expect(plain.fit.biasField).toBeUndefined()
    expect(run(2).labels).toEqual(corrected.labels) // a higher degree finds the same field here
  })

  it('a bias field needs positions, and a sensible degree', () => {
    const base = { intensities: new Float32Array(2), probabilities: new Float32Array(4), K: 2, classes: [0, 1], maxIterations: 5, tolerance: 1e-5 }
    expect(() => refineByIntensity({ ...base, biasFieldOrder: 2 })).toThrow(/a bias field needs positions for the 2 voxels \(\[n, 3\]\), got none/)
    expect(() => refineByIntensity({ ...base, biasFieldOrder: 5, positions: new Float32Array(6) })).toThrow(/biasFieldOrder must be an integer in 0\.\.4, got 5/)
  })
})
