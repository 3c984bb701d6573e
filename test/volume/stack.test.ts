import { describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { stackChannels } from '../../src/engine/volume/stack'
import type { Volume } from '../../src/engine/volume/volume'
import { SegError } from '../../src/engine/errors'
import { data } from './fixtures'

describe('stackChannels', () => {
  it('stacks co-registered volumes (spleen CT and its mask) as float32 channels on the common grid', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const seg = await readVolume(data('ct/spleen_ct_seg.nii.gz'))
    const { grid, channels } = stackChannels([ct, seg])
    expect(grid.size).toEqual(ct.size)
    expect(channels).toHaveLength(2)
    expect(channels[1]).toBeInstanceOf(Float32Array)
    expect(channels[1].length).toBe(seg.data.length)
    expect(channels[1].every((x, k) => x === seg.data[k])).toBe(true)
    expect(channels[0]).not.toBe(ct.data)
  })

  it('refuses grids that differ with GRID_MISMATCH naming both channels', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    try {
      stackChannels([ct, t2])
      throw new Error('expected a refusal')
    } catch (e) {
      expect(e).toBeInstanceOf(SegError)
      expect((e as SegError).code).toBe('GRID_MISMATCH')
      expect((e as SegError).message).toBe(
        'channel 2 (t2.nii.gz) is 60x55x52 at 1 mm but channel 1 (spleen_ct.nii.gz) is 164x166x26 at 0.7949x0.7949x5 mm; ' +
          'expected the same size, spacing, origin and direction (tolerance 1e-4 mm)'
      )
    }
  })

  it('accepts differences within 1e-4 mm and refuses a 1e-3 mm origin shift', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const nudged = (d: number): Volume => ({ ...ct, origin: [ct.origin[0] + d, ct.origin[1], ct.origin[2]] })
    expect(() => stackChannels([ct, nudged(5e-5)])).not.toThrow()
    expect(() => stackChannels([ct, nudged(1e-3)])).toThrow(SegError)
  })
})
