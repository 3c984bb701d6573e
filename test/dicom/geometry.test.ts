/**
 * seriesGeometry's refusals and warnings on slice stacks a scanner can produce (pure function; the
 * whole path on real files is in read.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { seriesGeometry, type Slice } from '../../src/engine/dicom/geometry'

const AXIAL = [1, 0, 0, 0, 1, 0]
/** n axial 0.5 mm slices, `step` mm apart, each shifted sideways by `drift` mm in y per slice. */
const stack = (n: number, step: number, drift = 0, orientation = AXIAL): Slice[] =>
  Array.from({ length: n }, (_, k) => ({ position: [-10, -20 + k * drift, 30 + k * step], orientation, pixelSpacing: [0.5, 0.5], rows: 4, columns: 3 }))

describe('seriesGeometry', () => {
  it('orders slices by position along the normal, whatever the given order, with the spacing from positions', () => {
    const slices = stack(5, 2.5)
    const g = seriesGeometry([slices[3], slices[0], slices[4], slices[2], slices[1]])
    expect(g.order).toEqual([1, 4, 3, 0, 2])
    expect(g.grid).toEqual({ size: [3, 4, 5], spacing: [0.5, 0.5, 2.5], origin: [-10, -20, 30], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] })
    expect(g.notes).toEqual([])
  })

  it('refuses gantry tilt, naming the angle', () => {
    const drift = Math.tan((15 * Math.PI) / 180) * 2.5 // 15° tilt
    expect(() => seriesGeometry(stack(6, 2.5, drift))).toThrow(/stacked at 15\.00° from their normal \(gantry tilt\)/)
  })

  it('refuses mixed orientations and two images at one position', () => {
    const mixed = [...stack(3, 2), ...stack(3, 2, 0, [0, 1, 0, 0, 0, -1])]
    expect(() => seriesGeometry(mixed)).toThrow(/mixes 2 slice orientations/)
    const twice = [...stack(3, 2), ...stack(3, 2)]
    expect(() => seriesGeometry(twice)).toThrow(/two share the position 30 mm along the slice normal/)
  })

  it('keeps a stack with a missing slice on the common step and names the gap', () => {
    const slices = stack(8, 3)
    slices.splice(4, 1)
    const g = seriesGeometry(slices)
    expect(g.grid.spacing[2]).toBe(3)
    expect(g.notes).toHaveLength(1)
    expect(g.notes[0]).toMatch(/^irregular slice spacing: a gap of 6 mm between slices 4 and 5 \(at 39 mm and 45 mm along the normal\) where the series steps 3 mm/)
  })
})
