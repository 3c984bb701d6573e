/**
 * Makes the embedded demo shipped in resources/ (run: `npx tsx scripts/make-demo.ts`; needs Debian's
 * mricron-data for the source image). Until the project's trained ResUNet ships, the default model is
 * this small, honest one:
 *
 * - Sample: the brain-extracted Colin27 T1 (ch2bet.nii.gz, MRIcron, BSD-3) resampled to 2 mm.
 * - Model: a Gaussian tissue classifier written as an ONNX graph — 3x3x3 mean smoothing, then per
 *   class c the log-likelihood of a normal distribution N(mu_c, sigma_c²) as a 1x1x1 conv on [s, s²].
 *   mu/sigma/priors are fitted here by k-means (k = 4: background, CSF, grey, white matter) on the
 *   sample's smoothed, min-max normalised intensities. Deterministic: same input, same bundle.
 */
import path from 'node:path'
import { promises as fs } from 'node:fs'
import { writeImageNode } from '@itk-wasm/image-io'
import { readVolume } from '../src/engine/volume/read'
import { resampleToGrid } from '../src/engine/volume/resample'
import { targetSpacingGrid } from '../src/engine/pipeline/grids'
import { normalize } from '../src/engine/volume/intensity'
import { GraphBuilder } from '../src/engine/onnx'
import { writeBundle } from '../src/engine/bundle/bundle'
import type { Volume } from '../src/engine/volume/volume'

const SOURCE = '/usr/share/mricron/templates/ch2bet.nii.gz'
const ROOT = path.resolve(import.meta.dirname, '..')
const SAMPLE = path.join(ROOT, 'resources/samples/colin27_t1_brain_2mm.nii.gz')
const BUNDLE = path.join(ROOT, 'resources/models/demo-tissue')

/** 3x3x3 mean with zero padding, i fastest (the same operation as the model's first Conv). */
function smooth(x: Float32Array, [nx, ny, nz]: number[]): Float32Array {
  const out = new Float32Array(x.length)
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        let s = 0
        for (let dk = -1; dk <= 1; dk++)
          for (let dj = -1; dj <= 1; dj++)
            for (let di = -1; di <= 1; di++) {
              const a = i + di, b = j + dj, c = k + dk
              if (a >= 0 && a < nx && b >= 0 && b < ny && c >= 0 && c < nz) s += x[a + nx * (b + ny * c)]
            }
        out[i + nx * (j + ny * k)] = s / 27
      }
  return out
}

/** 1-D k-means with fixed initial centres; returns means, standard deviations and priors. */
function kmeans1d(x: Float32Array, init: number[], iterations = 50): { mu: number[]; sigma: number[]; prior: number[] } {
  let mu = [...init]
  const K = mu.length
  const assign = new Uint8Array(x.length)
  for (let it = 0; it < iterations; it++) {
    const sum = new Float64Array(K), cnt = new Float64Array(K)
    for (let v = 0; v < x.length; v++) {
      let best = 0
      for (let c = 1; c < K; c++) if (Math.abs(x[v] - mu[c]) < Math.abs(x[v] - mu[best])) best = c
      assign[v] = best
      sum[best] += x[v]
      cnt[best]++
    }
    mu = mu.map((m, c) => (cnt[c] ? sum[c] / cnt[c] : m))
  }
  const sq = new Float64Array(K), cnt = new Float64Array(K)
  for (let v = 0; v < x.length; v++) {
    sq[assign[v]] += (x[v] - mu[assign[v]]) ** 2
    cnt[assign[v]]++
  }
  return { mu, sigma: mu.map((_, c) => Math.max(0.02, Math.sqrt(sq[c] / Math.max(1, cnt[c])))), prior: mu.map((_, c) => cnt[c] / x.length) }
}

