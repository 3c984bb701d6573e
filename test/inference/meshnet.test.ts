/**
 * The real model on real data (../shared/data): MeshNet grey/white matter on the conformed t1_crop
 * must reproduce the reference label map exactly (whole volume, CPU), and sliding windows must agree
 * with it almost everywhere. Plus sliding == whole for a pointwise Conv built with GraphBuilder.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readImageNode } from '@itk-wasm/image-io'
import { beforeAll, describe, expect, it } from 'vitest'
import { GraphBuilder, relaxSpatialDims } from '../../src/engine/onnx'
import { checkModelIO, openSession } from '../../src/engine/inference/session'
import { runModel } from '../../src/engine/inference/run'
import type { Vec3i } from '../../src/engine/inference/sliding-window'
import { volumeToTensor } from '../../src/engine/inference/layout'
import { argmaxLabels } from '../../src/engine/labelmap'
import type { Manifest } from '../../src/engine/bundle/manifest'
import { randomFloats } from '../helpers/models'

const DATA = '/work/shared/data'
const MODEL = `${DATA}/meshnet-gwm/model.onnx`
const T1 = `${DATA}/mri/t1_crop.nii.gz`
const REF = `${DATA}/meshnet-gwm/t1_crop_reference.nii.gz`
const haveData = existsSync(MODEL) && existsSync(T1) && existsSync(REF)

/**
 * The model card's "min-max scale to [0, 1] in float32": (x − min) / (max − min) evaluated in
 * float64 and rounded once to float32 — the same values as an IEEE float32 division
 * `(x - min) / (max - min)` in numpy/PyTorch (a correctly rounded division).
 */
function minMax(u8: Uint8Array): Float32Array {
  let min = Infinity
  let max = -Infinity
  for (const v of u8) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const out = new Float32Array(u8.length)
  const range = max - min
  for (let i = 0; i < u8.length; i++) out[i] = (u8[i] - min) / range
  return out
}

describe.skipIf(!haveData)('MeshNet on t1_crop (256^3)', () => {
  const size: [number, number, number] = [256, 256, 256]
  const voxels = 256 ** 3
  let input: Float32Array
  let reference: Uint8Array
  let whole: Uint8Array
  let wholeMs = 0

  beforeAll(async () => {
    const t1 = await readImageNode(T1)
    const ref = await readImageNode(REF)
    expect(t1.size).toEqual(size)
    input = volumeToTensor(minMax(t1.data as Uint8Array), 1, size, 'zyx') // the stored voxel array, i fastest
    reference = ref.data as Uint8Array
    const { session, provider } = await openSession(MODEL, { device: 'cpu' })
    expect(provider).toBe('cpu')
    const t0 = performance.now()
    const logits = await runModel({
      session, inputName: 'input', outputName: 'output', input, spatial: [256, 256, 256], channels: 1, outChannels: 3,
      settings: { mode: 'whole', divisibleBy: 1 }
    })
    wholeMs = performance.now() - t0
    whole = argmaxLabels(logits, 3, voxels, [0, 1, 2]) as Uint8Array
    // How close are the decisions? (how much the input arithmetic may vary before a label flips)
    let close = 0
    for (let v = 0; v < voxels; v++) {
      const [a, b, c] = [logits[v], logits[voxels + v], logits[2 * voxels + v]]
      const top = Math.max(a, b, c)
      const second = a === top ? Math.max(b, c) : b === top ? Math.max(a, c) : Math.max(a, b)
      if (top - second < 1e-4) close++
    }
    console.log(`MeshNet whole volume: ${wholeMs.toFixed(0)} ms; voxels with top-2 logit margin < 1e-4: ${close}`)
  })

  it('reproduces the reference label map exactly (whole volume, CPU)', () => {
    let differ = 0
    for (let v = 0; v < voxels; v++) if (whole[v] !== reference[v]) differ++
    console.log(`MeshNet whole volume vs reference: ${differ} of ${voxels} voxels differ`)
    expect(differ).toBe(0)
  })

  it('checkModelIO accepts the model for a 1-channel, 3-label manifest', async () => {
    const { session } = await openSession(MODEL, { device: 'cpu', threads: 1 })
    const manifest = {
      model: { file: 'model.onnx', input: 'input', output: 'output', axisOrder: 'zyx' },
      channels: [{ name: 'T1', modality: 'T1', normalization: { kind: 'minmax' } }],
      output: { kind: 'softmax', threshold: 0.5, labels: [0, 1, 2].map((value) => ({ value, name: `l${value}`, color: [0, 0, 0] })), largestComponent: false },
      inference: { mode: 'whole', divisibleBy: 1 }
    } as unknown as Manifest
    expect(checkModelIO(session, manifest).input).toEqual(['batch_size', 1, 256, 256, 256])
  })

  it('sliding windows of 128^3 with 50 % overlap agree with the whole-volume labels on ≥ 99 % of voxels', async () => {
    const relaxed = relaxSpatialDims(new Uint8Array(readFileSync(MODEL)))
    const { session } = await openSession(relaxed, { device: 'cpu' })
    const progress: number[] = []
    const t0 = performance.now()
    const logits = await runModel({
      session, inputName: 'input', outputName: 'output', input, spatial: [256, 256, 256], channels: 1, outChannels: 3,
      settings: { mode: 'sliding-window', patchSize: [128, 128, 128], overlap: 0.5, batchSize: 1, blend: 'gaussian', sigmaScale: 0.125 },
      onProgress: (done) => progress.push(done)
    })
    const ms = performance.now() - t0
    const labels = argmaxLabels(logits, 3, voxels, [0, 1, 2])
    let agree = 0
    let brainRef = 0
    let brainAgree = 0
    for (let v = 0; v < voxels; v++) {
      const same = labels[v] === whole[v]
      if (same) agree++
      if (whole[v] > 0 || labels[v] > 0) {
        brainRef++
        if (same) brainAgree++
      }
    }
    const pct = (100 * agree) / voxels
    console.log(
      `MeshNet sliding 128^3 overlap 0.5 (27 windows, gaussian): ${ms.toFixed(0)} ms; agreement with whole volume ` +
        `${pct.toFixed(3)} % of all voxels, ${((100 * brainAgree) / brainRef).toFixed(3)} % of voxels labelled brain by either`
    )
    expect(progress).toHaveLength(27)
    expect(pct).toBeGreaterThanOrEqual(99)
  })
})

