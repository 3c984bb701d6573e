/**
 * The Teach panel's pure helpers: the live curve's points (epoch 1 at the left edge, the epoch cap at
 * the right; loss scaled to its largest value; Dice 0..1 of the learned labels, epochs without a
 * validation Dice skipped), the new head's trainable parameters, the default bundle folder, and a
 * further training scan's slice choice written and read as the CLI's text.
 */
import { describe, expect, it } from 'vitest'
import type { TeachEpoch } from '../../src/shared/contract'
import { curveLines, foregroundDice, headParams, slicesFromText, slicesText, taughtBundlePath } from '../../src/renderer/src/workspace/teach'

const epoch = (n: number, loss: number, dice: (number | null)[]): TeachEpoch => ({ epoch: n, trainLoss: loss, validationLoss: null, validationDice: dice })

describe('teach curve and head', () => {
  it('places each epoch by its number and scales the loss to the largest one', () => {
    const lines = curveLines([epoch(1, 0.5, [0.9, 0.2]), epoch(2, 0.25, [0.95, null]), epoch(3, 0.1, [0.99, 0.6, 0.8])], 5, 200, 100)
    expect(lines.lossTop).toBe(0.5)
    expect(lines.loss).toBe('0.0,0.0 50.0,50.0 100.0,80.0')
    expect(lines.dice).toBe('0.0,80.0 100.0,30.0') // epoch 2 has no foreground Dice; epoch 3's is the mean of 0.6 and 0.8
    expect(foregroundDice(epoch(1, 1, [0.9]))).toBeNull()
  })

  it('counts the head parameters: linear F·K + K, MLP F·H + H + H·K + K', () => {
    expect(headParams('linear', 19, 24, 2)).toBe(40)
    expect(headParams('mlp', 19, 24, 3)).toBe(19 * 24 + 24 + 24 * 3 + 3)
  })

  it('suggests a bundle folder beside the scan named after the learned labels', () => {
    expect(taughtBundlePath('/data/pt1/t2.nii.gz', ['spinal cord'])).toBe('/data/pt1/taught-spinal-cord')
    expect(taughtBundlePath('C:\\scans\\ct.nii', ['spleen', 'liver'])).toBe('C:\\scans\\taught-spleen-liver')
  })

  it("reads a further scan's slice choice in the CLI's syntax, or painted, and names what it expected otherwise", () => {
    expect(slicesFromText('axial:every:4')).toEqual({ slices: { plane: 'axial', every: 4 } })
    expect(slicesFromText(' Coronal: 3, 7,12 ')).toEqual({ slices: { plane: 'coronal', list: [3, 7, 12] } })
    expect(slicesFromText('painted')).toEqual({})
    expect(slicesFromText('axial:every')).toEqual({ error: "slices 'axial:every': expected plane:every:N, plane:i,j,k (plane axial, coronal or sagittal) or painted" })
    expect(slicesText({ plane: 'sagittal', list: [2, 5] })).toBe('sagittal:2,5')
    expect(slicesText(undefined)).toBe('painted')
    expect(slicesFromText(slicesText({ plane: 'axial', every: 3 }))).toEqual({ slices: { plane: 'axial', every: 3 } })
  })
})
