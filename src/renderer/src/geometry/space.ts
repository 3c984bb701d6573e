/**
 * Pure geometry of the slice views: voxel index ↔ LPS world (mm) ↔ canvas pixel. No DOM, no Vue.
 *
 * Conventions (the engine's, see src/engine/volume/volume.ts):
 * - world coordinates are LPS+ millimetres; `direction` is row-major 3x3 whose column c is the unit
 *   world direction of index axis c; world = origin + direction · diag(spacing) · index.
 * - The three views show planes of world space (not of the voxel grid), so an oblique or permuted
 *   scan (PSR, LIA…) appears in patient orientation; each view resamples the volume on its plane.
 * - Screen layout is radiological: patient Right on the screen's left, Anterior up in axial,
 *   Superior up in coronal and sagittal, Anterior on the left in sagittal.
 * - Canvas coordinates: x to the right, y down, in canvas pixels; pixel (px, py) covers
 *   [px, px+1) × [py, py+1), its centre is (px + 0.5, py + 0.5).
 */
import { SLICE_PLANES, type GridInfo, type SlicePlane } from '../../../shared/contract'
import { planeAxis } from '../../../shared/editing'

export type Vec3 = [number, number, number]
export type ViewKind = SlicePlane
export const VIEWS: readonly ViewKind[] = SLICE_PLANES

/** The world (LPS) unit vectors of a view's screen axes and of its slice normal (the "next slice"). */
export interface ViewAxes {
  right: Vec3
  down: Vec3
  normal: Vec3
}

export const VIEW_AXES: Record<ViewKind, ViewAxes> = {
  axial: { right: [1, 0, 0], down: [0, 1, 0], normal: [0, 0, 1] },
  coronal: { right: [1, 0, 0], down: [0, 0, -1], normal: [0, -1, 0] },
  sagittal: { right: [0, 1, 0], down: [0, 0, -1], normal: [-1, 0, 0] }
}

/** The colour of each view (its title bar, its plane in the 3D view): 3D Slicer's red, green, yellow. */
export const VIEW_COLORS: Record<ViewKind, string> = { axial: '#e0524a', coronal: '#5fb85a', sagittal: '#e8c63c' }

/** Where the view looks: its canvas size, the world point shown at the canvas centre, and the zoom. */
export interface Viewport {
  width: number
  height: number
  /** World point (LPS mm) drawn at the canvas centre; only its in-plane part matters. */
  center: Vec3
  /** Millimetres per canvas pixel. */
  mmPerPixel: number
}

export const dot = (a: readonly number[], b: readonly number[]): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s]

/** The 3x3 index → world linear part (direction · diag(spacing)), row-major. */
export function linearOf(g: GridInfo): number[] {
  const d = g.direction
  const s = g.spacing
  return [d[0] * s[0], d[1] * s[1], d[2] * s[2], d[3] * s[0], d[4] * s[1], d[5] * s[2], d[6] * s[0], d[7] * s[1], d[8] * s[2]]
}

