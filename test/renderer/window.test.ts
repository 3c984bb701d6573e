/** Window/level presets and the automatic (percentile) window. */
import { describe, expect, it } from 'vitest'
import { autoWindow, CT_PRESETS, percentiles } from '../../src/renderer/src/render/window'
import { makeBuffers, makeLut, renderSlice } from '../../src/renderer/src/render/slice'
import { fitViewport } from '../../src/renderer/src/geometry/space'

describe('window/level', () => {
  it('has the five CT presets in HU', () => {
    expect(CT_PRESETS.map((p) => [p.id, p.width, p.level])).toEqual([
      ['brain', 80, 40], ['subdural', 215, 75], ['abdomen', 400, 50], ['lung', 1500, -600], ['bone', 1800, 400]
    ])
  })

  it('percentiles of a ramp are exact; auto window spans 1st to 99.5th', () => {
    const ramp = Float32Array.from({ length: 1001 }, (_, i) => i)
    expect(percentiles(ramp, 1, 99)).toEqual([10, 990])
    const w = autoWindow(ramp)
    expect(w.level - w.width / 2).toBeCloseTo(10, 6)
    expect(w.level + w.width / 2).toBeCloseTo(995, 6)
  })

  it('maps level − width/2 to black and level + width/2 to white', () => {
    const grid = { size: [3, 1, 1] as [number, number, number], spacing: [1, 1, 1] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }
    const vp = { ...fitViewport(grid, 'axial', 3, 1), mmPerPixel: 1, center: [1, 0, 0] as [number, number, number] }
    const buf = makeBuffers(3, 1)
    renderSlice({ view: 'axial', viewport: vp, crosshair: [1, 0, 0], image: { grid, data: [-100, 0, 100] }, window: { level: 0, width: 200 }, interpolation: 'nearest', overlay: { lut: makeLut([]), opacity: 1, outline: false } }, buf)
    expect([buf.rgba[0], buf.rgba[8]]).toEqual([0, 255])
    expect(Math.abs(buf.rgba[4] - 127.5)).toBeLessThanOrEqual(0.5)
  })
})
