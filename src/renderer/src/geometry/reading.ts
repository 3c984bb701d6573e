/**
 * Pure geometry for reading a scan: which slice a view shows (k of n), where the pointer's readout
 * lies after the slice changed under a still pointer, a scale bar of a round length, and the ruler's
 * distance in world millimetres. No DOM, no Vue (conventions: geometry/space.ts).
 */
import type { GridInfo } from '../../../shared/contract'
import { add, dot, gridTransform, scale, sliceAxis, sub, VIEW_AXES, type Vec3, type ViewKind } from './space'

/** A distance ruler drawn on one view's slice: its two ends, LPS mm. */
export interface Ruler {
  view: ViewKind
  a: Vec3
  b: Vec3
}

/**
 * The slice a view shows through `crosshair`, as people count it: k in 1..n along the view's slice
 * axis (the voxel index + 1), or null when the crosshair lies outside the volume on that axis.
 */
export function sliceNumber(g: GridInfo, view: ViewKind, crosshair: Vec3): { k: number; n: number } | null {
  const axis = sliceAxis(g, view)
  const index = Math.round(gridTransform(g).toIndex(crosshair)[axis])
  const n = g.size[axis]
  return index >= 0 && index < n ? { k: index + 1, n } : null
}

/**
 * A point of a view moved onto the slice through `crosshair` (along the view's normal): where a still
 * pointer reads once the slice changed by wheel, keys or another view.
 */
export function ontoSlice(view: ViewKind, point: Vec3, crosshair: Vec3): Vec3 {
  const { normal } = VIEW_AXES[view]
  return add(point, scale(normal, dot(sub(crosshair, point), normal)))
}

/** Round scale-bar lengths, mm: 1, 2, 5 × a power of ten. */
const STEPS = [1, 2, 5]

/**
 * The longest round length (1, 2 or 5 × 10^e mm) that fits in `maxPixels` at `mmPerPixel`, and its
 * length on screen; null when not even 0.1 mm fits.
 */
export function scaleBar(mmPerPixel: number, maxPixels: number): { mm: number; pixels: number } | null {
  const maxMm = mmPerPixel * maxPixels
  if (!(maxMm >= 0.1)) return null
  const e = Math.floor(Math.log10(maxMm))
  let mm = 0
  for (const d of [-1, 0]) for (const s of STEPS) {
    const x = s * 10 ** (e + d)
    if (x <= maxMm * (1 + 1e-9)) mm = Math.max(mm, x)
  }
  mm = Number(mm.toPrecision(6))
  return { mm, pixels: mm / mmPerPixel }
}

/** Distance between two world points (LPS mm): the ruler's length. */
export const distanceMm = (a: Vec3, b: Vec3): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])

/** A length for display: one decimal below 100 mm. */
export const formatMm = (mm: number): string => `${mm < 100 ? mm.toFixed(1) : mm.toFixed(0)} mm`

/** A scale bar's label: mm, or cm from 10 mm up. */
export const formatScale = (mm: number): string => (mm >= 10 ? `${mm / 10} cm` : `${mm} mm`)

/** Whether a point lies on a view's slice through `crosshair` (within half a slice step, mm). */
export function onSlice(view: ViewKind, point: Vec3, crosshair: Vec3, stepMm: number): boolean {
  return Math.abs(dot(sub(point, crosshair), VIEW_AXES[view].normal)) < stepMm / 2
}
