/**
 * output.refinement through segment(): the split between the refined classes is refitted to the
 * input's intensities on the input's own grid; background, the grid and the model's other decisions
 * stay as they were.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
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
    const dir = join(tmp.dir, 'shipped')
    cpSync(join(REPO, 'resources/models/brain-tissue-resunet'), dir, { recursive: true })
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
    m.output.refinement = { kind: 'intensity-em', labels: [1, 2, 3] }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m))
    const bundle = await loadBundle(dir)
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
})
