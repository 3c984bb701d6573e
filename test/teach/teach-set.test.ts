/**
 * The teach set from real files: sparse labels on the labelled slices only, several scans on
 * different grids brought into the first scan's model space, and the refusals.
 */
import { describe, expect, it } from 'vitest'
import { data } from '../helpers/data'
import { readVolume } from '../../src/engine/volume/read'
import { reorient } from '../../src/engine/volume/orientation'
import { buildTeachSet, knownOnGrid, UNKNOWN } from '../../src/engine/teach/teach-set'
import { teachGeometry } from '../../src/engine/teach/teach'

const NORM = { kind: 'minmax' } as const

describe('teach set', async () => {
  const image = await readVolume(data('spine/t2.nii.gz'))
  const labels = await readVolume(data('spine/t2_cord_seg.nii.gz'))
  const geometry = teachGeometry(image)

  it('knows only the voxels of the labelled slices, background included, in the scan\'s own grid', () => {
    const set = buildTeachSet([{ name: 'a', image, labels, labelledSlices: 'axial:every:3' }], geometry, NORM)
    expect(set.values).toEqual([0, 1])
    const s = set.scans[0]
    expect(s.image.size).toEqual(image.size) // the first scan's model grid is its own grid
    let known = 0
    let wrong = 0
    for (let o = 0; o < s.classes.length; o++) {
      const j = Math.floor(o / image.size[0]) % image.size[1] // axial = j for this PSR scan
      if (j % 3 === 0) known++
      if (s.classes[o] !== (j % 3 === 0 ? labels.data[o] : UNKNOWN)) wrong++
    }
    expect(wrong).toBe(0)
    expect(set.counts[0] + set.counts[1]).toBe(known)
  })

  it('brings a second scan stored in another voxel order onto the first one\'s grid, label for label', () => {
    const ras = { image: reorient(image, 'RAS'), labels: reorient(labels, 'RAS') }
    const one = buildTeachSet([{ name: 'a', image, labels, labelledSlices: 'axial:every:3' }], geometry, NORM)
    const two = buildTeachSet([{ name: 'a', image, labels, labelledSlices: 'axial:every:3' }, { name: 'b', ...ras, labelledSlices: 'axial:every:3' }], geometry, NORM)
    expect(two.counts[1]).toBe(2 * one.counts[1])
    expect(Array.from(two.scans[1].classes)).toEqual(Array.from(one.scans[0].classes))
    expect(Array.from(two.scans[1].image.data)).toEqual(Array.from(one.scans[0].image.data))
  })

  it('refuses a label value the file holds only off the labelled slices, and names it', () => {
    // Value 2 on one voxel of axial slice 1, which axial:every:3 leaves unlabelled (axial = j here).
    const data = Uint8Array.from(labels.data)
    data[1 * image.size[0]] = 2
    expect(() => buildTeachSet([{ name: 'a', image, labels: { ...labels, data }, labelledSlices: 'axial:every:3' }], geometry, NORM)).toThrow(/^label 2 has no voxels on the labelled slices/)
  })

  it('refuses both a slice list and an ignore value, only background, and no background', () => {
    expect(() => buildTeachSet([{ name: 'a', image, labels, labelledSlices: 'axial:1', ignoreValue: 255 }], geometry, NORM)).toThrow(/either labelled slices or an ignore value/)
    // Slice 0 of this scan holds no cord.
    expect(() => buildTeachSet([{ name: 'a', image, labels: { ...labels, data: new Uint8Array(labels.data.length) }, labelledSlices: 'axial:0' }], geometry, NORM)).toThrow(/only background is painted/)
    const noBackground = Uint8Array.from(labels.data, (v) => (v === 1 ? 1 : 255))
    expect(() => buildTeachSet([{ name: 'a', image, labels: { ...labels, data: noBackground }, ignoreValue: 255 }], geometry, NORM)).toThrow(/no background \(label 0\) voxels are painted/)
  })
})

describe('painted voxels on a coarser model grid (knownOnGrid)', () => {
  it("keeps the labels of 1 mm slices whose 2 mm model planes all fall between them", () => {
    // Source: 8×8×16 at 1 mm, slices k = 0, 4, 8, 12 painted (value 1 + k/4), the rest unknown.
    const size: [number, number, number] = [8, 8, 16]
    const known = new Int32Array(8 * 8 * 16).fill(UNKNOWN)
    for (let o = 0; o < known.length; o++) {
      const k = Math.floor(o / 64)
      if (k % 4 === 0) known[o] = 1 + k / 4
    }
    const identity = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    const source = { size, spacing: [1, 1, 1] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction: identity, data: known }
    // Model: 2 mm, planes centred on source k = 1, 3, 5, …: nearest-neighbour sampling alone finds no painted slice.
    const model = { size: [4, 4, 8] as [number, number, number], spacing: [2, 2, 2] as [number, number, number], origin: [0.5, 0.5, 1] as [number, number, number], direction: identity }
    const out = knownOnGrid(source, model)
    const planeValue = (z: number) => out[z * 16 + 5]
    // Painted slice k lands on model plane round((k − 1) / 2): 0 → 0 (−0.5 rounds to −0), 4 → 2, 8 → 4, 12 → 6.
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(planeValue)).toEqual([1, UNKNOWN, 2, UNKNOWN, 3, UNKNOWN, 4, UNKNOWN])
  })
})
