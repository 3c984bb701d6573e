/**
 * The editing tools against analytic answers: lattice points in spheres and discs (the Gauss
 * sphere problem's counts), polygons of known area, islands of known size, on isotropic,
 * anisotropic and oblique grids.
 */
import { describe, expect, it } from 'vitest'
import {
  applyDelta, clearLabel, discBrush, indexToWorld, islandEdit, polygonFill, sphereBrush, worldPolygon, type LabelMap, type Vec3
} from '../../src/shared/editing'
import { SegError } from '../../src/shared/errors'

function map(size: Vec3, spacing: Vec3 = [1, 1, 1], direction = [1, 0, 0, 0, 1, 0, 0, 0, 1], origin: Vec3 = [0, 0, 0]): LabelMap {
  return { size, spacing, origin, direction, data: new Uint8Array(size[0] * size[1] * size[2]) }
}
const count = (m: LabelMap, v: number): number => Array.from(m.data).filter((x) => x === v).length
const paint = { mode: 'paint' as const, label: 1 }
const rot45z = [Math.SQRT1_2, -Math.SQRT1_2, 0, Math.SQRT1_2, Math.SQRT1_2, 0, 0, 0, 1]

/** Every voxel centre (brute force, world distance), for comparing with the brush's own box search. */
function centresWithin(m: LabelMap, c: Vec3, r: number, keep: (ijk: Vec3) => boolean = () => true): number[] {
  const out: number[] = []
  for (let k = 0; k < m.size[2]; k++)
    for (let j = 0; j < m.size[1]; j++)
      for (let i = 0; i < m.size[0]; i++) {
        const w = indexToWorld(m, [i, j, k])
        if (keep([i, j, k]) && Math.hypot(w[0] - c[0], w[1] - c[1], w[2] - c[2]) <= r + 1e-9) out.push(i + m.size[0] * (j + m.size[1] * k))
      }
  return out
}

