/**
 * Renders one view of a volume (and optionally a label map) into RGBA pixels for a 2D canvas.
 * Pure and allocation-free per frame: the caller owns the output and scratch buffers.
 *
 * Each canvas pixel centre is mapped to world (geometry/space.ts) and then to a continuous voxel
 * index; as that mapping is affine, the index is stepped incrementally along rows (no matrix per
 * pixel). Intensities: nearest or trilinear; labels: always nearest (they are categories).
 */
import type { GridInfo } from '../../../shared/contract'
import { displayColor } from '../../../shared/editing/labels'
import { gridTransform, screenToWorld, VIEW_AXES, type Vec3, type Viewport, type ViewKind } from '../geometry/space'

export type Interpolation = 'nearest' | 'linear'
export type Voxels = ArrayLike<number>

export interface WindowLevel {
  /** Centre of the window (the "level"), in the volume's intensity units (HU for CT). */
  level: number
  width: number
}

export interface OverlayStyle {
  /** RGBA per label value, 4 bytes each; alpha 0 hides a label. Index = label value. */
  lut: Uint8Array
  /** 0..1, multiplied with the LUT alpha. */
  opacity: number
  /** Draw only the boundary of each label region (on screen). */
  outline: boolean
}

export interface SliceInput {
  view: ViewKind
  viewport: Viewport
  crosshair: Vec3
  image: { grid: GridInfo; data: Voxels }
  labels?: { grid: GridInfo; data: Voxels }
  window: WindowLevel
  interpolation: Interpolation
  overlay: OverlayStyle
}

/** Continuous index at the centre of canvas pixel (0,0) and its change per pixel along x and y. */
function indexStepper(grid: GridInfo, view: ViewKind, vp: Viewport, crosshair: Vec3): { i0: Vec3; dx: Vec3; dy: Vec3 } {
  const t = gridTransform(grid)
  const p0 = screenToWorld(view, vp, crosshair, 0.5, 0.5)
  const { right, down } = VIEW_AXES[view]
  const m = t.inverse
  const step = (v: Vec3): Vec3 => {
    const w: Vec3 = [v[0] * vp.mmPerPixel, v[1] * vp.mmPerPixel, v[2] * vp.mmPerPixel]
    return [m[0] * w[0] + m[1] * w[1] + m[2] * w[2], m[3] * w[0] + m[4] * w[1] + m[5] * w[2], m[6] * w[0] + m[7] * w[1] + m[8] * w[2]]
  }
  return { i0: t.toIndex(p0), dx: step(right), dy: step(down) }
}

/**
 * Samples the label map into `out` (one value per canvas pixel; 0 outside the grid).
 */
export function sampleLabels(input: SliceInput, out: Uint16Array): void {
  const { viewport: vp, labels } = input
  if (!labels) return void out.fill(0)
  const [nx, ny, nz] = labels.grid.size
  const nxy = nx * ny
  const d = labels.data
  const { i0, dx, dy } = indexStepper(labels.grid, input.view, vp, input.crosshair)
  let o = 0
  for (let y = 0; y < vp.height; y++) {
    // +0.5 then floor = round half up, done once per pixel without Math.round.
    let fi = i0[0] + y * dy[0] + 0.5
    let fj = i0[1] + y * dy[1] + 0.5
    let fk = i0[2] + y * dy[2] + 0.5
    for (let x = 0; x < vp.width; x++, o++, fi += dx[0], fj += dx[1], fk += dx[2]) {
      if (fi < 0 || fj < 0 || fk < 0 || fi >= nx || fj >= ny || fk >= nz) {
        out[o] = 0
        continue
      }
      out[o] = d[(fi | 0) + (fj | 0) * nx + (fk | 0) * nxy]
    }
  }
}

/** Writes grey levels (window/level applied) into `rgba`; black outside the volume. */
export function sampleImage(input: SliceInput, rgba: Uint8ClampedArray): void {
  const { viewport: vp, image, window: wl } = input
  const [nx, ny, nz] = image.grid.size
  const nxy = nx * ny
  const d = image.data
  const lo = wl.level - wl.width / 2
  const k = 255 / Math.max(wl.width, 1e-6)
  const { i0, dx, dy } = indexStepper(image.grid, input.view, vp, input.crosshair)
  const linear = input.interpolation === 'linear'
  let o = 0
  for (let y = 0; y < vp.height; y++) {
    let fi = i0[0] + y * dy[0]
    let fj = i0[1] + y * dy[1]
    let fk = i0[2] + y * dy[2]
    for (let x = 0; x < vp.width; x++, o += 4, fi += dx[0], fj += dx[1], fk += dx[2]) {
      let v: number
      if (fi < -0.5 || fj < -0.5 || fk < -0.5 || fi >= nx - 0.5 || fj >= ny - 0.5 || fk >= nz - 0.5) {
        rgba[o] = rgba[o + 1] = rgba[o + 2] = 0
        rgba[o + 3] = 255
        continue
      }
      if (!linear) {
        v = d[((fi + 0.5) | 0) + ((fj + 0.5) | 0) * nx + ((fk + 0.5) | 0) * nxy]
      } else {
        // Trilinear, clamped to the edge voxels (the half-voxel border has no outer neighbour).
        const ci = fi < 0 ? 0 : fi > nx - 1 ? nx - 1 : fi
        const cj = fj < 0 ? 0 : fj > ny - 1 ? ny - 1 : fj
        const ck = fk < 0 ? 0 : fk > nz - 1 ? nz - 1 : fk
        const i = Math.min(ci | 0, nx - 2 < 0 ? 0 : nx - 2)
        const j = Math.min(cj | 0, ny - 2 < 0 ? 0 : ny - 2)
        const kk = Math.min(ck | 0, nz - 2 < 0 ? 0 : nz - 2)
        const ti = nx > 1 ? ci - i : 0
        const tj = ny > 1 ? cj - j : 0
        const tk = nz > 1 ? ck - kk : 0
        const si = nx > 1 ? 1 : 0
        const sj = ny > 1 ? nx : 0
        const sk = nz > 1 ? nxy : 0
        const b = i + j * nx + kk * nxy
        const c00 = d[b] + (d[b + si] - d[b]) * ti
        const c10 = d[b + sj] + (d[b + sj + si] - d[b + sj]) * ti
        const c01 = d[b + sk] + (d[b + sk + si] - d[b + sk]) * ti
        const c11 = d[b + sk + sj] + (d[b + sk + sj + si] - d[b + sk + sj]) * ti
        const c0 = c00 + (c10 - c00) * tj
        const c1 = c01 + (c11 - c01) * tj
        v = c0 + (c1 - c0) * tk
      }
      const g = (v - lo) * k
      rgba[o] = rgba[o + 1] = rgba[o + 2] = g // Uint8ClampedArray clamps and rounds
      rgba[o + 3] = 255
    }
  }
}

