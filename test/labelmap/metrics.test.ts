import { describe, expect, it } from 'vitest'
import { dice } from '../../src/engine/labelmap/metrics'

describe('dice', () => {
  it('is 2|A∩B|/(|A|+|B|) on hand-made maps, 1 for two empty selections, and refuses unequal sizes', () => {
    const a = [0, 1, 1, 2, 2, 0]
    const b = [0, 1, 0, 2, 1, 1]
    expect(dice(a, b, (v) => v === 1, (v) => v === 1)).toBeCloseTo((2 * 1) / (2 + 3), 12)
    expect(dice(a, b, (v) => v > 0, (v) => v > 0)).toBeCloseTo((2 * 3) / (4 + 4), 12)
    expect(dice(a, b, (v) => v === 7, (v) => v === 7)).toBe(1)
    expect(() => dice([1], [1, 2], (v) => v > 0, (v) => v > 0)).toThrow(/differ in size/)
  })
})
