/**
 * NIfTI-2 files are read (itk-wasm refuses them), with nibabel as the oracle: the fixtures and
 * what nibabel reads back from them were made by test/fixtures/nifti2/make_nifti2.py.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readVolume } from '../../src/engine/volume/read'
import { flipRasLps, gridAffine } from '../../src/engine/volume/affine'
import { maxAbsDiff } from './fixtures'

const DIR = fileURLToPath(new URL('../fixtures/nifti2/', import.meta.url))
interface Expected { sizeof_hdr: number; shape: number[]; affine_ras: number[][]; samples: Record<string, number>; sum: number }
const EXPECTED: Record<string, Expected> = JSON.parse(readFileSync(DIR + 'expected.json', 'utf8'))

describe('readVolume on NIfTI-2 (nibabel as the oracle)', () => {
  it.each(Object.keys(EXPECTED))('%s: the size, affine and voxel values nibabel reads', async (name) => {
    const want = EXPECTED[name]
    expect(want.sizeof_hdr).toBe(540)
    const v = await readVolume(DIR + name)
    expect(v.size).toEqual(want.shape)
    const a = want.affine_ras
    const lps = flipRasLps({ linear: [0, 1, 2].flatMap((r) => a[r].slice(0, 3)), translation: [a[0][3], a[1][3], a[2][3]] })
    const got = gridAffine(v)
    expect(maxAbsDiff(got.linear, lps.linear)).toBeLessThan(1e-9)
    expect(maxAbsDiff(got.translation, lps.translation)).toBeLessThan(1e-9)
    for (const [k, x] of Object.entries(want.samples)) expect(v.data[Number(k)]).toBeCloseTo(x, 5)
    let sum = 0
    for (let k = 0; k < v.data.length; k++) sum += v.data[k]
    expect(sum).toBeCloseTo(want.sum, 2)
    expect(v.source?.notes).toContain('NIfTI-2 file')
    expect(v.source?.niftiHeader).toBeUndefined() // export writes from the grid, not a NIfTI-1 copy
  })
})
