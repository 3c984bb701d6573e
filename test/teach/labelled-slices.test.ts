import { describe, expect, it } from 'vitest'
import { parseLabelledSlices, sliceMask, sliceOf } from '../../src/engine/teach/labelled-slices'

// Directions (LPS, row-major) of the shared scans: the spleen CT is LPS-stored (axial = k), the
// spine T2 is PSR (axial = j, sagittal = k), t1_crop is LIA (axial = j, coronal = k).
const LPS = { size: [164, 166, 26] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
const PSR = { size: [60, 55, 52] as [number, number, number], direction: [0, 0, -1, 1, 0, 0, 0, 1, 0] }
const LIA = { size: [256, 256, 256] as [number, number, number], direction: [1, 0, 0, 0, 0, -1, 0, -1, 0] }

describe('labelled slice lists', () => {
  it('every:4 on an axially stored CT takes k = 0, 4, …, 24', () => {
    expect(parseLabelledSlices('axial:every:4', LPS)).toEqual({ plane: 'axial', axis: 2, slices: [0, 4, 8, 12, 16, 20, 24] })
  })
  it('axial follows the voxel axis closest to head–foot, whatever the storage order', () => {
    expect(parseLabelledSlices('axial:every:3', PSR).axis).toBe(1)
    expect(parseLabelledSlices('sagittal:every:3', PSR).axis).toBe(2)
    expect(parseLabelledSlices('coronal:every:3', PSR).axis).toBe(0)
    expect(parseLabelledSlices('axial:1', LIA).axis).toBe(1)
    expect(parseLabelledSlices('coronal:1', LIA).axis).toBe(2)
  })
  it('a list is sorted and deduplicated', () => {
    expect(parseLabelledSlices('axial:12,3,7,3', LPS).slices).toEqual([3, 7, 12])
  })
  it('refuses a slice outside the volume, naming the range', () => {
    expect(() => parseLabelledSlices('axial:3,26', LPS)).toThrow(/slice 26 is outside the volume.*0 to 25/)
  })
  it('refuses an unknown plane, a zero step and a malformed list', () => {
    expect(() => parseLabelledSlices('transverse:every:2', LPS)).toThrow(/plane must be axial, coronal or sagittal/)
    expect(() => parseLabelledSlices('axial:every:0', LPS)).toThrow(/step must be an integer in 1\.\./)
    expect(() => parseLabelledSlices('axial:3,,7', LPS)).toThrow(/expected axial:every:N or axial:i,j,k/)
  })
  it('the slice mask marks exactly the voxels on the chosen slices', () => {
    const size: [number, number, number] = [4, 5, 6]
    const mask = sliceMask(size, { axis: 1, slices: [0, 3] })
    for (let o = 0; o < mask.length; o++) expect(mask[o]).toBe([0, 3].includes(sliceOf(o, size, 1)) ? 1 : 0)
    expect(mask.reduce((a, b) => a + b, 0)).toBe(2 * 4 * 6)
  })
})
