/**
 * Thumbnails are drawn in the radiological view whatever the file's voxel order: patient left on the
 * right of the image, anterior at the top. A label placed left-anterior in two differently stored
 * grids of the same anatomy must land on the same pixels.
 */
import { describe, expect, it } from 'vitest'
import { PNG } from 'pngjs'
import type { Volume } from '../../src/engine/volume/volume'
import { thumbnail } from '../../src/engine/batch/thumbnail'
import { encodePng } from '../../src/engine/batch/png'

const N = 20
/** A 20x20x5 grid whose label sits where `isLabel(i, j)` says, with intensities `value(i, j)`. */
function grid(direction: number[], isLabel: (i: number, j: number) => boolean, value: (i: number, j: number) => number = (i) => i): { image: Volume; labels: Volume } {
  const g = { size: [N, N, 5] as [number, number, number], spacing: [1, 1, 1] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction }
  const image = new Float32Array(N * N * 5)
  const labels = new Uint8Array(N * N * 5)
  for (let k = 0; k < 5; k++) for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) {
    image[i + N * (j + N * k)] = value(i, j)
    labels[i + N * (j + N * k)] = isLabel(i, j) ? 1 : 0
  }
  return { image: { ...g, data: image }, labels: { ...g, data: labels } }
}

/** Pixels of the first tile that show the red overlay. */
function redPixels(t: { width: number; height: number; rgb: Uint8Array }, tile: number): [number, number][] {
  const out: [number, number][] = []
  for (let y = 0; y < t.height; y++) for (let x = 0; x < tile; x++) {
    const o = (y * t.width + x) * 3
    if (t.rgb[o] > t.rgb[o + 1] + 40) out.push([x, y])
  }
  return out
}

describe('batch thumbnail', () => {
  const colors = new Map([[1, [255, 0, 0] as [number, number, number]]])

  it('puts a left-anterior label at the top right in LPS and RAS storage alike', () => {
    // LPS storage: i toward patient left, j toward posterior; left-anterior = high i, low j;
    // intensities grow toward the patient's left and back
    const lps = grid([1, 0, 0, 0, 1, 0, 0, 0, 1], (i, j) => i >= 15 && j < 5, (i, j) => i + 2 * j)
    // RAS storage (i toward right, j toward anterior): the same anatomy is mirrored in both indices
    const ras = grid([-1, 0, 0, 0, -1, 0, 0, 0, 1], (i, j) => i < 5 && j >= 15, (i, j) => N - 1 - i + 2 * (N - 1 - j))
    const a = thumbnail(lps.image, lps.labels, colors, { tiles: 2, tileSize: 40 })
    const b = thumbnail(ras.image, ras.labels, colors, { tiles: 2, tileSize: 40 })
    expect([a.width, a.height]).toEqual([80, 40])
    expect(b.rgb).toEqual(a.rgb)
    const red = redPixels(a, 40)
    expect(red.length).toBe(10 * 10)
    expect(red.every(([x, y]) => x >= 30 && y < 10)).toBe(true)
  })

  it('encodes a PNG that decodes back to the same pixels', () => {
    const v = grid([1, 0, 0, 0, 1, 0, 0, 0, 1], (i) => i < 3)
    const t = thumbnail(v.image, v.labels, colors, { tiles: 1, tileSize: 20 })
    const back = PNG.sync.read(encodePng(t))
    expect([back.width, back.height]).toEqual([20, 20])
    const rgb = Uint8Array.from({ length: 20 * 20 * 3 }, (_, n) => back.data[Math.floor(n / 3) * 4 + (n % 3)])
    expect(rgb).toEqual(t.rgb)
  })
})
