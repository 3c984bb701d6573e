/**
 * The three slice planes of the 3D view (mesh/scene.ts holds them), as 3D Slicer shows them: for
 * each view (axial, coronal, sagittal) a semi-transparent quad through the crosshair, in world (LPS
 * mm) coordinates, textured with that view's slice (grey image + label overlay, drawn by slice.ts at
 * a modest resolution) and outlined in the view's colour. The quads cover the volume's extent in
 * their plane (geometry/space.ts planeExtent) and only translate along their normal when the
 * crosshair moves; a plane's texture is redrawn only when its slice or the display settings change.
 *
 * Owns its GPU resources: setVolume() and dispose() free every texture, geometry and material made
 * for the previous volume.
 */
import {
  BufferAttribute, BufferGeometry, DataTexture, DoubleSide, Group, LinearFilter, LineBasicMaterial, LineLoop, Mesh,
  MeshBasicMaterial, RGBAFormat, SRGBColorSpace, UnsignedByteType
} from 'three'
import type { GridInfo } from '../../../shared/contract'
import { add, dot, planeExtent, scale, sub, VIEW_AXES, VIEW_COLORS, VIEWS, type Vec3, type Viewport, type ViewKind } from '../geometry/space'
import { makeBuffers, renderSlice, type SliceBuffers, type SliceInput } from './slice'


/** What a plane's texture is drawn from (SliceInput less the per-plane view and viewport). */
export type PlaneInput = Omit<SliceInput, 'view' | 'viewport'>

interface Plane {
  view: ViewKind
  holder: Group
  mesh: Mesh<BufferGeometry, MeshBasicMaterial>
  border: LineLoop<BufferGeometry, LineBasicMaterial>
  texture: DataTexture
  buffers: SliceBuffers
  viewport: Viewport
  /** The slice offset and settings version its texture was drawn for. */
  drawn: string
  /** Offset of the plane from the volume centre along the view normal (mm). */
  offset: number
}

/** The pixel size of a plane's texture: at most `maxTexels` along its longer side, never finer than the voxels. */
export function planeViewport(g: GridInfo, view: ViewKind, maxTexels = 320): Viewport {
  const e = planeExtent(g, view)
  const mm = Math.max(e.width / maxTexels, e.height / maxTexels, Math.min(...g.spacing) / 2)
  return { width: Math.max(2, Math.round(e.width / mm)), height: Math.max(2, Math.round(e.height / mm)), center: e.center, mmPerPixel: mm }
}

/** The four world corners of a viewport's canvas (top-left, top-right, bottom-right, bottom-left). */
export function viewportCorners(view: ViewKind, vp: Viewport): Vec3[] {
  const { right, down } = VIEW_AXES[view]
  const hw = (vp.width * vp.mmPerPixel) / 2
  const hh = (vp.height * vp.mmPerPixel) / 2
  return [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(([x, y]) => add(vp.center, add(scale(right, x), scale(down, y))))
}

export class SlicePlanes {
  readonly group = new Group()
  private planes: Plane[] = []

  /** Makes the quads for a volume, freeing those of the previous one. */
  setVolume(grid: GridInfo): void {
    this.clear()
    for (const view of VIEWS) {
      const vp = planeViewport(grid, view)
      const buffers = makeBuffers(vp.width, vp.height)
      const texture = new DataTexture(new Uint8Array(buffers.rgba.buffer), vp.width, vp.height, RGBAFormat, UnsignedByteType)
      texture.colorSpace = SRGBColorSpace
      texture.magFilter = texture.minFilter = LinearFilter
      texture.generateMipmaps = false
      const corners = viewportCorners(view, vp)
      const geo = new BufferGeometry()
      geo.setAttribute('position', new BufferAttribute(Float32Array.from(corners.flat()), 3))
      // Texel row 0 is the canvas's top row (v = 0), as render/slice.ts writes it.
      geo.setAttribute('uv', new BufferAttribute(Float32Array.from([0, 0, 1, 0, 1, 1, 0, 1]), 2))
      geo.setIndex([0, 1, 2, 0, 2, 3])
      const mat = new MeshBasicMaterial({ map: texture, side: DoubleSide, transparent: true, opacity: 0.7, depthWrite: false })
      const mesh = new Mesh(geo, mat)
      const line = new BufferGeometry()
      line.setAttribute('position', new BufferAttribute(Float32Array.from(corners.flat()), 3))
      const border = new LineLoop(line, new LineBasicMaterial({ color: VIEW_COLORS[view] }))
      const holder = new Group()
      holder.add(mesh, border)
      holder.userData.view = view
      this.group.add(holder)
      this.planes.push({ view, holder, mesh, border, texture, buffers, viewport: vp, drawn: '', offset: 0 })
    }
  }

  /**
   * Moves each plane to the slice through the crosshair and redraws the textures whose slice or
   * settings (`version`) changed. Returns the views redrawn.
   */
  update(input: PlaneInput, version: number): ViewKind[] {
    const redrawn: ViewKind[] = []
    for (const p of this.planes) {
      const n = VIEW_AXES[p.view].normal
      p.offset = dot(sub(input.crosshair, p.viewport.center), n)
      const [x, y, z] = scale(n, p.offset)
      p.holder.position.set(x, y, z)
      const key = `${version}:${p.offset.toFixed(3)}`
      if (key === p.drawn) continue
      renderSlice({ ...input, view: p.view, viewport: p.viewport }, p.buffers)
      p.texture.needsUpdate = true
      p.drawn = key
      redrawn.push(p.view)
    }
    return redrawn
  }

  /** Where the planes are: the world point of each plane's centre (LPS mm), for tests. */
  centres(): Record<string, Vec3> {
    const out: Record<string, Vec3> = {}
    for (const p of this.planes) out[p.view] = add(p.viewport.center, scale(VIEW_AXES[p.view].normal, p.offset))
    return out
  }

  get count(): number {
    return this.planes.length
  }

  private clear(): void {
    for (const p of this.planes.splice(0)) {
      this.group.remove(p.holder)
      p.mesh.geometry.dispose()
      p.mesh.material.dispose()
      p.texture.dispose()
      p.border.geometry.dispose()
      p.border.material.dispose()
    }
  }

  dispose(): void {
    this.clear()
  }
}