describe('sliding windows equal the whole volume for a pointwise (1x1x1) Conv model', () => {
  const C = 2
  const K = 3
  const g = new GraphBuilder()
  g.input('input', 'float32', ['N', C, 'D', 'H', 'W'])
  g.initializer('w', { dims: [K, C, 1, 1, 1], data: randomFloats(K * C, 3) })
  g.initializer('b', { dims: [K], data: randomFloats(K, 4) })
  g.node('Conv', ['input', 'w', 'b'], ['output'], { kernel_shape: [1, 1, 1] })
  g.output('output', 'float32', ['N', K, 'D', 'H', 'W'])
  const sessionP = openSession(g.toModel({ opset: 17 }), { device: 'cpu', threads: 1 })

  it.each([
    // spatial, patch, overlap, batchSize, blend
    [[20, 17, 23], [8, 8, 8], 0.5, 4, 'gaussian'],
    [[20, 17, 23], [7, 6, 9], 0.25, 3, 'gaussian'], // strides that do not divide: last windows flush with the border
    [[20, 17, 23], [16, 16, 16], 0, 2, 'constant'],
    [[20, 17, 23], [32, 8, 8], 0.5, 5, 'gaussian'], // patch larger than the volume along d0
    [[6, 5, 7], [16, 16, 16], 0.5, 1, 'gaussian'], // volume smaller than the patch on every axis
    [[33, 12, 9], [10, 12, 4], 0.75, 8, 'gaussian']
  ] as [Vec3i, Vec3i, number, number, 'gaussian' | 'constant'][])(
    'spatial %j patch %j overlap %f batch %i %s',
    async (spatial, patch, overlap, batchSize, blend) => {
      const { session } = await sessionP
      const voxels = spatial[0] * spatial[1] * spatial[2]
      const input = randomFloats(C * voxels, voxels)
      const base = { session, inputName: 'input', outputName: 'output', input, spatial, channels: C, outChannels: K }
      const whole = await runModel({ ...base, settings: { mode: 'whole', divisibleBy: 1 } })
      const sw = await runModel({ ...base, settings: { mode: 'sliding-window', patchSize: patch, overlap, batchSize, blend, sigmaScale: 0.125 } })
      let m = 0
      for (let i = 0; i < whole.length; i++) m = Math.max(m, Math.abs(whole[i] - sw[i]))
      expect(m).toBeLessThan(1e-5)
    }
  )
})
