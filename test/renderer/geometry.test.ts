/**
 * Slice-view geometry on real scans: an oblique brain MRI (FLAIR) and a PSR-ordered spine T2. A known
 * world point (a voxel centre, placed by the engine's own index → world) must land on the right canvas
 * pixel in all three views, and the renderer must draw that voxel there.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { readVolume } from '../../src/engine/volume/read'
import { indexToWorld } from '../../src/engine/volume/affine'
import { orientationOf } from '../../src/engine/volume/orientation'
import type { Volume } from '../../src/engine/volume/volume'
import { data } from '../helpers/data'
import {
  VIEWS, fitViewport, gridTransform, lpsToRas, markersOf, screenToWorld, sliceStep, voxelAt, worldToPixel, worldToScreen, type Vec3
} from '../../src/renderer/src/geometry/space'
import { makeBuffers, makeLut, renderSlice, type SliceInput } from '../../src/renderer/src/render/slice'

const scans: Record<string, Volume> = {}
beforeAll(async () => {
  scans.flair = await readVolume(data('mri/FLAIR.nii.gz'))
  scans.spine = await readVolume(data('spine/t2.nii.gz'))
})

/** A label map with a single voxel set, on the scan's grid. */
function oneVoxel(v: Volume, ijk: Vec3): Uint8Array {
  const m = new Uint8Array(v.data.length)
  m[ijk[0] + v.size[0] * (ijk[1] + v.size[1] * ijk[2])] = 1
  return m
}

describe('view geometry', () => {
  it('markers are radiological in every view', () => {
    expect(markersOf('axial')).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' })
    expect(markersOf('coronal')).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' })
    expect(markersOf('sagittal')).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' })
  })

  it('the test scans are what they claim: FLAIR oblique, spine PSR', () => {
    const d = scans.flair.direction
    expect(Math.max(...d.map(Math.abs).filter((x) => x < 0.999))).toBeGreaterThan(0.05)
    expect(orientationOf(scans.spine)).toBe('PSR')
  })

  it.each(['flair', 'spine'])('%s: index ↔ world agrees with the engine', (name) => {
    const v = scans[name]
    const t = gridTransform(v)
    for (const ijk of [[0, 0, 0], [10, 20, 5], [v.size[0] - 1, v.size[1] - 1, v.size[2] - 1]]) {
      const w = t.toWorld(ijk)
      expect(w.map((x, a) => x - indexToWorld(v, ijk)[a]).every((e) => Math.abs(e) < 1e-6)).toBe(true)
      expect(t.toIndex(w).map((x, a) => Math.abs(x - ijk[a])).every((e) => e < 1e-6)).toBe(true)
    }
    expect(lpsToRas([1, 2, 3])).toEqual([-1, -2, 3])
  })

  it.each(['flair', 'spine'])('%s: a known voxel lands on the right pixel in all three views', (name) => {
    const v = scans[name]
    const ijk: Vec3 = [Math.round(v.size[0] * 0.37), Math.round(v.size[1] * 0.61), Math.round(v.size[2] * 0.44)]
    const world = indexToWorld(v, ijk)
    const labels = oneVoxel(v, ijk)
    for (const view of VIEWS) {
      const vp = fitViewport(v, view, 512, 512)
      expect(vp.mmPerPixel).toBeLessThan(Math.min(...v.spacing))
      const [px, py] = worldToPixel(view, vp, world)
      // The pixel's centre maps back into the same voxel.
      const back = screenToWorld(view, vp, world, px + 0.5, py + 0.5)
      expect(voxelAt(v, gridTransform(v), back)).toEqual(ijk)
      // And the renderer draws that voxel's label exactly there (nearest sampling of the overlay).
      const buf = makeBuffers(512, 512)
      const input: SliceInput = {
        view, viewport: vp, crosshair: world, image: { grid: v, data: v.data }, labels: { grid: v, data: labels },
        window: { level: 0, width: 1 }, interpolation: 'nearest', overlay: { lut: makeLut([{ value: 1, color: [255, 0, 0] }]), opacity: 1, outline: false }
      }
      renderSlice(input, buf)
      expect(buf.labels[py * 512 + px]).toBe(1)
      const hits = buf.labels.reduce((n, l) => n + l, 0)
      expect(hits).toBeGreaterThan(0)
      // All pixels showing the voxel are within one voxel of the projected point.
      const [sx, sy] = worldToScreen(view, vp, world)
      const reach = Math.max(...v.spacing) / vp.mmPerPixel
      for (let o = 0; o < buf.labels.length; o++) {
        if (buf.labels[o]) expect(Math.hypot((o % 512) + 0.5 - sx, Math.floor(o / 512) + 0.5 - sy)).toBeLessThanOrEqual(reach)
      }
    }
  })

  it('spine (PSR): index i runs posterior, so it goes down in axial and right in sagittal', () => {
    const v = scans.spine
    const a = indexToWorld(v, [10, 10, 10])
    const b = indexToWorld(v, [20, 10, 10])
    const ax = fitViewport(v, 'axial', 400, 400)
    const sg = fitViewport(v, 'sagittal', 400, 400)
    expect(worldToScreen('axial', ax, b)[1]).toBeGreaterThan(worldToScreen('axial', ax, a)[1])
    expect(worldToScreen('sagittal', sg, b)[0]).toBeGreaterThan(worldToScreen('sagittal', sg, a)[0])
    // j runs superior: up on screen (smaller y) in coronal and sagittal.
    const c = indexToWorld(v, [10, 20, 10])
    expect(worldToScreen('sagittal', sg, c)[1]).toBeLessThan(worldToScreen('sagittal', sg, a)[1])
    // Slice step along the axial normal is the spacing of j (the S axis).
    expect(sliceStep(v, 'axial')).toBeCloseTo(v.spacing[1], 6)
  })
})
