import { afterAll, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVolume } from '../../src/engine/volume/read'
import { parseNiftiHeader, readHeadBytes, type NiftiHeader } from '../../src/engine/volume/nifti-header'
import { writeLabelMap } from '../../src/engine/export'
import type { Volume } from '../../src/engine/volume/volume'
import { SegError } from '../../src/engine/errors'
import { data, maxAbsDiff, refusal, sameValues, tempDir } from '../volume/fixtures'
import { expectSameGrid } from '../helpers/grid'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

/** A label map on the input's grid: 1 where the input is above its mean, 2 in the first slab. */
function labelsFor(input: Volume): Volume {
  let sum = 0
  for (let k = 0; k < input.data.length; k++) sum += input.data[k]
  const mean = sum / input.data.length
  const labels = new Uint8Array(input.data.length)
  for (let k = 0; k < labels.length; k++) labels[k] = input.data[k] > mean ? 1 : 0
  labels.fill(2, 0, input.size[0] * input.size[1])
  return { size: input.size, spacing: input.spacing, origin: input.origin, direction: input.direction, data: labels }
}

async function headerOf(path: string): Promise<NiftiHeader> {
  return parseNiftiHeader(await readHeadBytes(path, 348))!
}

const INPUTS = ['ct/spleen_ct.nii.gz', 'spine/t2.nii.gz', 'mri/FLAIR.nii.gz', 'geometry/ct_gantry_tilt_shear.nii.gz']

describe('writeLabelMap round trip', () => {
  for (const rel of INPUTS) {
    it(`${rel}: NIfTI like the input keeps grid, qform/sform and codes; NRRD keeps the grid`, async () => {
      const input = await readVolume(data(rel))
      const labels = labelsFor(input)
      const stem = rel.replace(/\W/g, '_')
      const nii = join(tmp.dir, `${stem}.nii.gz`)
      await writeLabelMap(labels, nii, { like: input, inputs: [data(rel)] })
      const back = await readVolume(nii)
      expect(back.data).toBeInstanceOf(Uint8Array)
      expect(sameValues(back.data, labels.data)).toBe(true)
      expectSameGrid(back, input)
      const a = await headerOf(data(rel))
      const b = await headerOf(nii)
      expect([b.qformCode, b.sformCode]).toEqual([a.qformCode, a.sformCode])
      expect(b.srow).toEqual(a.srow)
      expect(b.quatern).toEqual(a.quatern)
      expect(b.qoffset).toEqual(a.qoffset)
      expect(b.pixdim.slice(0, 4)).toEqual(a.pixdim.slice(0, 4))
      expect([b.datatype, b.bitpix, b.sclSlope, b.sclInter, b.voxOffset, b.calMax]).toEqual([2, 8, 1, 0, 352, 2])

      const nrrd = join(tmp.dir, `${stem}.nrrd`)
      await writeLabelMap(labels, nrrd, { like: input })
      const viaNrrd = await readVolume(nrrd)
      expect(viaNrrd.source?.format).toBe('nrrd')
      expect(sameValues(viaNrrd.data, labels.data)).toBe(true)
      expect(maxAbsDiff(viaNrrd.spacing, input.spacing)).toBeLessThan(1e-6)
      expect(maxAbsDiff(viaNrrd.origin, input.origin)).toBeLessThan(1e-6)
      expect(maxAbsDiff(viaNrrd.direction, input.direction)).toBeLessThan(1e-6)
    })
  }

  it('writes labels above 255 as uint16 and labels without a NIfTI input through itk-wasm', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const big = new Uint16Array(t2.data.length).map((_, k) => (k % 7 === 0 ? 300 : k % 3))
    const out = join(tmp.dir, 'uint16.nii')
    await writeLabelMap({ ...t2, source: undefined, data: big }, out, { like: t2 })
    const back = await readVolume(out)
    expect(back.data).toBeInstanceOf(Uint16Array)
    expect(sameValues(back.data, big)).toBe(true)
    // No header to copy (a volume made in memory): itk-wasm derives one from the LPS geometry.
    const inMemory: Volume = { size: [5, 4, 3], spacing: [0.5, 1, 2], origin: [10, -20, 30], direction: [0, 0, 1, 1, 0, 0, 0, 1, 0], data: new Uint8Array(60).fill(1) }
    const out2 = join(tmp.dir, 'in_memory.nii.gz')
    await writeLabelMap(inMemory, out2)
    const back2 = await readVolume(out2)
    expect(maxAbsDiff(back2.origin, inMemory.origin)).toBeLessThan(1e-5)
    expect(maxAbsDiff(back2.direction, inMemory.direction)).toBeLessThan(1e-6)
    expect(maxAbsDiff(back2.spacing, inMemory.spacing)).toBeLessThan(1e-6)
  })
})

