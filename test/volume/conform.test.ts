import { describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { conform, conformGrid } from '../../src/engine/volume/conform'
import { orientationOf } from '../../src/engine/volume/orientation'
import { indexToWorld } from '../../src/engine/volume/affine'
import { data, maxAbsDiff, sameValues } from './fixtures'
import { expectSameGrid } from '../helpers/grid'

describe('conform', () => {
  it('leaves the already-conformed t1_crop (256^3, 1 mm, LIA, uint8) bit-identical on the same grid', async () => {
    const t1 = await readVolume(data('mri/t1_crop.nii.gz'))
    const out = conform(t1, { size: [256, 256, 256], spacing: [1, 1, 1], orientation: 'LIA', uint8: true })
    expect(out.data).toBeInstanceOf(Uint8Array)
    expect(sameValues(out.data, t1.data)).toBe(true)
    expectSameGrid(out, t1)
  })

  it('builds an axis-aligned grid of the requested code whose index size/2 sits on the input centre', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    for (const orientation of ['LIA', 'RAS', 'PSR']) {
      const g = conformGrid(flair, { size: [100, 120, 90], spacing: [1.5, 1.2, 2], orientation })
      expect(orientationOf(g)).toBe(orientation)
      expect(g.direction.every((x) => x === 0 || Math.abs(x) === 1)).toBe(true)
      const a = indexToWorld(flair, flair.size.map((n) => n / 2))
      const b = indexToWorld(g, g.size.map((n) => n / 2))
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-9)
    }
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
