/**
 * Interpolation between two labelled axial slices 8 apart (the issue's e2e case, at engine level):
 * every slice between gets the label, with an area between the two discs' areas; the result is an
 * undoable delta.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { applyDelta, discBrush, type LabelArray, type LabelMap } from '../../src/shared/editing'
import { interpolateLabel } from '../../src/engine/labelmap/interpolate'
import { SegError } from '../../src/engine/errors'

const sha = (a: LabelArray): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')

describe('interpolate between labelled slices', () => {
  it.each([
    ['uint8', Uint8Array], ['uint16', Uint16Array]
  ] as const)('two axial discs 8 slices apart (radius 10 and 5 mm) on a %s map: every slice between gets an area between theirs, and undo restores the map', async (_t, Type) => {
    const map: LabelMap = { size: [64, 64, 20], spacing: [0.8, 0.8, 2], origin: [-25, -25, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Type(64 * 64 * 20) }
    applyDelta(map, discBrush(map, { center: [0, 0, 8], radiusMm: 10 }, 'axial', { mode: 'paint', label: 1 })) // slice 4
    applyDelta(map, discBrush(map, { center: [2, 1, 24], radiusMm: 5 }, 'axial', { mode: 'paint', label: 1 })) // slice 12
    map.data[0] = 2 // another label, left alone
    const before = sha(map.data)
    const area = (k: number): number => Array.from(map.data.subarray(k * 4096, (k + 1) * 4096)).filter((v) => v === 1).length
    const [a4, a12] = [area(4), area(12)]
    const d = await interpolateLabel(map, { label: 1, plane: 'axial' })
    expect(sha(map.data)).toBe(before) // pure: the delta is returned, not applied
    applyDelta(map, d)
    const areas = Array.from({ length: 7 }, (_, n) => area(5 + n))
    console.log(`interpolation areas (voxels), slice 4 .. 12: ${[a4, ...areas, a12].join(', ')}`)
    for (const a of areas) {
      expect(a).toBeGreaterThan(a12)
      expect(a).toBeLessThan(a4)
    }
    expect(area(3) + area(13)).toBe(0)
    expect(map.data[0]).toBe(2)
    applyDelta(map, d, 'backward')
    expect(sha(map.data)).toBe(before)
  })

  it('a label on one slice only gives an empty delta; a locked label is refused', async () => {
    const map: LabelMap = { size: [16, 16, 8], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Uint8Array(2048) }
    applyDelta(map, discBrush(map, { center: [8, 8, 3], radiusMm: 3 }, 2, { mode: 'paint', label: 1 }))
    expect((await interpolateLabel(map, { label: 1, plane: 2 })).indices.length).toBe(0)
    await expect(interpolateLabel(map, { label: 1, plane: 2, locked: [1] })).rejects.toThrow(/label 1 is locked/)
    await expect(interpolateLabel(map, { label: 1, plane: 2, locked: [1] })).rejects.toBeInstanceOf(SegError) // the CLI and the app treat it as foreseen
  })
})
