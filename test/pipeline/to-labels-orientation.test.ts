/**
 * Unit level of the orientation invariance (the 48-order test runs whole bundles): for a fixed set of
 * model scores, toLabels (probabilities back onto the input grid, or labels by nearest voxel with the
 * largest component, and the intensity refinement with its fitting sample and bias field) gives the
 * same labels, voxel for voxel in world space, for the oblique FLAIR stored in other orders.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { data } from '../helpers/data'
import { testManifest } from '../helpers/models'
import { backToOriginal, storedAs, type Order } from '../helpers/orders'
import { toLabels, toModelSpace } from '../../src/engine/pipeline/segment'
import { parseManifest } from '../../src/engine/bundle/bundle'
import type { Manifest } from '../../src/engine/bundle/manifest'
import { readVolume } from '../../src/engine/volume/read'
import type { Volume } from '../../src/engine/volume/volume'

const ORDERS: Order[] = [
  { perm: [2, 0, 1], flip: [false, true, false] },
  { perm: [0, 1, 2], flip: [true, true, true] },
  { perm: [1, 2, 0], flip: [true, false, true] }
]
const labels = [0, 1, 2, 3].map((v) => ({ value: v, name: `c${v}`, color: [v * 60, 0, 0] as [number, number, number] }))

/** Tissue-like logits on the model grid: class c is likeliest near intensity level c (background below the first). */
function scoresFor(modelSpace: Volume, levels: number[]): Float32Array {
  const n = modelSpace.data.length
  const out = new Float32Array(4 * n)
  for (let i = 0; i < n; i++) {
    const x = modelSpace.data[i]
    for (let c = 0; c < 4; c++) out[c * n + i] = -(((x - levels[c]) / 40) ** 2)
  }
  return out
}

let flair: Volume
beforeAll(async () => {
  flair = await readVolume(data('mri/FLAIR.nii.gz'))
})

function expectSameLabels(m: Manifest): void {
  const modelSpace = toModelSpace(flair, m.geometry)
  const grid = (v: Volume) => ({ size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction })
  const scores = scoresFor(modelSpace, [0, 120, 220, 330])
  const expected = toLabels(scores, 4, grid(modelSpace), grid(flair), m, flair.data).labels
  for (const order of ORDERS) {
    const stored = storedAs(flair, order)
    const got = toLabels(scores, 4, grid(modelSpace), grid(stored), m, stored.data).labels
    const back = backToOriginal(got, flair.size, order)
    let differ = 0
    for (let i = 0; i < back.length; i++) if (back[i] !== expected[i]) differ++
    console.log(`${m.geometry.mode} ${JSON.stringify(order)}: ${differ} differing voxels`)
    expect(differ, JSON.stringify(order)).toBe(0)
  }
}

describe('toLabels on the oblique FLAIR in other storage orders (fixed model scores)', () => {
  it('probabilities back onto the input grid and the intensity refinement with a bias field: the same labels', () => {
    const m = parseManifest(testManifest({
      geometry: { mode: 'resample', orientation: 'RAS', spacing: [2.5, 2.5, 2.5] },
      output: { kind: 'softmax', labels, refinement: { kind: 'intensity-em', labels: [1, 2, 3], biasFieldOrder: 2 } }
    }))
    expectSameLabels(m)
  })
  it('labels by nearest model voxel with the largest component, after a world-centred conform: the same labels', () => {
    const m = parseManifest(testManifest({
      geometry: { mode: 'conform', orientation: 'LIA', size: [96, 96, 96], spacing: [2, 2, 2], uint8: false },
      output: { kind: 'softmax', labels, resampling: 'labels', largestComponent: true, refinement: { kind: 'intensity-em', labels: [2, 3] } }
    }))
    expectSameLabels(m)
  })
})
