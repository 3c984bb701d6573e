/**
 * A study's thumbnail: a montage of axial slices of the scan with the label overlay, as an RGB
 * image (radiological view: patient right on the left, anterior at the top), for the batch report.
 */
import type { Volume } from '../volume/volume'
import { reorient } from '../volume/orientation'
import { percentile } from '../volume/intensity'

export interface RgbImage {
  width: number
  height: number
  /** 3 bytes per pixel, row-major, top row first. */
  rgb: Uint8Array
}

export interface ThumbnailOptions {
  /** Slices side by side (1..8). */
  tiles?: number
  /** Each tile's longer side, in pixels (16..512). */
  tileSize?: number
  /** Overlay opacity, 0..1. */
  alpha?: number
}

/** Most voxels sampled for the intensity window: enough for stable percentiles, cheap on 512³. */
const WINDOW_SAMPLES = 200_000

/** The 1st and 99th intensity percentiles of a sample of the voxels: the display window. */
function displayWindow(data: ArrayLike<number>): [number, number] {
  const step = Math.max(1, Math.floor(data.length / WINDOW_SAMPLES))
  const sample = new Float32Array(Math.ceil(data.length / step))
  for (let i = 0, o = 0; i < data.length; i += step, o++) sample[o] = data[i]
  const lo = percentile(sample, 1)
  const hi = percentile(sample, 99)
  return [lo, hi > lo ? hi : lo + 1]
}

/** The k range holding labels (the whole volume when there are none), axis 2 of an LPS volume. */
function labelledSlices(labels: Volume): [number, number] {
  const plane = labels.size[0] * labels.size[1]
  let first = -1
  let last = -1
  for (let o = 0; o < labels.data.length; o++) {
    if (labels.data[o] === 0) continue
    const k = Math.floor(o / plane)
    if (first < 0) first = k
    last = k
    o = (k + 1) * plane - 1 // the rest of this slice cannot change first/last
  }
  return first < 0 ? [0, labels.size[2] - 1] : [first, last]
}

/**
 * Renders `tiles` axial slices spread over the labelled range.
 * @param image the scan; @param labels its label map on the same grid.
 * @param colors RGB per label value (values without a colour are not drawn).
 */
export function thumbnail(image: Volume, labels: Volume, colors: Map<number, [number, number, number]>, opts: ThumbnailOptions = {}): RgbImage {
  const tiles = Math.min(8, Math.max(1, Math.round(opts.tiles ?? 3)))
  const tileSize = Math.min(512, Math.max(16, Math.round(opts.tileSize ?? 128)))
  const alpha = Math.min(1, Math.max(0, opts.alpha ?? 0.45))
  const img = reorient(image, 'LPS')
  const lab = reorient(labels, 'LPS')
  const [nx, ny, nz] = img.size
  // Tile shape from the slice's extent in mm, so anisotropic voxels keep their proportions.
  const wMm = nx * img.spacing[0]
  const hMm = ny * img.spacing[1]
  const tw = Math.max(1, Math.round(wMm >= hMm ? tileSize : (tileSize * wMm) / hMm))
  const th = Math.max(1, Math.round(hMm >= wMm ? tileSize : (tileSize * hMm) / wMm))
  const [lo, hi] = displayWindow(img.data)
  const [k0, k1] = labelledSlices(lab)
  const width = tw * tiles
  const rgb = new Uint8Array(width * th * 3)
  for (let t = 0; t < tiles; t++) {
    const k = Math.min(nz - 1, Math.round(k0 + ((k1 - k0) * (t + 1)) / (tiles + 1)))
    for (let y = 0; y < th; y++) {
      const j = Math.min(ny - 1, Math.floor(((y + 0.5) * ny) / th))
      for (let x = 0; x < tw; x++) {
        const i = Math.min(nx - 1, Math.floor(((x + 0.5) * nx) / tw))
        const v = i + nx * (j + ny * k)
        const g = Math.round((255 * Math.min(1, Math.max(0, (img.data[v] - lo) / (hi - lo)))))
        const c = lab.data[v] !== 0 ? colors.get(lab.data[v]) : undefined
        const o = (y * width + t * tw + x) * 3
        for (let ch = 0; ch < 3; ch++) rgb[o + ch] = c ? Math.round(g * (1 - alpha) + c[ch] * alpha) : g
      }
    }
  }
  return { width, height: th, rgb }
}
