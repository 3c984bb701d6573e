/**
 * A screenshot of one slice view as a PNG: its canvases (the image with the crosshair, ruler, scale
 * bar and slice number drawn on it, and any overlay canvas stacked above it) composed in DOM order,
 * plus the orientation markers, which are HTML. Saved by a download: a browser saves it to its
 * downloads folder, Electron asks where (its default for a download is a save dialog).
 */
import { markersOf, type ViewKind } from '../geometry/space'

/** The PNG of a view as shown (null when the view shows nothing yet). */
export async function viewPng(host: Element, view: ViewKind): Promise<Blob | null> {
  const layers = [...host.querySelectorAll('canvas')].filter((c) => c.width > 0 && c.height > 0)
  if (!layers.length) return null
  const { width, height } = layers[0]
  const out = document.createElement('canvas')
  out.width = width
  out.height = height
  const ctx = out.getContext('2d')!
  for (const c of layers) ctx.drawImage(c, 0, 0)
  const m = markersOf(view)
  ctx.font = 'bold 13px system-ui, sans-serif'
  ctx.fillStyle = '#ffcf40'
  ctx.textBaseline = 'middle'
  const edge: [string, number, number, CanvasTextAlign][] = [
    [m.left, 6, height / 2, 'left'], [m.right, width - 6, height / 2, 'right'], [m.top, width / 2, 12, 'center'], [m.bottom, width / 2, height - 12, 'center']
  ]
  for (const [text, x, y, align] of edge) {
    ctx.textAlign = align
    ctx.fillText(text, x, y)
  }
  return new Promise((resolve) => out.toBlob(resolve, 'image/png'))
}

/** A file name for a screenshot: the scan's name without its extension, the view, the time. */
export function screenshotName(scan: string, view: ViewKind, when = new Date()): string {
  const base = scan.replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|mgz|mgh|hdr|img|dcm)$/i, '').replace(/[^\w.-]+/g, '_') || 'scan'
  const stamp = when.toISOString().slice(0, 19).replace(/[-:T]/g, '')
  return `${base}_${view}_${stamp}.png`
}

/** Saves a blob as a download named `name` (see the file comment for where it lands). */
export function download(blob: Blob, name: string): void {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}

/** Takes and saves a screenshot of `view` (the slice view element `[data-view=…]` on the page). */
export async function saveScreenshot(view: ViewKind, scanName: string): Promise<string | null> {
  const host = document.querySelector(`[data-view=${view}] .canvas-host`)
  const png = host && (await viewPng(host, view))
  if (!png) return null
  const name = screenshotName(scanName, view)
  download(png, name)
  return name
}
