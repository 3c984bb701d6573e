import { describe, expect, it } from 'vitest'
import { splitBySlice, labelledSlicesOf } from '../../src/engine/teach/split'
import { sliceOf } from '../../src/engine/teach/labelled-slices'
import { UNKNOWN, type TeachScan } from '../../src/engine/teach/teach-set'

/** A 20×20×30 scan labelled on every 2nd slice along k: class 1 in a square, else 0. */
function scan(): TeachScan {
  const size: [number, number, number] = [20, 20, 30]
  const classes = new Int32Array(20 * 20 * 30).fill(UNKNOWN)
  for (let o = 0; o < classes.length; o++) {
    const i = o % 20, j = Math.floor(o / 20) % 20, k = Math.floor(o / 400)
    if (k % 2 === 0) classes[o] = i > 5 && i < 12 && j > 5 && j < 12 ? 1 : 0
  }
  const image = { size, spacing: [1, 1, 1] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Float32Array(classes.length) }
  return { name: 's', image, classes, splitAxis: 2 }
}

describe('validation split by slice', () => {
  const opts = { validationFraction: 0.2, perClass: 1000, maxValidation: 100000, seed: 7 }
  it('holds out whole labelled slices: no slice gives both training and validation voxels', () => {
    const s = scan()
    const split = splitBySlice([s], 2, opts)
    expect(split.heldOut[0]).toHaveLength(3) // 15 labelled slices × 0.2
    const trainSlices = new Set(split.train.map((r) => sliceOf(r.offset, s.image.size, 2)))
    const valSlices = new Set(split.validation.map((r) => sliceOf(r.offset, s.image.size, 2)))
    expect([...valSlices].sort((a, b) => a - b)).toEqual(split.heldOut[0])
    for (const v of valSlices) expect(trainSlices.has(v)).toBe(false)
    expect(labelledSlicesOf(s)).toHaveLength(15)
  })
  it('samples at most perClass training voxels of each class, and only known voxels', () => {
    const s = scan()
    const split = splitBySlice([s], 2, opts)
    const perClass = [0, 0]
    for (const r of split.train) perClass[s.classes[r.offset]]++
    expect(perClass).toEqual([1000, 12 * 36]) // class 1: 6×6 voxels on 12 training slices, all kept
  })
  it('is deterministic in the seed and changes with it', () => {
    const a = splitBySlice([scan()], 2, opts)
    const b = splitBySlice([scan()], 2, opts)
    expect(b).toEqual(a)
    const c = splitBySlice([scan()], 2, { ...opts, seed: 8 })
    expect(c.heldOut).not.toEqual(a.heldOut)
  })
})