export function invert3(m: number[]): number[] {
  const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
  if (!det || !Number.isFinite(det)) throw new Error('singular voxel-to-world matrix')
  return [
    (m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det, (m[1] * m[5] - m[2] * m[4]) / det,
    (m[5] * m[6] - m[3] * m[8]) / det, (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
    (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det, (m[0] * m[4] - m[1] * m[3]) / det
  ]
}

const apply = (m: number[], v: readonly number[]): Vec3 => [
  m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
  m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
  m[6] * v[0] + m[7] * v[1] + m[8] * v[2]
]

/** Index → world, and its inverse, with the matrices computed once per grid. */
export interface GridTransform {
  toWorld(ijk: readonly number[]): Vec3
  /** Continuous voxel index of a world point (round it for the voxel that contains the point). */
  toIndex(p: readonly number[]): Vec3
  /** World → index linear part (row-major), for incremental resampling. */
  inverse: number[]
  origin: Vec3
}

export function gridTransform(g: GridInfo): GridTransform {
  const lin = linearOf(g)
  const inv = invert3(lin)
  const o = g.origin
  return {
    toWorld: (ijk) => add(apply(lin, ijk), o),
    toIndex: (p) => apply(inv, [p[0] - o[0], p[1] - o[1], p[2] - o[2]]),
    inverse: inv,
    origin: [o[0], o[1], o[2]]
  }
}

/** The voxel (integer index) containing a world point, or null outside the grid. */
export function voxelAt(g: GridInfo, t: GridTransform, p: readonly number[]): Vec3 | null {
  const c = t.toIndex(p).map(Math.round) as Vec3
  for (let a = 0; a < 3; a++) if (c[a] < 0 || c[a] >= g.size[a]) return null
  return c
}

/** LPS → RAS (what 3D Slicer displays): x and y change sign. */
export const lpsToRas = (p: readonly number[]): Vec3 => [-p[0], -p[1], p[2]]

/** The world point drawn at a canvas position (continuous canvas coordinates) on the slice through `crosshair`. */
export function screenToWorld(view: ViewKind, vp: Viewport, crosshair: Vec3, x: number, y: number): Vec3 {
  const { right, down, normal } = VIEW_AXES[view]
  const onPlane = add(vp.center, scale(normal, dot(sub(crosshair, vp.center), normal)))
  return add(onPlane, add(scale(right, (x - vp.width / 2) * vp.mmPerPixel), scale(down, (y - vp.height / 2) * vp.mmPerPixel)))
}

/** The canvas position (continuous) where a world point projects in a view. */
export function worldToScreen(view: ViewKind, vp: Viewport, p: readonly number[]): [number, number] {
  const { right, down } = VIEW_AXES[view]
  const d = sub(p as Vec3, vp.center)
  return [vp.width / 2 + dot(d, right) / vp.mmPerPixel, vp.height / 2 + dot(d, down) / vp.mmPerPixel]
}

/** The canvas pixel that contains a world point's projection. */
export function worldToPixel(view: ViewKind, vp: Viewport, p: readonly number[]): [number, number] {
  const [x, y] = worldToScreen(view, vp, p)
  return [Math.floor(x), Math.floor(y)]
}

/** World positions of the 8 corner voxel centres of a grid. */
export function cornersOf(g: GridInfo): Vec3[] {
  const t = gridTransform(g)
  const out: Vec3[] = []
  for (const i of [0, g.size[0] - 1]) for (const j of [0, g.size[1] - 1]) for (const k of [0, g.size[2] - 1]) out.push(t.toWorld([i, j, k]))
  return out
}

export function centerOf(g: GridInfo): Vec3 {
  return gridTransform(g).toWorld([(g.size[0] - 1) / 2, (g.size[1] - 1) / 2, (g.size[2] - 1) / 2])
}

/**
 * The rectangle of a view's plane that covers the whole volume (voxel centres plus half the largest
 * spacing on each side), centred on the volume centre: its width along the view's right axis and
 * height along its down axis, in mm.
 */
export function planeExtent(g: GridInfo, view: ViewKind): { center: Vec3; width: number; height: number } {
  const { right, down } = VIEW_AXES[view]
  const c = centerOf(g)
  let w = 0
  let h = 0
  for (const p of cornersOf(g)) {
    const d = sub(p, c)
    w = Math.max(w, 2 * Math.abs(dot(d, right)))
    h = Math.max(h, 2 * Math.abs(dot(d, down)))
  }
  const pad = Math.max(...g.spacing)
  return { center: c, width: Math.max(w + pad, 1), height: Math.max(h + pad, 1) }
}

/** A viewport that shows the whole volume in a view, centred, with a small margin. */
export function fitViewport(g: GridInfo, view: ViewKind, width: number, height: number): Viewport {
  const e = planeExtent(g, view)
  return { width, height, center: e.center, mmPerPixel: Math.max(e.width / width, e.height / height) * 1.04 }
}

/** The index axis (0 = i, 1 = j, 2 = k) closest to a view's normal: the axis its slices step along (the editing tools' planeAxis). */
export function sliceAxis(g: GridInfo, view: ViewKind): number {
  return planeAxis(g, view)
}

/** One slice step along a view's normal: the spacing of the index axis closest to it (mm). */
export function sliceStep(g: GridInfo, view: ViewKind): number {
  return g.spacing[sliceAxis(g, view)]
}

/** The anatomical letter of a world (LPS) direction: its dominant axis and sign. */
export function letterOf(v: readonly number[]): string {
  const a = [Math.abs(v[0]), Math.abs(v[1]), Math.abs(v[2])]
  const axis = a[0] >= a[1] && a[0] >= a[2] ? 0 : a[1] >= a[2] ? 1 : 2
  return (v[axis] >= 0 ? 'LPS' : 'RAI')[axis]
}

/** Orientation markers at the four edges of a view (left, right, top, bottom). */
export function markersOf(view: ViewKind): { left: string; right: string; top: string; bottom: string } {
  const { right, down } = VIEW_AXES[view]
  return { left: letterOf(scale(right, -1)), right: letterOf(right), top: letterOf(scale(down, -1)), bottom: letterOf(down) }
}
