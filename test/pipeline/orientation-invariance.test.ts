/**
 * The same scan gives the same mask, voxel for voxel in world space, whatever order its voxels are
 * stored in: all 48 axis permutations/flips of a real axis-aligned T1 (t1_RAS) and of a real oblique
 * FLAIR go through the shipped bundle (conform, probabilities back, intensity refinement with a bias
 * field) and through small conform/resample bundles; every mask, mapped back to the original order,
 * equals the first one and so do the per-label statistics.
 * The 48 stored orders are made in test/helpers/orders.ts, independently of the code under test.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { segment, toLabels, toModelSpace } from '../../src/engine/pipeline/segment'
import { openSession } from '../../src/engine/inference/session'
import { runModel } from '../../src/engine/inference/run'
import { tensorSpatial, tensorToVolume, volumeToTensor } from '../../src/engine/inference/layout'
import { normalize } from '../../src/engine/volume/intensity'
import { loadBundle, type Bundle } from '../../src/engine/bundle/bundle'
import { readVolume } from '../../src/engine/volume/read'
import { labelStatistics } from '../../src/engine/export/statistics'
import type { Volume } from '../../src/engine/volume/volume'
import { backToOriginal, ORDERS, storedAs, type Order } from '../helpers/orders'

/** Stored orders also run through segment() end to end: a permutation with one flip, and all flipped. */
const END_TO_END: Order[] = [{ perm: [2, 0, 1], flip: [false, true, false] }, { perm: [0, 1, 2], flip: [true, true, true] }]

function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++
  return n
}

/** The model's scores ([K, model voxels], volume order) on one model-space volume: one forward pass. */
async function modelScores(bundle: Bundle, modelVolume: Volume): Promise<{ scores: Float32Array; K: number }> {
  const m = bundle.manifest
  const K = m.output.labels.length
  const f = modelVolume.data instanceof Float32Array ? modelVolume.data : Float32Array.from(modelVolume.data)
  const input = volumeToTensor(normalize(f, m.channels[0].normalization), 1, modelVolume.size, m.model.axisOrder)
  const { session } = await openSession(bundle.modelPath, { device: 'cpu', threads: 2 })
  try {
    const out = await runModel({
      session, inputName: m.model.input, outputName: m.model.output, input, spatial: tensorSpatial(modelVolume.size, m.model.axisOrder),
      channels: 1, outChannels: K, settings: m.inference
    })
    return { scores: tensorToVolume(out, K, modelVolume.size, m.model.axisOrder), K }
  } finally {
    await session.release()
  }
}

const gridOf = (v: Volume) => ({ size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction })

/**
 * The invariance of one bundle on one scan, as the clinician sees it and step by step:
 * - segment() end to end on the original and on END_TO_END other stored orders: the same mask;
 * - for all 48 stored orders, the model's input (toModelSpace) is bit-identical to the original's,
 *   grid and voxels, so the network sees the same tensor (it is then run once, legitimately), and
 *   the labels on the stored grid (toLabels: probabilities back, largest component, refinement with
 *   its sampling and bias field) mapped back to the original order equal segment()'s mask; the
 *   per-label voxel counts and volumes (statistics) are equal too.
 * @returns differing voxels per order (end-to-end orders first), for the log.
 */
async function expectInvariant(name: string, bundle: Bundle, original: Volume): Promise<void> {
  const m = bundle.manifest
  const names = new Map(m.output.labels.map((l) => [l.value, l.name]))
  const stats = (labels: Volume) => labelStatistics(labels, names).map((s) => `${s.name} ${s.voxels} ${s.volumeMl}`).join('; ')
  const reference = await segment({ bundle, inputs: [original], device: 'cpu', threads: 2 })
  const expectedStats = stats(reference.labels)
  const differ: number[] = []
  for (const order of END_TO_END) {
    const r = await segment({ bundle, inputs: [storedAs(original, order)], device: 'cpu', threads: 2 })
    differ.push(differing(backToOriginal(r.labels.data, original.size, order), reference.labels.data))
    expect(stats(r.labels)).toBe(expectedStats)
  }
  const modelSpace = toModelSpace(original, m.geometry)
  const { scores, K } = await modelScores(bundle, modelSpace)
  const image = m.output.refinement ? original : undefined
  for (const order of ORDERS) {
    const stored = storedAs(original, order)
    const seen = toModelSpace(stored, m.geometry)
    expect(gridOf(seen)).toEqual(gridOf(modelSpace))
    expect(differing(seen.data, modelSpace.data)).toBe(0)
    const { labels } = toLabels(scores, K, gridOf(modelSpace), gridOf(stored), m, image && stored.data)
    differ.push(differing(backToOriginal(labels, original.size, order), reference.labels.data))
    expect(stats({ ...gridOf(stored), data: labels })).toBe(expectedStats)
  }
  console.log(`${name}: ${expectedStats}; differing voxels per stored order (max ${Math.max(...differ)}): ${differ.join(',')}`)
  expect(differ).toEqual(differ.map(() => 0))
}