describe('sphere brush', () => {
  it.each([
    [1, 7], [2, 33], [3, 123], [5, 515]
  ])('radius %i mm on a 1 mm grid at a voxel centre paints the %i lattice points within it', (r, n) => {
    const m = map([21, 21, 21])
    const d = sphereBrush(m, { center: [10, 10, 10], radiusMm: r }, paint)
    expect(d.indices.length).toBe(n)
  })

  it('anisotropic spacing: radius 2 mm with 2 mm slices paints 13 + 1 + 1 voxels', () => {
    const m = map([11, 11, 11], [1, 1, 2])
    const d = sphereBrush(m, { center: [5, 5, 10], radiusMm: 2 }, paint)
    expect(d.indices.length).toBe(15)
  })

  it('oblique direction and anisotropic spacing: exactly the voxels whose world centres are within the radius', () => {
    const m = map([24, 20, 12], [0.8, 1.1, 2.5], rot45z, [-3, 7, 11])
    const c: Vec3 = [1.3, 18.2, 24.9]
    const d = sphereBrush(m, { center: c, radiusMm: 6.2 }, paint)
    const want = centresWithin(m, c, 6.2)
    expect(want.length).toBeGreaterThan(50)
    expect([...d.indices]).toEqual(want)
  })

  it('a brush partly outside the map paints only the voxels inside it', () => {
    const m = map([5, 5, 5])
    expect(sphereBrush(m, { center: [0, 0, 0], radiusMm: 1 }, paint).indices.length).toBe(4)
    expect(sphereBrush(m, { center: [100, 0, 0], radiusMm: 3 }, paint).indices.length).toBe(0)
  })

  it('the intensity range limits painting to voxels whose scan value is inside it', () => {
    const m = map([21, 21, 21])
    const scan = Float32Array.from({ length: m.data.length }, (_, o) => o % 21) // scan value = i
    const d = sphereBrush(m, { center: [10, 10, 10], radiusMm: 3 }, { ...paint, intensity: { scan, min: 10, max: 20 } })
    expect([...d.indices]).toEqual(centresWithin(m, [10, 10, 10], 3, ([i]) => i >= 10))
  })

  it('locked labels are not painted over; erase clears only the active label unless asked for any', () => {
    const m = map([9, 9, 9])
    m.data.fill(2, 0, 9 * 9 * 4) // slices k 0..3 hold label 2
    const over = sphereBrush(m, { center: [4, 4, 4], radiusMm: 2 }, { ...paint, locked: [2] })
    expect(over.indices.length).toBe(33 - 10) // the 10 centres with k < 4 keep label 2
    applyDelta(m, over)
    const eraseOne = sphereBrush(m, { center: [4, 4, 4], radiusMm: 2 }, { mode: 'erase', label: 1 })
    expect(eraseOne.indices.length).toBe(23)
    expect(sphereBrush(m, { center: [4, 4, 4], radiusMm: 2 }, { mode: 'erase', label: 1, eraseAnyLabel: true }).indices.length).toBe(33)
    expect(sphereBrush(m, { center: [4, 4, 4], radiusMm: 2 }, { mode: 'erase', label: 1, eraseAnyLabel: true, locked: [2] }).indices.length).toBe(23)
  })

  it('bad input is a one-line error naming what was expected', () => {
    const m = map([5, 5, 5])
    expect(() => sphereBrush(m, { center: [0, 0, 0], radiusMm: -1 }, paint)).toThrow(/brush radius \(mm\) must be a number from/)
    expect(() => sphereBrush(m, { center: [0, 0, 0], radiusMm: 1 }, { mode: 'paint', label: 256 })).toThrow(/active label must be an integer from 1 to 255/)
    expect(() => sphereBrush(m, { center: [0, 0, 0], radiusMm: 1 }, { ...paint, locked: [1] })).toThrow(/label 1 is locked/)
    expect(() => sphereBrush({ ...m, data: new Uint8Array(3) }, { center: [0, 0, 0], radiusMm: 1 }, paint)).toThrow(SegError)
    expect(() => sphereBrush(m, { center: [0, 0, 0], radiusMm: 1 }, { ...paint, intensity: { scan: new Float32Array(4), min: 0, max: 1 } })).toThrow(/on the label map's grid/)
  })
})

describe('disc brush', () => {
  it('an axial disc of radius 3 mm paints the 29 lattice points of one slice (Gauss circle), whatever the slice thickness', () => {
    const m = map([15, 15, 9], [1, 1, 4])
    const d = discBrush(m, { center: [7, 7, 16.9], radiusMm: 3 }, 'axial', paint)
    expect(d.indices.length).toBe(29)
    expect(new Set([...d.indices].map((o) => Math.floor(o / 225)))).toEqual(new Set([4])) // nearest slice to z = 16.9 mm
  })

  it('coronal and sagittal discs follow the world axes on a permuted (PSR-like) grid', () => {
    // index i runs along world y, j along z, k along x
    const m = map([12, 10, 8], [1, 2, 1], [0, 0, 1, 1, 0, 0, 0, 1, 0])
    const c: Vec3 = [4, 6, 10]
    const ijk = [6, 5, 4]
    for (const [plane, axis] of [['sagittal', 2], ['coronal', 0], ['axial', 1]] as const) {
      const d = discBrush(m, { center: c, radiusMm: 2.5 }, plane, paint)
      const want = centresWithin(m, c, 2.5, (p) => p[axis] === ijk[axis])
      expect([...d.indices], plane).toEqual(want)
    }
  })
})

describe('polygon fill', () => {
  const square: [number, number][] = [[2, 2], [6, 2], [6, 6], [2, 6]]

  it('a 4x4 voxel square (corners on voxel centres) fills its 25 centres, boundary included', () => {
    const m = map([10, 10, 3])
    const d = polygonFill(m, { plane: 2, slice: 1, points: square }, paint)
    expect(d.indices.length).toBe(25)
    expect([...d.indices].every((o) => Math.floor(o / 100) === 1)).toBe(true)
  })

  it('a square traced twice is a hole under even-odd (only its outline) and filled under nonzero', () => {
    const m = map([10, 10, 3])
    const twice = [...square, ...square]
    expect(polygonFill(m, { plane: 2, slice: 1, points: twice }, paint, 'evenodd').indices.length).toBe(16)
    expect(polygonFill(m, { plane: 2, slice: 1, points: twice }, paint, 'nonzero').indices.length).toBe(25)
  })

  it('a right triangle fills the lattice points on and under its hypotenuse', () => {
    const m = map([12, 12, 12])
    const d = polygonFill(m, { plane: 0, slice: 3, points: [[0, 0], [8, 0], [0, 8]] }, paint)
    expect(d.indices.length).toBe(45) // 9 + 8 + ... + 1 centres with u + v <= 8
    expect([...d.indices].every((o) => o % 12 === 3)).toBe(true)
  })

  it('a world polygon on an axial view of a 2 mm grid fills the centres inside it', () => {
    const m = map([20, 20, 5], [2, 2, 3], undefined, [-10, -10, 0])
    const p = worldPolygon(m, 'axial', [[-6, -6, 6.2], [2, -6, 6.2], [2, 2, 6.2], [-6, 2, 6.2]])
    expect(p.slice).toBe(2)
    expect(polygonFill(m, p, paint).indices.length).toBe(25)
  })
})

describe('islands', () => {
  /** Two cubes of label 1 touching at one corner, plus a separate voxel. */
  function islands(): LabelMap {
    const m = map([10, 10, 10])
    const set = (i: number, j: number, k: number): void => void (m.data[i + 10 * (j + 10 * k)] = 1)
    for (let k = 1; k < 3; k++) for (let j = 1; j < 3; j++) for (let i = 1; i < 3; i++) set(i, j, k) // 8 voxels
    for (let k = 3; k < 6; k++) for (let j = 3; j < 6; j++) for (let i = 3; i < 6; i++) set(i, j, k) // 27, corner-touching
    set(8, 8, 8)
    return m
  }

  it('remove with 6-connectivity takes only the seed cube; with 26 the corner-touching cube too', () => {
    expect(islandEdit(islands(), { seed: [1, 1, 1], connectivity: 6, mode: 'remove' }).indices.length).toBe(8)
    expect(islandEdit(islands(), { seed: [1, 1, 1], connectivity: 26, mode: 'remove' }).indices.length).toBe(35)
  })

  it('keep clears every other voxel of the label', () => {
    const m = islands()
    const d = islandEdit(m, { seed: [4, 4, 4], connectivity: 6, mode: 'keep' })
    applyDelta(m, d)
    expect(count(m, 1)).toBe(27)
  })

  it('a background or locked seed is refused', () => {
    expect(() => islandEdit(islands(), { seed: [0, 0, 0], connectivity: 6, mode: 'remove' })).toThrow(/background/)
    expect(() => islandEdit(islands(), { seed: [1, 1, 1], connectivity: 6, mode: 'remove', locked: [1] })).toThrow(/locked/)
    expect(() => islandEdit(islands(), { seed: [1, 1, 10], connectivity: 6, mode: 'remove' })).toThrow(/inside \[10, 10, 10\]/)
  })
})

describe('clear a label', () => {
  it('deleting a label clears exactly its voxels, as a delta that undo reverses', () => {
    const m = map([6, 6, 6])
    m.data.fill(3, 10, 50)
    m.data.fill(1, 50, 60)
    const d = clearLabel(m, 3)
    expect(d.indices.length).toBe(40)
    applyDelta(m, d)
    expect(count(m, 3)).toBe(0)
    expect(count(m, 1)).toBe(10)
    applyDelta(m, d, 'backward')
    expect(count(m, 3)).toBe(40)
  })
})
