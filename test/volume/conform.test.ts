import { describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { conform, conformGrid } from '../../src/engine/volume/conform'
import { orientationOf } from '../../src/engine/volume/orientation'
import { indexToWorld } from '../../src/engine/volume/affine'
import { data, maxAbsDiff, sameValues } from './fixtures'
import { expectSameGrid } from '../helpers/grid'
import { storedAs } from '../helpers/orders'
import type { Grid, Vec3 } from '../../src/engine/volume/volume'

/** A permutation with flips, a flip of every axis, and a rotation of the axes: exercises every kind of reordering. */
const SOME_ORDERS = [
  { perm: [2, 0, 1] as Vec3, flip: [false, true, false] as [boolean, boolean, boolean] },
  { perm: [0, 1, 2] as Vec3, flip: [true, true, true] as [boolean, boolean, boolean] },
  { perm: [1, 2, 0] as Vec3, flip: [true, false, true] as [boolean, boolean, boolean] }
]
const gridOf = (g: Grid): Grid => ({ size: g.size, spacing: g.spacing, origin: g.origin, direction: g.direction })

describe('conform', () => {
  it('leaves the already-conformed t1_crop (256^3, 1 mm, LIA, uint8) bit-identical on the same grid', async () => {
    const t1 = await readVolume(data('mri/t1_crop.nii.gz'))
    const out = conform(t1, { size: [256, 256, 256], spacing: [1, 1, 1], orientation: 'LIA', uint8: true })
    expect(out.data).toBeInstanceOf(Uint8Array)
    expect(sameValues(out.data, t1.data)).toBe(true)
    expectSameGrid(out, t1)
  })

  it('builds an axis-aligned grid of the requested code centred on the input: (size-1)/2 by default, size/2 for FreeSurfer', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    for (const orientation of ['LIA', 'RAS', 'PSR']) {
      for (const centre of ['world', 'freesurfer'] as const) {
        const g = conformGrid(flair, { size: [100, 120, 90], spacing: [1.5, 1.2, 2], orientation, centre })
        expect(orientationOf(g)).toBe(orientation)
        expect(g.direction.every((x) => x === 0 || Math.abs(x) === 1)).toBe(true)
        const at = (n: number) => (centre === 'world' ? (n - 1) / 2 : n / 2)
        const a = indexToWorld(flair, flair.size.map(at))
        const b = indexToWorld(g, g.size.map(at))
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-9)
      }
    }
    // the default is the world centre
    expect(conformGrid(flair, { size: [100, 120, 90], spacing: [1.5, 1.2, 2], orientation: 'RAS' })).toEqual(
      conformGrid(flair, { size: [100, 120, 90], spacing: [1.5, 1.2, 2], orientation: 'RAS', centre: 'world' })
    )
  })

  it('gives bit-identical voxels and grid for any storage order of a scan (world centre; float and uint8; axis-aligned and oblique)', async () => {
    for (const file of ['geometry/t1_RAS.nii.gz', 'mri/FLAIR.nii.gz']) {
      const v = await readVolume(data(file))
      for (const uint8 of [false, true]) {
        const opts = { size: [70, 84, 66] as Vec3, spacing: [2.2, 2.2, 2.2] as Vec3, orientation: 'LIA', uint8 }
        const expected = conform(v, opts)
        for (const order of SOME_ORDERS) {
          const out = conform(storedAs(v, order), opts)
          expect(gridOf(out)).toEqual(gridOf(expected))
          expect(sameValues(out.data, expected.data), `${file} ${JSON.stringify(order)} uint8 ${uint8}`).toBe(true)
        }
      }
    }
  })

  it('FreeSurfer centre: the grid moves by one voxel between two storage orders of an axis (half a voxel each side of the centre)', async () => {
    const v = await readVolume(data('geometry/t1_RAS.nii.gz'))
    const opts = { size: [64, 64, 64] as Vec3, spacing: [2, 2, 2] as Vec3, orientation: 'RAS', centre: 'freesurfer' as const }
    const a = conformGrid(v, opts)
    const b = conformGrid(storedAs(v, { perm: [0, 1, 2], flip: [true, false, false] }), opts)
    // index size/2 of the flipped storage is original index size/2 - 1: (size-1)/2 ∓ 1/2 voxel
    expect(Math.abs(a.origin[0] - b.origin[0])).toBeCloseTo(v.spacing[0], 9)
    expect(a.origin.slice(1)).toEqual(b.origin.slice(1))
  })

  it('maps a non-uint8 input [min, 99.9th percentile] to 0..255, clipped and rounded', async () => {
    // t1_RAS is float32 after scl_slope and axis-aligned RAS, so conforming it onto its own size,
    // spacing and code is a pure intensity rescale we can compute here independently.
    const v = await readVolume(data('geometry/t1_RAS.nii.gz'))
    expect(orientationOf(v)).toBe('RAS')
    const out = conform(v, { size: v.size, spacing: v.spacing, orientation: 'RAS', uint8: true })
    expect(maxAbsDiff(out.origin, v.origin)).toBeLessThan(1e-6)
    const sorted = Float64Array.from(v.data).sort()
    const min = sorted[0]
    const rank = 0.999 * (sorted.length - 1)
    const lo = Math.floor(rank)
    const p999 = sorted[lo] + (rank - lo) * (sorted[lo + 1] - sorted[lo])
    let differ = 0
    for (let k = 0; k < v.data.length; k++) {
      const x = ((v.data[k] - min) * 255) / (p999 - min)
      const expected = Math.min(255, Math.max(0, Math.round(x)))
      if (out.data[k] !== expected) differ++
    }
    expect(differ).toBe(0)
    expect(Array.from(out.data).reduce((m, x) => Math.max(m, x), 0)).toBe(255)
  })

  it('returns float32 intensities when uint8 is false, and refuses impossible sizes', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const out = conform(t2, { size: [64, 64, 64], spacing: [1, 1, 1], orientation: 'RAS', uint8: false })
    expect(out.data).toBeInstanceOf(Float32Array)
    expect(orientationOf(out)).toBe('RAS')
    expect(() => conform(t2, { size: [0, 64, 64], spacing: [1, 1, 1], orientation: 'RAS', uint8: false })).toThrow(/impossible/)
  })
})