/** Blends the sampled labels over the grey image (filled or outlined). */
export function blendLabels(labelsOnScreen: Uint16Array, width: number, height: number, style: OverlayStyle, rgba: Uint8ClampedArray): void {
  const lut = style.lut
  const maxValue = lut.length / 4 - 1
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o++) {
      const l = labelsOnScreen[o]
      if (l === 0 || l > maxValue) continue
      const a = (lut[l * 4 + 3] / 255) * style.opacity
      if (a <= 0) continue
      if (style.outline) {
        const edge =
          (x > 0 && labelsOnScreen[o - 1] !== l) || (x < width - 1 && labelsOnScreen[o + 1] !== l) ||
          (y > 0 && labelsOnScreen[o - width] !== l) || (y < height - 1 && labelsOnScreen[o + width] !== l)
        if (!edge) continue
      }
      const p = o * 4
      const aa = style.outline ? Math.max(a, 0.9) : a
      rgba[p] = rgba[p] + (lut[l * 4] - rgba[p]) * aa
      rgba[p + 1] = rgba[p + 1] + (lut[l * 4 + 1] - rgba[p + 1]) * aa
      rgba[p + 2] = rgba[p + 2] + (lut[l * 4 + 2] - rgba[p + 2]) * aa
    }
  }
}

/** Scratch buffers of one view, re-made only when its canvas size changes. */
export interface SliceBuffers {
  rgba: Uint8ClampedArray
  labels: Uint16Array
  /** With `keepGrey`: the last grey image and what it was drawn from, reused while only the labels change (an edit). */
  grey?: { rgba: Uint8ClampedArray; from: readonly unknown[] }
}

/** `keepGrey`: keep the grey image between frames (a live view: a brush dab then redraws only the labels). */
export function makeBuffers(width: number, height: number, keepGrey = false): SliceBuffers {
  const n = width * height
  return { rgba: new Uint8ClampedArray(n * 4), labels: new Uint16Array(n), grey: keepGrey ? { rgba: new Uint8ClampedArray(n * 4), from: [] } : undefined }
}

/** Everything the grey image depends on (compared by identity and value). */
const greySource = (i: SliceInput): unknown[] => [i.view, i.image.data, i.image.grid, i.window.level, i.window.width, i.interpolation, i.viewport.width, i.viewport.height, i.viewport.mmPerPixel, ...i.viewport.center, ...i.crosshair]

/** The grey image into `buf.rgba`: sampled, or copied from `buf.grey` when nothing it depends on changed. */
function greyImage(input: SliceInput, buf: SliceBuffers): void {
  const keep = buf.grey
  if (!keep) return sampleImage(input, buf.rgba)
  const from = greySource(input)
  if (from.length !== keep.from.length || from.some((x, k) => x !== keep.from[k])) {
    sampleImage(input, keep.rgba)
    keep.from = from
  }
  buf.rgba.set(keep.rgba)
}

/** One whole frame: grey image, then the label overlay. */
export function renderSlice(input: SliceInput, buf: SliceBuffers): void {
  greyImage(input, buf)
  if (input.labels) {
    sampleLabels(input, buf.labels)
    blendLabels(buf.labels, input.viewport.width, input.viewport.height, input.overlay, buf.rgba)
  }
}

/** A label LUT from label definitions, hiding the values in `hidden`; a colour too close to grey is drawn in its palette colour (displayColor). */
export function makeLut(labels: { value: number; color: [number, number, number] }[], hidden: ReadonlySet<number> = new Set()): Uint8Array {
  const max = labels.reduce((m, l) => Math.max(m, l.value), 0)
  const lut = new Uint8Array((max + 1) * 4)
  for (const l of labels) {
    if (l.value === 0) continue
    const c = displayColor(l)
    lut.set([c[0], c[1], c[2], hidden.has(l.value) ? 0 : 255], l.value * 4)
  }
  return lut
}
