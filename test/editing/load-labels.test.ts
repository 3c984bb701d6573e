/**
 * Loading an existing segmentation as labels of a scan, on real data: the manual spleen mask onto
 * its CT (volume against nibabel's count x voxel volume), float files, sidecar names (ITK-SNAP,
 * JSON, Slicer .seg.nrrd), and another grid refused unless nearest-neighbour resampling is asked for.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadLabels } from '../../src/engine/labelmap/load-labels'
import { readVolume } from '../../src/engine/volume/read'
import type { Volume } from '../../src/engine/volume/volume'
import { voxelMl } from '../../src/shared/editing'
import { data, tempDir } from '../helpers/data'

const PYTHON = '/usr/bin/python3'
const SEG = data('ct/spleen_ct_seg.nii.gz')
const CT = data('ct/spleen_ct.nii.gz')
const tmp = tempDir('segtransfer-labels-')
let scan: Volume
/** nibabel's own count of the mask's voxels and its voxel volume (mm³): the oracle. */
let oracle: { count: number; voxelMm3: number }

/** Variants of the mask written by nibabel: float32, float with a fraction, and a 2x coarser in-plane grid. */
const MAKE = `
import sys, nibabel as nb, numpy as np
seg = nb.load(sys.argv[1]); out = sys.argv[2]
a = np.asanyarray(seg.dataobj)
nb.save(nb.Nifti1Image(a.astype(np.float32), seg.affine), out + '/float.nii.gz')
b = a.astype(np.float32); b[0, 0, 0] = 0.5
nb.save(nb.Nifti1Image(b, seg.affine), out + '/fraction.nii.gz')
nb.save(nb.Nifti1Image(a.astype(np.int32) * 300, seg.affine), out + '/int32x300.nii.gz')
c = a.astype(np.int16); c[1, 0, 0] = -2
nb.save(nb.Nifti1Image(c, seg.affine), out + '/negative.nii.gz')
aff = seg.affine.copy(); aff[:3, :2] *= 2
nb.save(nb.Nifti1Image(np.ascontiguousarray(a[::2, ::2, :]), aff), out + '/coarse.nii.gz')
h = seg.header.copy(); h['cal_min'] = np.frombuffer(b'DICM', seg.header.endianness + 'f4')[0]
nb.save(nb.Nifti1Image(a, seg.affine, h), out + '/dicm-at-128.nii')
print(int((a > 0).sum()), float(np.prod(seg.header.get_zooms()[:3])))
`

beforeAll(async () => {
  scan = await readVolume(CT)
  const [count, voxelMm3] = execFileSync(PYTHON, ['-c', MAKE, SEG, tmp.dir], { encoding: 'utf8' }).trim().split(' ').map(Number)
  oracle = { count, voxelMm3 }
})
afterAll(() => tmp.cleanup())

