/**
 * Reading geometry (geometry/reading.ts): the slice number a view shows on real grids (the plain
 * spleen CT and the permuted PSR spine), the readout point that follows a slice change under a still
 * pointer, round scale-bar lengths, and the ruler's world distance.
 */
import { describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { indexToWorld } from '../../src/engine/volume/affine'
import { distanceMm, ontoSlice, onSlice, scaleBar, sliceNumber } from '../../src/renderer/src/geometry/reading'
import { sliceStep, type Vec3 } from '../../src/renderer/src/geometry/space'
import { data } from '../helpers/data'

describe('slice number (k / n)', () => {
  it('counts spleen_ct axial slices along k and coronal along j, 1-based, null outside', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const p = indexToWorld(ct, [100, 150, 7]) as Vec3
    expect(sliceNumber(ct, 'axial', p)).toEqual({ k: 8, n: ct.size[2] })
    expect(sliceNumber(ct, 'coronal', p)).toEqual({ k: 151, n: ct.size[1] })
    expect(sliceNumber(ct, 'sagittal', p)).toEqual({ k: 101, n: ct.size[0] })
    expect(sliceNumber(ct, 'axial', indexToWorld(ct, [100, 150, ct.size[2]]) as Vec3)).toBeNull()
  })

  it('on a permuted (PSR) grid the axial count runs along the index axis that points superior', async () => {
    const spine = await readVolume(data('spine/t2.nii.gz'))
    const axis = [0, 1, 2].reduce((best, c) => (Math.abs(spine.direction[6 + c]) > Math.abs(spine.direction[6 + best]) ? c : best), 0)
    const ijk = [3, 4, 5]
    expect(sliceNumber(spine, 'axial', indexToWorld(spine, ijk) as Vec3)).toEqual({ k: ijk[axis] + 1, n: spine.size[axis] })
  })
})

describe('the readout under a still pointer', () => {
  it('moves with the slice: only the coordinate along the view normal changes', () => {
    const hover: Vec3 = [10, -20, 30]
    expect(ontoSlice('axial', hover, [0, 0, 35])).toEqual([10, -20, 35])
    expect(ontoSlice('coronal', hover, [0, 7, 0])).toEqual([10, 7, 30])
    expect(ontoSlice('sagittal', hover, [-4, 0, 0])).toEqual([-4, -20, 30])
  })

  it('a ruler shows on its own slice only (half a step either side)', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const step = sliceStep(ct, 'axial')
    const a = indexToWorld(ct, [50, 50, 10]) as Vec3
    expect(onSlice('axial', a, indexToWorld(ct, [200, 300, 10]) as Vec3, step)).toBe(true)
    expect(onSlice('axial', a, indexToWorld(ct, [50, 50, 11]) as Vec3, step)).toBe(false)
  })
})

describe('scale bar', () => {
  it.each([
    [0.8, 100, 50],
    [1, 100, 100],
    [0.3, 120, 20],
    [2.6, 100, 200],
    [0.01, 40, 0.2]
  ])('at %f mm/pixel within %i pixels: %f mm', (mmPerPixel, maxPixels, mm) => {
    const bar = scaleBar(mmPerPixel, maxPixels)!
    expect(bar.mm).toBe(mm)
    expect(bar.pixels).toBeCloseTo(mm / mmPerPixel, 9)
    expect(bar.pixels).toBeLessThanOrEqual(maxPixels + 1e-9)
  })

  it('is absent when not even 0.1 mm fits', () => {
    expect(scaleBar(0.001, 50)).toBeNull()
  })
})

describe('ruler', () => {
  it('measures in world mm, across anisotropic voxels (0.8 × 0.8 × 5 mm)', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const a = indexToWorld(ct, [10, 20, 3]) as Vec3
    const b = indexToWorld(ct, [13, 24, 3]) as Vec3
    const s = ct.spacing
    expect(distanceMm(a, b)).toBeCloseTo(Math.hypot(3 * s[0], 4 * s[1]), 9)
  })
})
