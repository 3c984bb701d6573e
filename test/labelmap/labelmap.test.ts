import { describe, expect, it } from 'vitest'
import {
  argmaxLabels,
  keepLargestComponents,
  largestComponent,
  sigmoidLabels,
  softmax
} from '../../src/engine/labelmap'

describe('argmaxLabels', () => {
  it('maps the winning channel to its label value; the first maximum wins ties', () => {
    // 4 voxels, 3 channels, [K, voxels]
    const scores = Float32Array.from([
      0, 5, 1, 2, // k=0
      1, 5, 1, 2, // k=1
      0, 1, 3, 2 // k=2
    ])
    expect(Array.from(argmaxLabels(scores, 3, 4, [0, 10, 20]))).toEqual([10, 0, 20, 0])
  })
  it('uses Uint16Array only when a label value needs it', () => {
    const s = Float32Array.from([0, 1])
    expect(argmaxLabels(s, 2, 1, [0, 255])).toBeInstanceOf(Uint8Array)
    const wide = argmaxLabels(s, 2, 1, [0, 1000])
    expect(wide).toBeInstanceOf(Uint16Array)
    expect(wide[0]).toBe(1000)
  })
  it('skips NaN scores and validates its arguments', () => {
    expect(Array.from(argmaxLabels(Float32Array.from([NaN, -1, 2, NaN]), 2, 2, [1, 2]))).toEqual([2, 1])
    expect(() => argmaxLabels(new Float32Array(5), 2, 2, [0, 1])).toThrow('scores hold 5 values but K × voxels = 2 × 2 = 4')
    expect(() => argmaxLabels(new Float32Array(4), 2, 2, [0])).toThrow('1 label values given for 2 channels')
  })
})

describe('sigmoidLabels', () => {
  it('takes the most probable channel if its sigmoid reaches the threshold, else 0', () => {
    const logits = Float32Array.from([
      2, -3, 0, 40, // k=0
      1, -1, 0, 50 // k=1
    ])
    // voxel 2: logit 0 → p = 0.5 ≥ 0.5 (channel 0 wins the tie); voxel 3: both saturate, the larger logit wins
    expect(Array.from(sigmoidLabels(logits, 2, 4, 0.5, [3, 7]))).toEqual([3, 0, 3, 7])
    expect(Array.from(sigmoidLabels(logits, 2, 4, 0.8, [3, 7]))).toEqual([3, 0, 0, 7])
    expect(() => sigmoidLabels(logits, 2, 4, 1, [3, 7])).toThrow('threshold must be > 0 and < 1')
  })
})

describe('softmax', () => {
  it('is stable for large logits and sums to 1 per voxel', () => {
    const p = softmax(Float32Array.from([1000, 0, 1001, 0]), 2, 2)
    expect(p[0]).toBeCloseTo(1 / (1 + Math.E), 6)
    expect(p[2]).toBeCloseTo(Math.E / (1 + Math.E), 6)
    expect(p[1]).toBeCloseTo(0.5, 6)
    expect(p[1] + p[3]).toBeCloseTo(1, 6)
  })
})

/** A label volume from z-slices of strings ('.' = 0, digits = labels), x fastest. */
function vol(slices: string[][]): { labels: Uint8Array; size: [number, number, number] } {
  const nz = slices.length
  const ny = slices[0].length
  const nx = slices[0][0].length
  const labels = new Uint8Array(nx * ny * nz)
  slices.forEach((rows, z) => rows.forEach((row, y) => [...row].forEach((ch, x) => (labels[x + nx * (y + ny * z)] = ch === '.' ? 0 : Number(ch)))))
  return { labels, size: [nx, ny, nz] }
}

describe('largestComponent (26-connectivity)', () => {
  it('keeps the largest component of a value, zeroes the others, leaves other values alone', () => {
    const { labels, size } = vol([
      ['11..1', '1...1', '.....', '2..1.'],
      ['.....', '.....', '..2..', '...1.']
    ])
    // value 1: {(0,0,0),(1,0,0),(0,1,0)} = 3; {(4,0,0),(4,1,0)} = 2; {(3,3,0),(3,3,1)} = 2
    const out = largestComponent(labels, size, 1)
    expect(out).toEqual(
      vol([
        ['11...', '1....', '.....', '2....'],
        ['.....', '.....', '..2..', '.....']
      ]).labels
    )
    expect(labels[4]).toBe(1) // input untouched
  })
  it('joins voxels touching only by a corner (26-connectivity)', () => {
    const { labels, size } = vol([
      ['1..', '...', '...'],
      ['...', '.1.', '...'],
      ['...', '...', '..1']
    ])
    const out = largestComponent(labels, size, 1)
    expect(Array.from(out)).toEqual(Array.from(labels))
    // a separate single voxel two steps away is removed
    const far = vol([
      ['1.1', '...', '...'],
      ['...', '...', '...'],
      ['...', '...', '...']
    ])
    const kept = largestComponent(far.labels, far.size, 1)
    expect(Array.from(kept).filter((v) => v === 1)).toHaveLength(1)
    expect(kept[0]).toBe(1) // tie: the component with the lowest index wins
  })
  it('handles a component spanning a large volume without recursion', () => {
    const n = 64
    const labels = new Uint8Array(n * n * n)
    // a snake through every row: worst case for a recursive fill
    for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (y % 2 === 0 || x === (y % 4 === 1 ? n - 1 : 0)) labels[x + n * (y + n * z)] = 3
    labels[0] = 0
    labels[n - 1 + n * (n - 1 + n * (n - 1))] = 3
    const out = largestComponent(labels, [n, n, n], 3)
    expect(out).toEqual(labels)
  })
  it('applies the manifest setting (true = every foreground label)', () => {
    const { labels, size } = vol([['1.1', '2.2', '...']])
    expect(Array.from(keepLargestComponents(labels, size, true, [0, 1, 2]))).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 0])
    expect(Array.from(keepLargestComponents(labels, size, [2], [0, 1, 2]))).toEqual([1, 0, 1, 2, 0, 0, 0, 0, 0])
    expect(keepLargestComponents(labels, size, false, [0, 1, 2])).toBe(labels)
    expect(() => largestComponent(labels, [3, 3, 2], 1)).toThrow('labels hold 9 voxels')
  })
})

