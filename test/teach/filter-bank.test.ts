/**
 * The ONNX filter bank against analytic answers: on f = a·z² + b·y² + c·x² + g·x (mm, anisotropic
 * voxels) Gaussian derivatives of a quadratic are exact, so away from the zero-padded border the
 * gradient magnitude is |∇f|, the LoG 2(a+b+c) and the Hessian eigenvalues 2a, 2b, 2c (sorted).
 */
import { describe, expect, it } from 'vitest'
import { buildFeatureGraph } from '../../src/engine/teach/bake'
import * as ort from 'onnxruntime-node'
import { featuresOnSlices, forEachSlab, openFeatureSession, slabPlanes, sliceSpec, type FeatureGraph } from '../../src/engine/teach/features'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'
import { featureNames, filterRadius, type FilterBankSpec } from '../../src/engine/teach/filter-bank'
import type { Volume } from '../../src/engine/volume/volume'

/**
 * Features of `refs` as a [refs.length × F] matrix, gathered from the slab loop the product runs
 * (`forEachSlab`, as predictInMemory uses it); `slabVoxels` shrinks the slabs.
 */
async function featuresAt(session: ort.InferenceSession, graph: FeatureGraph, image: Volume, refs: { offset: number }[], slabVoxels?: number): Promise<Float32Array> {
  const F = graph.count
  const out = new Float32Array(refs.length * F).fill(Number.NaN)
  const rowOf = new Map(refs.map((ref, r) => [ref.offset, r]))
  await forEachSlab(session, graph, image, (features, plane, first, offset0, count) => {
    for (let v = 0; v < count; v++) {
      const r = rowOf.get(offset0 + v)
      if (r !== undefined) for (let c = 0; c < F; c++) out[r * F + c] = features[c * plane + first + v]
    }
  }, { slabVoxels })
  return out
}

describe('ONNX filter bank', () => {
  it('gives the exact gradient magnitude, LoG and sorted Hessian eigenvalues of a quadratic, per mm', async () => {
    // Voxel spacing (mm) along i, j, k; the tensor dims are (k, j, i).
    const sp = [0.5, 1, 2]
    const size: [number, number, number] = [40, 24, 14]
    const spec: FilterBankSpec = { spacing: [sp[2], sp[1], sp[0]], scalesMm: [1, 2] }
    const [a, b, c, g] = [0.003, -0.002, 0.0005, 0.01]
    const data = new Float32Array(size[0] * size[1] * size[2])
    const centre = size.map((n, ax) => ((n - 1) / 2) * sp[ax])
    const mm = (o: number) => [o % size[0], Math.floor(o / size[0]) % size[1], Math.floor(o / (size[0] * size[1]))].map((v, ax) => v * sp[ax] - centre[ax])
    for (let o = 0; o < data.length; o++) {
      const [x, y, z] = mm(o)
      data[o] = a * z * z + b * y * y + c * x * x + g * x
    }
    const image: Volume = { size, spacing: sp as [number, number, number], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data }
    const graph = buildFeatureGraph(spec)
    expect(graph.count).toBe(featureNames(spec).length)
    expect(graph.halo).toBe(filterRadius(spec))
    // The centre voxel and a few around it, well inside the border on every axis.
    const refs = [0, 1, 2].map((d) => ({ scan: 0, offset: 7 * size[0] * size[1] + 12 * size[0] + 18 + d }))
    const session = await openFeatureSession(graph)
    const f = await featuresAt(session, graph, image, refs)
    await session.release()
    for (const [r, ref] of refs.entries()) {
      const [x] = mm(ref.offset)
      const [, y, z] = mm(ref.offset)
      const row = f.subarray(r * graph.count, (r + 1) * graph.count)
      expect(row[0]).toBe(data[ref.offset]) // the intensity itself
      for (let s = 0; s < 2; s++) {
        const [, grad, log, e1, e2, e3] = row.subarray(1 + 6 * s, 7 + 6 * s)
        const gradient = Math.hypot(2 * a * z, 2 * b * y, 2 * c * x + g)
        // Relative to the largest second derivative (float32 sums of ~1e3 products).
        const tol = 1e-3 * 2 * Math.max(Math.abs(a), Math.abs(b), Math.abs(c))
        expect(Math.abs(grad - gradient)).toBeLessThan(tol)
        expect(Math.abs(log - 2 * (a + b + c))).toBeLessThan(tol)
        const eig = [2 * a, 2 * b, 2 * c].sort((p, q) => p - q)
        ;[e1, e2, e3].forEach((e, i) => expect(Math.abs(e - eig[i])).toBeLessThan(tol))
      }
    }
  })
})

describe('features by slabs', () => {
  it('are bit-identical to the features of the whole volume (the halo covers every kernel)', async () => {
    const size: [number, number, number] = [12, 10, 70]
    const rand = mulberry32(4)
    const data = Float32Array.from({ length: size[0] * size[1] * size[2] }, () => rand())
    const image: Volume = { size, spacing: [1, 1, 1.5], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data }
    const graph = buildFeatureGraph({ spacing: [1.5, 1, 1], scalesMm: [1, 3] })
    const refs = Array.from({ length: data.length }, (_, offset) => ({ scan: 0, offset }))
    const session = await openFeatureSession(graph)
    const whole = await featuresAt(session, graph, image, refs)
    const planes = slabPlanes(size[0] * size[1], graph.halo, 1)
    expect(Math.ceil(size[2] / planes)).toBeGreaterThanOrEqual(3) // really several slabs
    const slabs = await featuresAt(session, graph, image, refs, 1)
    await session.release()
    expect(whole.some(Number.isNaN)).toBe(false) // every voxel visited
    expect(Buffer.from(slabs.buffer).equals(Buffer.from(whole.buffer))).toBe(true)
  })
})

describe('features of labelled slices only', () => {
  it('equal the whole-volume features on slices across each voxel axis, border slices included', async () => {
    const size: [number, number, number] = [9, 11, 13]
    const rand = mulberry32(7)
    const data = Float32Array.from({ length: size[0] * size[1] * size[2] }, () => rand())
    const image: Volume = { size, spacing: [0.8, 1, 1.5], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data }
    const spec: FilterBankSpec = { spacing: [1.5, 1, 0.8], scalesMm: [1, 3] }
    const graph = buildFeatureGraph(spec)
    const whole = await openFeatureSession(graph)
    const stride = [1, size[0], size[0] * size[1]]
    for (const axis of [0, 1, 2]) {
      // Every voxel of slices 0, 4 and the last one across `axis`.
      const refs = Array.from({ length: data.length }, (_, offset) => ({ scan: 0, offset }))
        .filter(({ offset }) => [0, 4, size[axis] - 1].includes(Math.floor(offset / stride[axis]) % size[axis]))
      const expected = await featuresAt(whole, graph, image, refs)
      const centred = buildFeatureGraph(sliceSpec(spec, axis), true)
      const session = await openFeatureSession(centred)
      const got = await featuresOnSlices([session], [centred], [{ image, splitAxis: axis }], refs)
      await session.release()
      // Same arithmetic in another summation order: float32 rounding only.
      const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i]) / (1 + Math.abs(expected[i]))))
      expect(worst).toBeLessThan(1e-4)
    }
    await whole.release()
  })
})
