/** The label table model: add, delete, rename, recolour, lock, and default colours visible on grey scans. */
import { describe, expect, it } from 'vitest'
import {
  addLabel, deleteLabel, displayColor, LABEL_PALETTE, lockedValues, recolorLabel, renameLabel, setLocked, visibleOnGrey, type LabelDef
} from '../../src/shared/editing'

describe('label table', () => {
  it('add takes the lowest free value and its palette colour; rename, recolour, lock and delete change only that label', () => {
    let t: LabelDef[] = addLabel(addLabel(addLabel([], 'spleen'), 'liver'), 'kidney', 5)
    t = deleteLabel(t, 1)
    t = addLabel(t)
    expect(t.map((l) => [l.value, l.name])).toEqual([[1, 'label 1'], [2, 'liver'], [5, 'kidney']])
    expect(t[1].color).toEqual(LABEL_PALETTE[1])
    t = recolorLabel(renameLabel(t, 2, '  left liver '), 2, [10, 200, 30])
    t = setLocked(t, 5, true)
    expect(t[1]).toEqual({ value: 2, name: 'left liver', color: [10, 200, 30], locked: false })
    expect(lockedValues(t)).toEqual([5])
    expect(() => deleteLabel(t, 5)).toThrow(/label 5 is locked/)
    expect(() => addLabel(t, 'x', 2)).toThrow(/label 2 already exists/)
    expect(() => renameLabel(t, 2, '')).toThrow(/label name must have 1 to 255 characters/)
    expect(() => recolorLabel(t, 2, [0, 0, 256])).toThrow(/3 integers from 0 to 255/)
    expect(() => renameLabel(t, 9, 'x')).toThrow(/label 9 is not in the label table/)
  })

  it('every default colour is visible on grey; white matter (245,245,245) and black are drawn in palette colours', () => {
    expect(LABEL_PALETTE.every(visibleOnGrey)).toBe(true)
    expect(displayColor({ value: 3, color: [245, 245, 245] })).toEqual(LABEL_PALETTE[2])
    expect(displayColor({ value: 17, color: [8, 8, 8] })).toEqual(LABEL_PALETTE[0])
    expect(displayColor({ value: 2, color: [205, 62, 78] })).toEqual([205, 62, 78])
  })
})
