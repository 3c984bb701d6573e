import { describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { resampleToGrid, indexMapping } from '../../src/engine/volume/resample'
import { reorient } from '../../src/engine/volume/orientation'
import { conformGrid } from '../../src/engine/volume/conform'
import { apply3, indexToWorld, mul3 } from '../../src/engine/volume/affine'
import type { Grid, Vec3, Volume } from '../../src/engine/volume/volume'
import { data, sameValues } from './fixtures'

const gridOf = (v: Grid): Grid => ({ size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction })

/** `g` rotated by `deg` degrees about the world axis `axis` (0 x, 1 y, 2 z) around its centre voxel. */
function rotateGrid(g: Grid, deg: number, axis: number): Grid {
  const a = (deg * Math.PI) / 180
  const [c, s] = [Math.cos(a), Math.sin(a)]
  const rot = axis === 2 ? [c, -s, 0, s, c, 0, 0, 0, 1] : axis === 1 ? [c, 0, s, 0, 1, 0, -s, 0, c] : [1, 0, 0, 0, c, -s, 0, s, c]
  const direction = mul3(rot, g.direction)
  const centreIdx = g.size.map((n) => (n - 1) / 2)
  const centre = indexToWorld(g, centreIdx)
  const rotated: Grid = { ...g, direction, origin: [0, 0, 0] }
  const off = indexToWorld(rotated, centreIdx)
  rotated.origin = [centre[0] - off[0], centre[1] - off[1], centre[2] - off[2]] as Vec3
  return rotated
}

describe('resampleToGrid', () => {
  it('is bit-identical onto the source grid itself (oblique FLAIR; linear and nearest)', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    const lin = resampleToGrid(flair, gridOf(flair), { interpolation: 'linear', fill: 0 })
    const near = resampleToGrid(flair, gridOf(flair), { interpolation: 'nearest', fill: 0 })
    expect(sameValues(lin.data, flair.data)).toBe(true)
    expect(sameValues(near.data, flair.data)).toBe(true)
    expect(near.data).toBeInstanceOf(Uint8Array)
    expect(lin.data).toBeInstanceOf(Float32Array)
  })

  it('is bit-identical onto a permutation/flip of the source grid (equals reorient)', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    for (const code of ['RAS', 'PIL']) {
      const expected = reorient(flair, code)
      for (const interpolation of ['linear', 'nearest'] as const) {
        const got = resampleToGrid(flair, gridOf(expected), { interpolation, fill: -1 })
        expect(sameValues(got.data, expected.data)).toBe(true)
      }
    }
  })

  it('nearest to a finer axis-aligned grid and back is the identity wherever covered (FLAIR)', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    const fine = conformGrid(flair, { size: [320, 400, 360], spacing: [0.5, 0.5, 0.5], orientation: 'RAS' })
    const there = resampleToGrid(flair, fine, { interpolation: 'nearest', fill: 0 })
    const back = resampleToGrid(there, gridOf(flair), { interpolation: 'nearest', fill: 0 })
    // "Covered": the source voxel centre falls inside the fine grid.
    const { M, b } = indexMapping(fine, flair)
    let covered = 0
    let differ = 0
    for (let k = 0, o = 0; k < flair.size[2]; k++) for (let j = 0; j < flair.size[1]; j++) for (let i = 0; i < flair.size[0]; i++, o++) {
      const p = apply3(M, [i, j, k]).map((x, a) => Math.round(x + b[a]))
      if (p.some((x, a) => x < 0 || x >= fine.size[a])) continue
      covered++
      if (back.data[o] !== flair.data[o]) differ++
    }
    expect(covered).toBeGreaterThan(0.99 * flair.data.length)
    expect(differ).toBe(0)
  })

  it('reproduces a linear world ramp exactly with linear interpolation on an oblique target grid', async () => {
    const flair = await readVolume(data('mri/FLAIR.nii.gz'))
    const ramp = (w: readonly number[]): number => 0.7 * w[0] - 1.3 * w[1] + 2.1 * w[2] + 5
    const values = new Float64Array(flair.data.length)
    for (let k = 0, o = 0; k < flair.size[2]; k++) for (let j = 0; j < flair.size[1]; j++) for (let i = 0; i < flair.size[0]; i++, o++) {
      values[o] = ramp(indexToWorld(flair, [i, j, k]))
    }
    const src: Volume = { ...gridOf(flair), data: values }
    const small: Grid = { size: [40, 50, 45], spacing: [1.3, 0.9, 1.1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const centre = indexToWorld(flair, flair.size.map((n) => (n - 1) / 2))
    const off = indexToWorld(small, small.size.map((n) => (n - 1) / 2))
    small.origin = [centre[0] - off[0], centre[1] - off[1], centre[2] - off[2]]
    const target = rotateGrid(rotateGrid(small, 25, 2), -17, 0)
    const out = resampleToGrid(src, target, { interpolation: 'linear', fill: NaN })
    expect(out.data).toBeInstanceOf(Float64Array)
    const { M, b } = indexMapping(src, target)
    let checked = 0
    let worst = 0
    for (let k = 0, o = 0; k < target.size[2]; k++) for (let j = 0; j < target.size[1]; j++) for (let i = 0; i < target.size[0]; i++, o++) {
      const p = apply3(M, [i, j, k]).map((x, a) => x + b[a])
      if (p.some((x, a) => x < 0 || x > src.size[a] - 1)) continue // only the interior, away from the clamped rim
      checked++
      worst = Math.max(worst, Math.abs(out.data[o] - ramp(indexToWorld(target, [i, j, k]))))
    }
    expect(checked).toBe(out.data.length) // the rotated box lies inside FLAIR
    expect(worst).toBeLessThan(1e-9)
  })

  it('fills target voxels outside the source with `fill`', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    const far: Grid = { ...gridOf(t2), origin: [t2.origin[0] + 1000, t2.origin[1], t2.origin[2]] }
    const out = resampleToGrid(t2, far, { interpolation: 'linear', fill: -7 })
    expect(out.data.every((x) => x === -7)).toBe(true)
  })

  it('resamples 256^3 trilinear onto a rotated grid (t1_crop)', async () => {
    const t1 = await readVolume(data('mri/t1_crop.nii.gz'))
    const target = rotateGrid(gridOf(t1), 10, 2)
    // Its speed is measured by `npm run bench -- --only resample`, not here.
    const out = resampleToGrid(t1, target, { interpolation: 'linear', fill: 0 })
    expect(out.data.length).toBe(256 ** 3)
    expect(out.size).toEqual(target.size)
  })
})