describe('writeLabelMap refusals', () => {
  it('refuses to write over an input (also through a symlink) with OUTPUT_CONFLICT', async () => {
    const input = join(tmp.dir, 'input_copy.nii.gz')
    copyFileSync(data('spine/t2.nii.gz'), input)
    const t2 = await readVolume(input)
    const labels = labelsFor(t2)
    const e = await refusal(writeLabelMap(labels, input, { like: t2 }))
    expect(e.code).toBe('OUTPUT_CONFLICT')
    expect(e.message).toContain('is an input file')
    const link = join(tmp.dir, 'link_to_input.nii.gz')
    symlinkSync(input, link)
    expect((await refusal(writeLabelMap(labels, link, { inputs: [input] }))).code).toBe('OUTPUT_CONFLICT')
    expect((await readVolume(input)).data).toEqual(t2.data)
  })

  it('refuses other extensions with BAD_ARGUMENT naming the allowed ones, creating nothing', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const dir = join(tmp.dir, 'ext')
    mkdirSync(dir)
    const e = await refusal(writeLabelMap(labelsFor(t2), join(dir, 'mask.mha'), { like: t2 }))
    expect(e.code).toBe('BAD_ARGUMENT')
    expect(e.message).toBe('mask.mha has an unsupported extension; expected one of .nii.gz, .nii, .nrrd')
    expect(readdirSync(dir)).toEqual([])
  })

  it('an error while committing the file leaves nothing behind (target is a non-empty folder)', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const dir = join(tmp.dir, 'midwrite')
    mkdirSync(dir)
    const blocker = join(dir, 'mask.nii.gz')
    mkdirSync(blocker)
    writeFileSync(join(blocker, 'keep.txt'), 'x')
    for (const name of ['mask.nii.gz']) {
      const e = await refusal(writeLabelMap(labelsFor(t2), join(dir, name), { like: t2 }))
      expect(e.code).toBe('OUTPUT_CONFLICT')
      expect(e.message).toMatch(/is a folder; expected a file path|could not be written/) // refused before writing since the overwrite rule
    }
    mkdirSync(join(dir, 'mask.nrrd'))
    writeFileSync(join(dir, 'mask.nrrd', 'keep.txt'), 'x')
    expect((await refusal(writeLabelMap(labelsFor(t2), join(dir, 'mask.nrrd'), { like: t2 }))).code).toBe('OUTPUT_CONFLICT')
    expect(readdirSync(dir).sort()).toEqual(['mask.nii.gz', 'mask.nrrd']) // no temp files left
    expect(readdirSync(blocker)).toEqual(['keep.txt'])
  })

  it('refuses labels that are not on the input grid (GRID_MISMATCH) and non-integer label arrays', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const out = join(tmp.dir, 'never.nii.gz')
    expect((await refusal(writeLabelMap(labelsFor(ct), out, { like: t2 }))).code).toBe('GRID_MISMATCH')
    expect((await refusal(writeLabelMap({ ...t2 }, out, { like: t2 }))).code).toBe('BAD_ARGUMENT')
    expect(existsSync(out)).toBe(false)
  })
})
