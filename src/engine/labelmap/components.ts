/**
 * Connected components of a label map (26-connectivity), iterative: an explicit FIFO queue in a typed
 * array, no recursion, so a 256^3 component cannot overflow the stack.
 */
import { SegError } from '../errors'
import type { LabelArray } from './decode'

/**
 * Keep only the largest 26-connected component of the voxels equal to `value`; the other voxels of
 * that value become 0. Other values are untouched. Returns a new array (the input is not modified).
 *
 * Ties between equally large components: the one containing the voxel with the lowest linear index
 * wins (deterministic). Memory: one byte per voxel plus a queue of one int32 per voxel of `value`.
 *
 * @param labels label map, `size[0]` fastest: offset = i + size[0] * (j + size[1] * k)
 *               (the Volume convention; the C-order [d0, d1, d2] inference layout is the same
 *               array with size = [d2, d1, d0])
 * @param size   [n0, n1, n2] voxels, n0 the fastest-varying axis
 * @param value  the label value to filter (must not be 0)
 */
export function largestComponent(labels: LabelArray, size: readonly [number, number, number], value: number): LabelArray {
  const [nx, ny, nz] = size
  const n = nx * ny * nz
  if (!size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new SegError('BAD_ARGUMENT', `largestComponent: size must be 3 positive integers, got [${size.join(', ')}]`)
  }
  if (labels.length !== n) {
    throw new SegError('BAD_ARGUMENT', `largestComponent: labels hold ${labels.length} voxels but size [${size.join(', ')}] has ${n}`)
  }
  if (!Number.isInteger(value) || value <= 0) {
    throw new SegError('BAD_ARGUMENT', `largestComponent: value must be a positive integer label, got ${value}`)
  }
  const out = labels.slice()
  let count = 0
  for (let v = 0; v < n; v++) if (labels[v] === value) count++
  if (count === 0) return out

  // state: 0 = not yet reached, 1 = in a component already measured, 2 = in the kept component
  const state = new Uint8Array(n)
  const queue = new Int32Array(count)
  const nxy = nx * ny

  /** Breadth-first fill from `seed`, marking `mark`; returns the component's voxel count. */
  const fill = (seed: number, mark: number): number => {
    let head = 0
    let tail = 0
    queue[tail++] = seed
    state[seed] = mark
    while (head < tail) {
      const p = queue[head++]
      const z = Math.floor(p / nxy)
      const rem = p - z * nxy
      const y = Math.floor(rem / nx)
      const x = rem - y * nx
      const z0 = z > 0 ? -1 : 0
      const z1 = z < nz - 1 ? 1 : 0
      const y0 = y > 0 ? -1 : 0
      const y1 = y < ny - 1 ? 1 : 0
      const x0 = x > 0 ? -1 : 0
      const x1 = x < nx - 1 ? 1 : 0
      for (let dz = z0; dz <= z1; dz++) {
        for (let dy = y0; dy <= y1; dy++) {
          const row = p + dz * nxy + dy * nx
          for (let dx = x0; dx <= x1; dx++) {
            const q = row + dx
            if (state[q] !== mark && labels[q] === value) {
              state[q] = mark
              queue[tail++] = q
            }
          }
        }
      }
    }
    return tail
  }

  let bestSeed = -1
  let bestSize = 0
  for (let v = 0; v < n; v++) {
    if (labels[v] === value && state[v] === 0) {
      const s = fill(v, 1)
      if (s > bestSize) {
        bestSize = s
        bestSeed = v
      }
      if (bestSize * 2 > count) break // no other component can be larger
    }
  }
  fill(bestSeed, 2)
  for (let v = 0; v < n; v++) if (labels[v] === value && state[v] !== 2) out[v] = 0
  return out
}

/**
 * Apply the manifest's `output.largestComponent` setting: `true` = every non-zero label value in
 * `labelValues`, `false` = nothing, a list = those values. Returns a new array (or the input itself
 * when nothing is to be done).
 */
export function keepLargestComponents(
  labels: LabelArray,
  size: readonly [number, number, number],
  setting: boolean | readonly number[],
  labelValues: readonly number[]
): LabelArray {
  const values = setting === true ? labelValues.filter((v) => v > 0) : setting === false ? [] : setting.filter((v) => v > 0)
  let out = labels
  for (const v of new Set(values)) out = largestComponent(out, size, v)
  return out
}
