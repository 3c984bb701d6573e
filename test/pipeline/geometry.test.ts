/**
 * Geometry is sacred: every real scan goes file → Volume → Bundle → model → LabelMap → file and the
 * mask read back sits on exactly the input's grid; reorientation and resampling are undone exactly.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { conv3Bundle, type ManifestOverrides } from '../helpers/models'
import { segment } from '../../src/engine/pipeline/segment'
import { readVolume } from '../../src/engine/volume/read'
import { reorient } from '../../src/engine/volume/orientation'
import { writeLabelMap } from '../../src/engine/export'
import { expectSameGrid } from '../helpers/grid'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

const cases: { name: string; file: string; over: ManifestOverrides }[] = [
  {
    name: 'CT float32 HU, anisotropic, sliding windows crossing the border',
    file: 'ct/spleen_ct.nii.gz',
    over: {
      channels: [{ name: 'CT', modality: 'CT', normalization: { kind: 'window' as const, lower: -57, upper: 164 } }],
      inference: { mode: 'sliding-window' as const, patchSize: [64, 64, 16] as [number, number, number], overlap: 0.25, batchSize: 2 }
    }
  },
  { name: 'spine T2 int16 in PSR order, reoriented to RAS for the model', file: 'spine/t2.nii.gz', over: { geometry: { mode: 'reorient' as const, orientation: 'RAS' } } },
  { name: 'oblique FLAIR, reoriented and resampled to 1.5 mm', file: 'mri/FLAIR.nii.gz', over: { geometry: { mode: 'resample' as const, orientation: 'RAS', spacing: [1.5, 1.5, 1.5] as [number, number, number] } } },
  { name: 'sheared gantry-tilt CT on its own grid', file: 'geometry/ct_gantry_tilt_shear.nii.gz', over: {} }
]

describe('the exported mask has exactly the input grid', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bundle = await conv3Bundle(join(tmp.dir, c.file.replace(/\W/g, '_')), c.over)
      const r = await segment({ bundle, inputs: [data(c.file)], device: 'cpu' })
      const input = await readVolume(data(c.file))
      expectSameGrid(r.labels, input)
      const out = join(tmp.dir, c.file.replace(/\W/g, '_') + '_mask.nii.gz')
      await writeLabelMap(r.labels, out, { like: r.reference, inputs: [data(c.file)] })
      const back = await readVolume(out)
      expectSameGrid(back, input)
      // The model really ran: both classes appear.
      const counts = [0, 0]
      for (const v of back.data) counts[v]++
      expect(counts[0]).toBeGreaterThan(0)
      expect(counts[1]).toBeGreaterThan(0)
    })
  }
})

describe('reorientation', () => {
  it('t1_RAS and t1_LAS give the same segmentation once reoriented (0 differing voxels)', async () => {
    const bundle = await conv3Bundle(join(tmp.dir, 'ras'), { geometry: { mode: 'reorient', orientation: 'RAS' } })
    const ras = await segment({ bundle, inputs: [data('geometry/t1_RAS.nii.gz')], device: 'cpu' })
    const las = await segment({ bundle, inputs: [data('geometry/t1_LAS.nii.gz')], device: 'cpu' })
    const a = reorient(ras.labels, 'RAS')
    const b = reorient(las.labels, 'RAS')
    // Two files with float32 headers: their origins agree to float32 precision (~1e-6 mm at 75 mm).
    expectSameGrid(a, b, 1e-5)
    let differ = 0
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) differ++
    expect(differ).toBe(0)
    // …and the two stored orders really differ, so the test can fail.
    let stored = 0
    for (let i = 0; i < ras.labels.data.length; i++) if (ras.labels.data[i] !== las.labels.data[i]) stored++
    expect(stored).toBeGreaterThan(0)
  })
})

describe('labels back onto the input grid (output.resampling)', () => {
  const geometry = { mode: 'resample' as const, orientation: 'RAS', spacing: [3, 3, 3] as [number, number, number] }
  const run = async (name: string, output: ManifestOverrides['output']) => {
    const bundle = await conv3Bundle(join(tmp.dir, name), { geometry, output })
    return (await segment({ bundle, inputs: [data('mri/FLAIR.nii.gz')], device: 'cpu' })).labels.data
  }
  const labels = [0, 1].map((v) => ({ value: v, name: `c${v}`, color: [v * 200, 0, 0] as [number, number, number] }))

  it('softmax: interpolated probabilities refine only the boundaries of the nearest-label result', async () => {
    const byProbs = await run('soft-p', { kind: 'softmax', labels, resampling: 'probabilities' })
    const byLabels = await run('soft-l', { kind: 'softmax', labels, resampling: 'labels' })
    let differ = 0
    let fg = 0
    for (let i = 0; i < byProbs.length; i++) {
      if (byProbs[i] !== byLabels[i]) differ++
      if (byLabels[i] === 1) fg++
    }
    expect(differ).toBeGreaterThan(0) // the setting is honoured
    expect(differ).toBeLessThan(0.25 * fg) // and only edges move
  })

  it('sigmoid outputs keep the logit-ranked decoding whatever the setting', async () => {
    const fgOnly = [{ value: 1, name: 'a', color: [255, 0, 0] as [number, number, number] }, { value: 2, name: 'b', color: [0, 255, 0] as [number, number, number] }]
    const a = await run('sig-p', { kind: 'sigmoid', labels: fgOnly, resampling: 'probabilities' })
    const b = await run('sig-l', { kind: 'sigmoid', labels: fgOnly, resampling: 'labels' })
    expect(a.some((v) => v > 0)).toBe(true)
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
  })
})
