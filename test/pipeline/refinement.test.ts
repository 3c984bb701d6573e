/**
 * output.refinement through segment(): the split between the refined classes is refitted to the
 * input's intensities on the input's own grid; background, the grid and the model's other decisions
 * stay as they were.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { REPO, data, tempDir } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { segment } from '../../src/engine/pipeline/segment'
import { loadBundle } from '../../src/engine/bundle/bundle'
import { readVolume } from '../../src/engine/volume/read'
import { expectSameGrid } from '../helpers/grid'
import type { LabelArray } from '../../src/engine/labelmap'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

/** Voxels where a and b differ, and whether they differ anywhere outside the refined labels. */
function compare(a: LabelArray, b: LabelArray, refined: number[]): { differ: number; outside: number } {
  let differ = 0
  let outside = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue
    differ++
    if (!refined.includes(a[i]) || !refined.includes(b[i])) outside++
  }
  return { differ, outside }
}

describe('intensity refinement in segment()', () => {
  it('shipped model on the oblique FLAIR (conform to 2 mm): only the tissue split moves, on the input grid', async () => {
    const bundle = await loadBundle(join(REPO, 'resources/models/brain-tissue-resunet'))
    expect(bundle.manifest.output.refinement?.labels).toEqual([1, 2, 3])
    const input = await readVolume(data('mri/FLAIR.nii.gz'))
    const on = await segment({ bundle, inputs: [input], device: 'cpu' })
    const off = await segment({ bundle, inputs: [input], device: 'cpu', refinement: false })
    expectSameGrid(on.labels, input)
    const { differ, outside } = compare(on.labels.data as LabelArray, off.labels.data as LabelArray, [1, 2, 3])
    expect(outside).toBe(0) // the brain outline is the model's
    expect(differ).toBeGreaterThan(1000) // and the refinement really ran
    expect(on.notes.some((n) => /^intensity refinement \(converged in \d+ iterations\): CSF .*grey matter .*white matter/.test(n))).toBe(true)
    expect(off.notes.some((n) => n.startsWith('intensity refinement'))).toBe(false)
  })

  it('a native-grid model: the refinement works on the model grid itself and leaves other labels alone', async () => {
    const labels = [0, 1, 2].map((v) => ({ value: v, name: `c${v}`, color: [v * 100, 0, 0] as [number, number, number] }))
    const bundle = await conv3Bundle(join(tmp.dir, 'native'), {
      classes: 3,
      output: { kind: 'softmax', labels, refinement: { kind: 'intensity-em', labels: [1, 2] } }
    })
    const input = await readVolume(data('spine/t2.nii.gz'))
    const on = await segment({ bundle, inputs: [input], device: 'cpu' })
    const off = await segment({ bundle, inputs: [input], device: 'cpu', refinement: false })
    expectSameGrid(on.labels, input)
    const { differ, outside } = compare(on.labels.data as LabelArray, off.labels.data as LabelArray, [1, 2])
    expect(outside).toBe(0)
    expect(differ).toBeGreaterThan(0)
  })

  const tissue = [0, 1, 2].map((v) => ({ value: v, name: `c${v}`, color: [v * 100, 0, 0] as [number, number, number] }))
  const onOff = async (name: string, over: Parameters<typeof conv3Bundle>[1]) => {
    const bundle = await conv3Bundle(join(tmp.dir, name), over)
    const input = await readVolume(data('spine/t2.nii.gz'))
    const on = await segment({ bundle, inputs: [input], device: 'cpu' })
    const off = await segment({ bundle, inputs: [input], device: 'cpu', refinement: false })
    expectSameGrid(on.labels, input)
    return compare(on.labels.data as LabelArray, off.labels.data as LabelArray, [1, 2])
  }

  it("with output.resampling 'labels' the outline is still the one without refinement", async () => {
    const r = await onOff('resample-labels', {
      classes: 3,
      geometry: { mode: 'resample', orientation: 'RAS', spacing: [2, 2, 2] },
      output: { kind: 'softmax', labels: tissue, resampling: 'labels', refinement: { kind: 'intensity-em', labels: [1, 2] } }
    })
    expect(r.outside).toBe(0)
    expect(r.differ).toBeGreaterThan(0)
  })

  it('largestComponent filters the model labels first; the refinement then moves no voxel to background', async () => {
    const r = await onOff('largest', {
      classes: 3,
      output: { kind: 'softmax', labels: tissue, largestComponent: [1], refinement: { kind: 'intensity-em', labels: [1, 2] } }
    })
    expect(r.outside).toBe(0)
    expect(r.differ).toBeGreaterThan(0)
  })

  it('refines the channel it is told to, with label values that are not channel indices (uint16 labels)', async () => {
    const labels = [0, 300, 1000].map((v, i) => ({ value: v, name: `l${v}`, color: [i * 100, 0, 0] as [number, number, number] }))
    const input = await readVolume(data('spine/t2.nii.gz'))
    const flat = { ...input, data: new Float32Array(input.data.length).fill(7) } // no intensity evidence
    const run = async (name: string, channel: number, inputs: typeof input[], refinement = true) => {
      const bundle = await conv3Bundle(join(tmp.dir, name), {
        channels: 2,
        classes: 3,
        output: { kind: 'softmax', labels, refinement: { kind: 'intensity-em', labels: [1000, 300], channel } }
      })
      return segment({ bundle, inputs, device: 'cpu', refinement })
    }
    const off = await run('values-off', 1, [flat, input], false)
    const byScan = await run('values-1', 1, [flat, input])
    const byFlat = await run('values-0', 0, [flat, input])
    expect(off.labels.data).toBeInstanceOf(Uint16Array)
    const scan = compare(byScan.labels.data as LabelArray, off.labels.data as LabelArray, [300, 1000])
    expect(scan.outside).toBe(0)
    expect(scan.differ).toBeGreaterThan(0) // channel 1, the scan, moved the split
    expect(compare(byFlat.labels.data as LabelArray, off.labels.data as LabelArray, [300, 1000]).differ).toBe(0) // channel 0 is flat
    expect(byScan.notes.some((n) => /intensity refinement .*: l1000 .*, l300 /.test(n))).toBe(true)
  })
})