let tmp: ReturnType<typeof tempDir>
let t1: Volume
let flair: Volume
let shipped: Bundle
beforeAll(async () => {
  tmp = tempDir()
  t1 = await readVolume(data('geometry/t1_RAS.nii.gz'))
  flair = await readVolume(data('mri/FLAIR.nii.gz'))
  shipped = await loadBundle(join(REPO, 'resources/models/brain-tissue-resunet'))
})
afterAll(() => tmp.cleanup())

describe('the shipped bundle gives one mask whatever the storage order (conform, probabilities back, refinement)', () => {
  it('t1_RAS in all 48 stored orders: 0 differing voxels, equal label volumes', async () => {
    await expectInvariant('shipped, t1_RAS', shipped, t1)
  }, 600_000)
  it('the real files t1_RAS and t1_LAS (one template in two stored orders, through the reader) give one mask and equal volumes', async () => {
    const names = new Map(shipped.manifest.output.labels.map((l) => [l.value, l.name]))
    const [ras, las] = await Promise.all(['geometry/t1_RAS.nii.gz', 'geometry/t1_LAS.nii.gz'].map((f) => segment({ bundle: shipped, inputs: [data(f)], device: 'cpu', threads: 2 })))
    // t1_LAS is t1_RAS with its first axis flipped
    const back = backToOriginal(las.labels.data, ras.labels.size, { perm: [0, 1, 2], flip: [true, false, false] })
    const differ = differing(back, ras.labels.data)
    console.log(`shipped, t1_RAS vs t1_LAS files: ${differ} of ${back.length} voxels differ`)
    expect(differ).toBe(0)
    const stats = (v: Volume) => labelStatistics(v, names).map((s) => [s.voxels, s.volumeMl])
    expect(stats(las.labels)).toEqual(stats(ras.labels))
  }, 600_000)
  it('oblique FLAIR in all 48 stored orders: 0 differing voxels, equal label volumes', async () => {
    await expectInvariant('shipped, FLAIR', shipped, flair)
  }, 600_000)
})

describe('conform and resample bundles give one mask whatever the storage order', () => {
  it('uint8 conform (world centre) with the largest component, labels back by nearest voxel: t1_RAS and FLAIR', async () => {
    const bundle = await conv3Bundle(join(tmp.dir, 'conform'), {
      classes: 3,
      geometry: { mode: 'conform', orientation: 'LIA', size: [72, 80, 76], spacing: [2.5, 2.5, 2.5], uint8: true },
      output: {
        kind: 'softmax', largestComponent: true, resampling: 'labels',
        labels: [0, 1, 2].map((v) => ({ value: v, name: `class ${v}`, color: [v * 60, 100, 200] as [number, number, number] }))
      }
    })
    await expectInvariant('uint8 conform, t1_RAS', bundle, t1)
    await expectInvariant('uint8 conform, FLAIR', bundle, flair)
  }, 600_000)
  it('resample to 3 mm RAS with probabilities back: t1_RAS and FLAIR', async () => {
    const bundle = await conv3Bundle(join(tmp.dir, 'resample'), { classes: 3, geometry: { mode: 'resample', orientation: 'RAS', spacing: [3, 3, 3] } })
    await expectInvariant('resample, t1_RAS', bundle, t1)
    await expectInvariant('resample, FLAIR', bundle, flair)
  }, 600_000)
})