async function main(): Promise<void> {
  const src = await readVolume(SOURCE)
  const grid = targetSpacingGrid(src, [2, 2, 2])
  const resampled = resampleToGrid(src, grid, { interpolation: 'linear', fill: 0 })
  const sample: Volume = { ...resampled, data: Uint8Array.from(resampled.data, (v) => Math.round(v)) }
  await fs.mkdir(path.dirname(SAMPLE), { recursive: true })
  await writeImageNode(
    {
      imageType: { dimension: 3, componentType: 'uint8', pixelType: 'Scalar', components: 1 },
      name: 'colin27',
      origin: sample.origin,
      spacing: sample.spacing,
      direction: Float64Array.from(sample.direction),
      size: sample.size,
      data: sample.data,
      metadata: new Map()
    },
    SAMPLE,
    { useCompression: true }
  )

  const norm = normalize(Float32Array.from(sample.data), { kind: 'minmax' })
  const s = smooth(norm, sample.size)
  const { mu, sigma, prior } = kmeans1d(s, [0, 0.3, 0.55, 0.8])
  console.log('fitted classes (mu, sigma, prior):', mu.map((m, c) => [m.toFixed(3), sigma[c].toFixed(3), prior[c].toFixed(3)]))

  // logit_c(s) = log prior_c − log sigma_c − (s − mu_c)² / (2 sigma_c²) = a_c·s + b_c·s² + c_c
  const w = new Float32Array(4 * 2)
  const b = new Float32Array(4)
  for (let c = 0; c < 4; c++) {
    w[c * 2] = mu[c] / sigma[c] ** 2
    w[c * 2 + 1] = -1 / (2 * sigma[c] ** 2)
    b[c] = -(mu[c] ** 2) / (2 * sigma[c] ** 2) - Math.log(sigma[c]) + Math.log(Math.max(prior[c], 1e-6))
  }
  const g = new GraphBuilder('demo_tissue')
  g.input('image', 'float32', ['N', 1, 'D', 'H', 'W'])
  g.initializer('smooth.weight', { dims: [1, 1, 3, 3, 3], data: new Float32Array(27).fill(1 / 27) })
  g.initializer('classify.weight', { dims: [4, 2, 1, 1, 1], data: w })
  g.initializer('classify.bias', { dims: [4], data: b })
  g.node('Conv', ['image', 'smooth.weight'], ['s'], { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] })
  g.node('Mul', ['s', 's'], ['s2'])
  g.node('Concat', ['s', 's2'], ['features'], { axis: 1 })
  g.node('Conv', ['features', 'classify.weight', 'classify.bias'], ['logits'], { kernel_shape: [1, 1, 1] })
  g.output('logits', 'float32', ['N', 4, 'D', 'H', 'W'])
  const onnx = g.toModel({ opset: 17, producer: 'segtransfer scripts/make-demo.ts' })

  await fs.rm(BUNDLE, { recursive: true, force: true })
  await writeBundle(
    BUNDLE,
    {
      format: 'segtransfer-bundle',
      version: 1,
      name: 'Demo tissue classifier (Gaussian, not a trained network)',
      description:
        'Brain tissue by intensity: 3x3x3 smoothing + a Gaussian classifier per class, fitted by k-means on the bundled Colin27 sample. A stand-in until the trained ResUNet ships; expects a brain-extracted T1.',
      model: { file: 'model.onnx', input: 'image', output: 'logits', axisOrder: 'zyx' },
      channels: [{ name: 'T1', modality: 'T1', normalization: { kind: 'minmax' } }],
      geometry: { mode: 'native' },
      inference: { mode: 'whole', divisibleBy: 1 },
      output: {
        kind: 'softmax',
        labels: [
          { value: 0, name: 'background', color: [0, 0, 0] },
          { value: 1, name: 'CSF', color: [120, 18, 134] },
          { value: 2, name: 'grey matter', color: [205, 62, 78] },
          { value: 3, name: 'white matter', color: [245, 245, 245] }
        ],
        largestComponent: false
      },
      provenance: [
        {
          date: new Date().toISOString().slice(0, 10),
          operation: 'fit-gaussian-classifier',
          source: 'MRIcron ch2bet.nii.gz (Colin27, brain-extracted), BSD-3-Clause',
          tool: 'scripts/make-demo.ts',
          details: { mu, sigma, prior }
        }
      ],
      license: 'MIT (model); sample image BSD-3-Clause (MRIcron, Chris Rorden)'
    },
    onnx
  )
  console.log(`wrote ${SAMPLE} and ${BUNDLE}`)
}

await main()
