/**
 * The slice planes of the 3D view (src/renderer/src/render/planes.ts): each quad covers the volume in
 * its plane, sits at the crosshair in world (LPS mm) coordinates, its texture's first texel is the
 * quad's top-left corner (the same pixel ↔ world map as the 2D views), only the plane whose slice
 * changed is redrawn, and every texture, geometry and material is freed on a new volume and on dispose.
 */
import { describe, expect, it } from 'vitest'
import type { BufferGeometry, Material, Mesh, Texture } from 'three'
import { cornersOf, dot, gridTransform, screenToWorld, sub, VIEW_AXES, VIEWS } from '../../src/renderer/src/geometry/space'
import { planeViewport, SlicePlanes, viewportCorners, type PlaneInput } from '../../src/renderer/src/render/planes'
import type { GridInfo } from '../../src/shared/contract'

const c = Math.cos(0.4)
const s = Math.sin(0.4)
const grid: GridInfo = { size: [30, 24, 10], spacing: [0.8, 0.8, 5], origin: [-20, 10, -30], direction: [c, -s, 0, s, c, 0, 0, 0, 1] }
const data = Float32Array.from({ length: 30 * 24 * 10 }, (_, i) => i % 97)

const input = (crosshair: [number, number, number], level = 40): PlaneInput => ({
  crosshair,
  image: { grid, data },
  window: { level, width: 100 },
  interpolation: 'nearest',
  overlay: { lut: new Uint8Array(4), opacity: 0.5, outline: false }
})

describe('slice planes', () => {
  it('cover the volume in their plane, with the texture laid out as the 2D views draw it', () => {
    for (const view of VIEWS) {
      const vp = planeViewport(grid, view)
      expect(Math.max(vp.width, vp.height)).toBeLessThanOrEqual(320)
      const [tl, tr, br, bl] = viewportCorners(view, vp)
      const { right, down } = VIEW_AXES[view]
      for (const p of cornersOf(grid)) {
        const x = dot(sub(p, tl), right)
        const y = dot(sub(p, tl), down)
        expect(x).toBeGreaterThan(0)
        expect(y).toBeGreaterThan(0)
        expect(x).toBeLessThan(dot(sub(tr, tl), right))
        expect(y).toBeLessThan(dot(sub(bl, tl), down))
      }
      // Canvas (0, 0) of the plane's viewport is the quad's top-left corner (uv 0,0), (w, h) the bottom-right.
      const a = screenToWorld(view, vp, vp.center, 0, 0)
      const b = screenToWorld(view, vp, vp.center, vp.width, vp.height)
      for (let k = 0; k < 3; k++) {
        expect(a[k]).toBeCloseTo(tl[k], 6)
        expect(b[k]).toBeCloseTo(br[k], 6)
      }
    }
  })

  it('sit at the crosshair and redraw only the plane whose slice moved', () => {
    const planes = new SlicePlanes()
    planes.setVolume(grid)
    const t = gridTransform(grid)
    const p0 = t.toWorld([10, 12, 4])
    expect(planes.update(input(p0), 1)).toEqual(['axial', 'coronal', 'sagittal'])
    for (const view of VIEWS) {
      const at = planes.centres()[view]
      expect(dot(sub(at, p0), VIEW_AXES[view].normal)).toBeCloseTo(0, 6) // through the crosshair
    }
    const up = t.toWorld([10, 12, 6]) // two slices up: LPS z changes, x and y stay (the grid is axial)
    expect(planes.update(input(up), 1)).toEqual(['axial'])
    expect(planes.centres().axial[2]).toBeCloseTo(up[2], 6)
    expect(planes.update(input(up), 1)).toEqual([])
    expect(planes.update(input(up, 60), 2)).toEqual(['axial', 'coronal', 'sagittal'])
    planes.dispose()
  })

  it('free every GPU resource on a new volume and on dispose', () => {
    const planes = new SlicePlanes()
    const made: { disposed: boolean }[] = []
    const track = () => {
      for (const holder of planes.group.children) {
        for (const child of holder.children as Mesh[]) {
          const res: (BufferGeometry | Material | Texture)[] = [child.geometry, child.material as Material]
          const map = (child.material as { map?: Texture }).map
          if (map) res.push(map)
          for (const r of res) {
            const rec = { disposed: false }
            r.addEventListener('dispose', () => (rec.disposed = true))
            made.push(rec)
          }
        }
      }
    }
    planes.setVolume(grid)
    track()
    expect(made.length).toBe(3 * 5) // per plane: quad geometry + material + texture, outline geometry + material
    planes.setVolume({ ...grid, size: [20, 20, 8] })
    expect(made.every((r) => r.disposed)).toBe(true)
    expect(planes.group.children.length).toBe(3)
    track()
    planes.dispose()
    expect(made.every((r) => r.disposed)).toBe(true)
    expect(planes.group.children.length).toBe(0)
  })
})
