import { describe, expect, it } from 'vitest'
import { normalize, percentile, IntensityNormalizationSchema } from '../../src/engine/volume/intensity'

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs)
const close = (got: Float32Array, want: number[]): void => {
  expect(got.length).toBe(want.length)
  want.forEach((w, k) => expect(got[k]).toBeCloseTo(w, 6))
}

describe('normalize', () => {
  it('none returns an equal copy, not the same array', () => {
    const x = f32([1, 2, 3])
    const y = normalize(x, { kind: 'none' })
    expect(Array.from(y)).toEqual([1, 2, 3])
    expect(y).not.toBe(x)
  })

  it('minmax maps [min, max] to [0, 1]; a constant volume becomes all 0', () => {
    close(normalize(f32([2, 4, 6, 10]), { kind: 'minmax' }), [0, 0.25, 0.5, 1])
    close(normalize(f32([7, 7, 7]), { kind: 'minmax' }), [0, 0, 0])
  })

  it('zscore is (x - mean) / population std; std 0 subtracts the mean only', () => {
    // [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, population std 2.
    close(normalize(f32([2, 4, 4, 4, 5, 5, 7, 9]), { kind: 'zscore' }), [-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2])
    close(normalize(f32([3, 3]), { kind: 'zscore' }), [0, 0])
  })

  it('zscore nonzeroOnly takes statistics over non-zero voxels and keeps zeros at 0', () => {
    // Non-zero values [2, 4, 6]: mean 4, std sqrt(8/3).
    const s = Math.sqrt(8 / 3)
    close(normalize(f32([0, 2, 0, 4, 6]), { kind: 'zscore', nonzeroOnly: true }), [0, -2 / s, 0, 0, 2 / s])
  })

  it('window clips to [lower, upper] and maps it to [0, 1] (spleen CT window -57..164)', () => {
    close(normalize(f32([-1000, -57, 53.5, 164, 2000]), { kind: 'window', lower: -57, upper: 164 }), [0, 0, 0.5, 1, 1])
  })

  it('percentile clips to the percentiles (numpy interpolation) then applies minmax or zscore', () => {
    // 0..100: the 10th and 90th percentiles are 10 and 90.
    const x = Float32Array.from({ length: 101 }, (_, k) => k)
    const mm = normalize(x, { kind: 'percentile', lower: 10, upper: 90, then: 'minmax' })
    expect(mm[0]).toBe(0)
    expect(mm[10]).toBe(0)
    expect(mm[50]).toBeCloseTo(0.5, 6)
    expect(mm[100]).toBe(1)
    // Clipped values: 11 × 10, 11..89, 11 × 90 → mean 50; zscore of 50 is 0.
    const z = normalize(x, { kind: 'percentile', lower: 10, upper: 90, then: 'zscore' })
    expect(z[50]).toBeCloseTo(0, 6)
    expect(z[0]).toBeCloseTo(z[10], 6)
  })

  it('with a mask: statistics from the masked voxels, zeros outside the mask', () => {
    close(normalize(f32([100, 2, 4, 6]), { kind: 'minmax' }, Uint8Array.from([0, 1, 1, 1])), [0, 0, 0.5, 1])
  })
})

describe('percentile', () => {
  it('interpolates between order statistics like numpy.percentile', () => {
    const x = f32([15, 20, 35, 40, 50])
    expect(percentile(x, 0)).toBe(15)
    expect(percentile(x, 100)).toBe(50)
    expect(percentile(x, 50)).toBe(35)
    // numpy.percentile([15,20,35,40,50], 40) = 29 (rank 1.6 → 20 + 0.6·15)
    expect(percentile(x, 40)).toBeCloseTo(29, 6)
    expect(Array.from(x)).toEqual([15, 20, 35, 40, 50]) // the input is not reordered
  })
})

describe('IntensityNormalizationSchema', () => {
  it('accepts each kind and rejects bad windows, percentiles and unknown kinds', () => {
    for (const ok of [
      { kind: 'none' }, { kind: 'minmax' }, { kind: 'zscore', nonzeroOnly: true },
      { kind: 'window', lower: -57, upper: 164 }, { kind: 'percentile', lower: 0.5, upper: 99.5, then: 'zscore' }
    ]) expect(IntensityNormalizationSchema.safeParse(ok).success).toBe(true)
    for (const bad of [
      { kind: 'window', lower: 10, upper: 10 }, { kind: 'percentile', lower: -1, upper: 50, then: 'minmax' },
      { kind: 'percentile', lower: 5, upper: 95, then: 'window' }, { kind: 'gamma' }, { kind: 'minmax', extra: 1 }
    ]) expect(IntensityNormalizationSchema.safeParse(bad).success).toBe(false)
  })
})