describe('load an existing segmentation as labels', () => {
  it("spleen_ct_seg onto spleen_ct: one label whose volume in mL is nibabel's voxel count x voxel volume", async () => {
    const r = await loadLabels(SEG, scan)
    const ml = r.counts.get(1)! * voxelMl(r.labels)
    console.log(`spleen: ${r.counts.get(1)} voxels x ${(voxelMl(r.labels) * 1000).toFixed(4)} mm³ = ${ml.toFixed(2)} mL`)
    expect(r.counts.get(1)).toBe(oracle.count)
    // nibabel reports the float32 pixdim; our spacing comes from the sform in double: 1e-6 relative
    expect(ml).toBeCloseTo((oracle.count * oracle.voxelMm3) / 1000, 4)
    expect(r.labels.data).toBeInstanceOf(Uint8Array)
    expect(r.table).toEqual([{ value: 1, name: 'label 1', color: [255, 0, 0], locked: false }])
    expect(r.labels.size).toEqual(scan.size)
    expect(r.notes).toEqual([])
  })

  it('a float32 mask with integer values loads as the same labels; a fractional value is refused', async () => {
    const r = await loadLabels(join(tmp.dir, 'float.nii.gz'), scan)
    expect(r.counts.get(1)).toBe(oracle.count)
    await expect(loadLabels(join(tmp.dir, 'fraction.nii.gz'), scan)).rejects.toThrow(/holds the value 0.5 at voxel 0; expected integer label values from 0 to 65535/)
  })

  it('int32 values above 255 load as a uint16 map; a negative value is refused', async () => {
    const r = await loadLabels(join(tmp.dir, 'int32x300.nii.gz'), scan)
    expect(r.labels.data).toBeInstanceOf(Uint16Array)
    expect(r.counts.get(300)).toBe(oracle.count)
    expect(r.table.map((l) => l.value)).toEqual([300])
    await expect(loadLabels(join(tmp.dir, 'negative.nii.gz'), scan)).rejects.toThrow(/holds the value -2 at voxel 1; expected integer label values/)
  })

  it('a mask on another grid is refused without the option and resampled by nearest neighbour with it, with a note', async () => {
    const coarse = join(tmp.dir, 'coarse.nii.gz')
    await expect(loadLabels(coarse, scan)).rejects.toMatchObject({ code: 'GRID_MISMATCH', message: expect.stringMatching(/is on another grid \(82x83x26 at 1\.5898x1\.5898x5 mm.*nearest-neighbour resampling/) })
    const r = await loadLabels(coarse, scan, { resample: 'nearest' })
    expect(r.labels.size).toEqual(scan.size)
    expect(r.notes[0]).toMatch(/resampled by nearest neighbour from 82x83x26/)
    // each coarse voxel covers about 4 fine ones: the volume stays within 5 %
    expect(Math.abs(r.counts.get(1)! / oracle.count - 1)).toBeLessThan(0.05)
  })

  it("an uncompressed NIfTI whose bytes 128..131 happen to read 'DICM' (its cal_min) loads as the NIfTI it is, not refused as broken DICOM", async () => {
    const nii = join(tmp.dir, 'dicm-at-128.nii')
    expect(readFileSync(nii).toString('latin1', 128, 132)).toBe('DICM')
    const r = await loadLabels(nii, scan)
    expect(r.counts.get(1)).toBe(oracle.count)
    expect(r.notes).toEqual([])
  })

  it('names and colours come from an ITK-SNAP label file or a JSON sidecar next to the mask', async () => {
    const snap = join(tmp.dir, 'snap.nii.gz')
    copyFileSync(SEG, snap)
    writeFileSync(join(tmp.dir, 'snap.txt'), '# ITK-SNAP Label Description File\n    0     0    0    0        0  0  0    "Clear Label"\n    1   255  128    0        1  1  1    "Spleen"\n    2     0    0  255        1  1  1    "Liver"\n')
    const r = await loadLabels(snap, scan)
    expect(r.namesFrom).toBe(join(tmp.dir, 'snap.txt'))
    expect(r.table).toEqual([
      { value: 1, name: 'Spleen', color: [255, 128, 0], locked: false },
      { value: 2, name: 'Liver', color: [0, 0, 255], locked: false }
    ])
    const js = join(tmp.dir, 'js.nii.gz')
    copyFileSync(SEG, js)
    writeFileSync(join(tmp.dir, 'js.json'), JSON.stringify({ 1: 'spleen' }))
    expect((await loadLabels(js, scan)).table[0].name).toBe('spleen')
    writeFileSync(join(tmp.dir, 'js.json'), JSON.stringify([{ value: 1, name: '' }]))
    await expect(loadLabels(js, scan)).rejects.toThrow(/js\.json/)
  })

  it("a Slicer .seg.nrrd gives its segments' names and colours", async () => {
    const seg = join(tmp.dir, 'slicer.seg.nrrd')
    const d = scan.direction
    const col = (c: number): string => `(${[0, 1, 2].map((r) => d[r * 3 + c] * scan.spacing[c]).join(',')})`
    const header = [
      'NRRD0004', 'type: uint8', 'dimension: 3', 'space: left-posterior-superior', `sizes: ${scan.size.join(' ')}`,
      `space directions: ${col(0)} ${col(1)} ${col(2)}`, 'kinds: domain domain domain', 'encoding: raw', `space origin: (${scan.origin.join(',')})`,
      'Segment0_ID:=Segment_1', 'Segment0_Name:=spleen', 'Segment0_LabelValue:=1', 'Segment0_Layer:=0', 'Segment0_Color:=0.5 0.25 1', '', ''
    ].join('\n')
    const labels = (await loadLabels(SEG, scan)).labels.data
    writeFileSync(seg, Buffer.concat([Buffer.from(header), Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength)]))
    const r = await loadLabels(seg, scan)
    expect(r.counts.get(1)).toBe(oracle.count)
    expect(r.table).toEqual([{ value: 1, name: 'spleen', color: [128, 64, 255], locked: false }])
  })
})

it('the test data is there', () => expect(existsSync(SEG) && existsSync(CT)).toBe(true))
