/**
 * Undo/redo memory and exactness on a realistic label map (512x512x300), incremental statistics
 * against a full rescan, the edit's box against the voxels it changed, and the byte bound.
 */
import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import {
  applyDelta, cropLabelMap, deltaBox, deltaBytes, editedLabels, labelCounts, sphereBrush, UndoStack, updateCounts, voxelMl,
  type LabelArray, type LabelMap, type Vec3
} from '../../src/shared/editing'
import { labelSurface } from '../../src/shared/marching-cubes'

const MB = 1024 * 1024
const hash = (a: LabelArray): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')
/** Deterministic pseudo-random numbers in [0, 1) (a linear congruential generator). */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}
const held = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
// A collection before each reading, so garbage of earlier tests does not blur the figure.
setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void
const heldAfterGc = (): number => (gc(), held())

describe('undo/redo on a 512x512x300 label map', () => {
  it.each([
    ['uint8', Uint8Array], ['uint16', Uint16Array]
  ] as const)('100 brush strokes (radius 5-10 mm) with undo/redo of all of them stay under 200 MB beyond the %s map and restore it bit for bit', (_t, Type) => {
    const size: Vec3 = [512, 512, 300]
    const map: LabelMap = { size, spacing: [0.7, 0.7, 1], origin: [-180, -180, -150], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Type(512 * 512 * 300) }
    const before = heldAfterGc()
    let peak = 0
    const stack = new UndoStack(200 * MB)
    const rand = lcg(14)
    const first = hash(map.data)
    let counts = labelCounts(map.data)
    let center: Vec3 = [0, 0, 0]
    for (let s = 0; s < 100; s++) {
      // every fifth stroke erases part of the previous one (so it changes something and is recorded)
      center = s % 5 === 4 ? [center[0] + 4, center[1], center[2]] : [-150 + 300 * rand(), -150 + 300 * rand(), -120 + 240 * rand()]
      const rule = s % 5 === 4 ? { mode: 'erase' as const, label: 1, eraseAnyLabel: true } : { mode: 'paint' as const, label: 1 + (s % 3) }
      const d = stack.edit(map, sphereBrush(map, { center, radiusMm: 5 + 5 * rand() }, rule))
      counts = updateCounts(counts, d)
      peak = Math.max(peak, held() - before)
    }
    const last = hash(map.data)
    const stackBytes = stack.bytes
    const retained = heldAfterGc() - before
    expect(counts).toEqual(labelCounts(map.data)) // incremental statistics = a full rescan
    let steps = 0
    for (; stack.canUndo; steps++) counts = updateCounts(counts, stack.undo(map)!.step.delta, -1)
    expect(steps).toBe(100)
    expect(hash(map.data)).toBe(first)
    expect(counts).toEqual(labelCounts(map.data))
    while (stack.canRedo) {
      stack.redo(map)
      peak = Math.max(peak, held() - before)
    }
    expect(hash(map.data)).toBe(last)
    const retainedEnd = heldAfterGc() - before
    console.log(
      `${_t}: undo stack ${(stackBytes / MB).toFixed(2)} MB for 100 strokes; heap + array buffers beyond the ${(map.data.byteLength / MB).toFixed(0)} MB map: ` +
        `${(Math.max(retained, retainedEnd) / MB).toFixed(1)} MB retained, ${(peak / MB).toFixed(1)} MB peak (garbage included)`
    )
    expect(stack.dropped).toBe(0)
    expect(stackBytes).toBeLessThan(200 * MB)
    expect(Math.max(retained, retainedEnd, peak)).toBeLessThan(200 * MB)
  }, 60_000)
})

describe('undo stack', () => {
  const small = (): LabelMap => ({ size: [20, 20, 20], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Uint8Array(8000) })

  it('drops the oldest steps beyond its byte bound and keeps the newest undoable', () => {
    const map = small()
    const d1 = sphereBrush(map, { center: [5, 5, 5], radiusMm: 3 }, { mode: 'paint', label: 1 })
    const stack = new UndoStack(2 * deltaBytes(d1) + 10)
    stack.edit(map, d1)
    stack.edit(map, sphereBrush(map, { center: [14, 14, 14], radiusMm: 3 }, { mode: 'paint', label: 2 }))
    stack.edit(map, sphereBrush(map, { center: [5, 14, 5], radiusMm: 3 }, { mode: 'paint', label: 3 }))
    expect(stack.dropped).toBe(1)
    expect(stack.bytes).toBeLessThanOrEqual(stack.maxBytes)
    stack.undo(map)
    stack.undo(map)
    expect(stack.canUndo).toBe(false)
    expect(labelCounts(map.data).get(1)).toBe(123) // the dropped first stroke stays
  })

  it('a new edit clears redo; a delta of another state is refused without changing the map', () => {
    const map = small()
    const stack = new UndoStack()
    stack.edit(map, sphereBrush(map, { center: [5, 5, 5], radiusMm: 2 }, { mode: 'paint', label: 1 }))
    stack.undo(map)
    expect(stack.canRedo).toBe(true)
    stack.edit(map, sphereBrush(map, { center: [9, 9, 9], radiusMm: 2 }, { mode: 'paint', label: 2 }))
    expect(stack.canRedo).toBe(false)
    const stale = sphereBrush(map, { center: [9, 9, 9], radiusMm: 2 }, { mode: 'paint', label: 3 })
    stack.undo(map)
    const h = hash(map.data)
    expect(() => stack.edit(map, { ...stale, indices: stale.indices, before: stale.before.map(() => 7), after: stale.after })).toThrow(/another state/)
    expect(hash(map.data)).toBe(h)
    expect(() => new UndoStack(0)).toThrow(/undo memory bound/)
  })
})

describe('statistics and surface of an edit', () => {
  it('mL per voxel is the spacing product / 1000; the box and edited labels are those of the changed voxels', () => {
    const map: LabelMap = { size: [30, 30, 30], spacing: [0.5, 0.5, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Uint8Array(27000) }
    expect(voxelMl(map)).toBeCloseTo(0.0005, 12)
    map.data[0] = 2
    const d = sphereBrush(map, { center: [7.5, 7.5, 30], radiusMm: 3 }, { mode: 'paint', label: 1 })
    // radius 3 mm: 6 voxels each way in-plane, 1 slice each way along k (2 mm)
    expect(deltaBox(d, map.size)).toEqual({ min: [9, 9, 14], max: [21, 21, 16] })
    expect(editedLabels(d)).toEqual(new Set([1]))
  })

  it('marching cubes on the cropped box gives the same surface as on the whole map, for a label inside the box', () => {
    const map: LabelMap = { size: [40, 30, 20], spacing: [0.8, 1.2, 2], origin: [5, -3, 7], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1], data: new Uint8Array(24000) }
    const d = sphereBrush(map, { center: [23, -19, 27], radiusMm: 5 }, { mode: 'paint', label: 4 })
    applyDelta(map, d)
    const whole = labelSurface(map, map.data, 4)
    const part = cropLabelMap(map, deltaBox(d, map.size)!, 1)
    const sub = labelSurface(part, part.data, 4)
    expect(d.indices.length).toBeGreaterThan(20)
    expect(sub.indices.length).toBe(whole.indices.length)
    const sorted = (p: Float32Array): number[] => [...p].map((x) => Math.round(x * 1000)).sort((a, b) => a - b)
    expect(sorted(sub.positions)).toEqual(sorted(whole.positions))
  })
})
