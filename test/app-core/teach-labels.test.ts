/**
 * The Teach panel's training data from a label layer, as the engine's teach() takes it: complete
 * slices keep the layer with unlearned labels as background (the CLI's --labelled-slices); painted
 * voxels only make every unpainted voxel unknown (the CLI's --ignore-value); each refusal is one line.
 */
import { describe, expect, it } from 'vitest'
import { isSegError } from '../../src/engine/errors'
import { sliceSpecOf, teachLabelsOf, UNPAINTED } from '../../src/app-core/teach-labels'

const U = UNPAINTED
const refusal = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return isSegError(e) ? `${e.code}: ${e.message}` : `raw: ${String(e)}`
  }
  return 'no error'
}

describe('teachLabelsOf', () => {
  const layer = [0, 1, 2, 0, 3, 1]

  it('complete slices: learned values kept, unpainted and unlearned labels background, the slices as the CLI spec', () => {
    expect(teachLabelsOf(layer, [1, 3], { plane: 'axial', every: 4 })).toEqual({ data: Uint16Array.from([0, 1, 0, 0, 3, 1]), labelledSlices: 'axial:every:4' })
    expect(teachLabelsOf(layer, [1], { plane: 'coronal', list: [12, 3, 7, 3] }).labelledSlices).toBe('coronal:3,7,12')
  })

  it('painted voxels only: unpainted voxels unknown (the ignore value), unlearned labels background', () => {
    expect(teachLabelsOf(layer, [1], undefined)).toEqual({ data: Uint16Array.from([U, 1, 0, U, 0, 1]), ignoreValue: U })
  })

  it('refuses a learned label the layer does not hold, and painted-only data without any background', () => {
    expect(refusal(() => teachLabelsOf(layer, [4], { plane: 'axial', every: 2 }))).toBe('BAD_ARGUMENT: label 4 is not painted in this segmentation; expected labels it holds to learn')
    expect(refusal(() => teachLabelsOf([0, 1, 1, 0], [1], undefined))).toMatch(/^BAD_ARGUMENT: nothing is painted as background: unpainted voxels are unknown/)
  })

  it('writes the slice list sorted and once each', () => {
    expect(sliceSpecOf({ plane: 'sagittal', list: [9, 2, 9] })).toBe('sagittal:2,9')
  })
})
