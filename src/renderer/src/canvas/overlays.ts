/**
 * What a slice view draws over its image on the same canvas (so a screenshot of the canvas holds
 * it): the crosshair, the distance ruler with its length, a scale bar of a round length and the
 * slice number. Canvas 2D only (DOM: outside the Node-typechecked render/); the geometry is in geometry/reading.ts.
 */
import { worldToScreen, type Vec3, type Viewport, type ViewKind } from '../geometry/space'
import { distanceMm, formatMm, formatScale, scaleBar, type Ruler } from '../geometry/reading'

export interface OverlayInput {
  view: ViewKind
  viewport: Viewport
  crosshair: Vec3
  /** The ruler when it lies on this view's current slice. */
  ruler?: Ruler
  /** "k / n" of the shown slice, or '' outside the volume. */
  slice: string
}

const CROSSHAIR = 'rgba(255, 210, 0, 0.75)'
const RULER = '#4fd1ff'
const TEXT = '#e8e8e8'
/** The scale bar takes at most this share of the view's width. */
const SCALE_SHARE = 0.25
const FONT = '12px system-ui, sans-serif'

/** Text with a dark halo, readable on any grey. */
function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, align: CanvasTextAlign, color = TEXT): void {
  ctx.font = FONT
  ctx.textAlign = align
  ctx.lineWidth = 3
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.8)'
  ctx.strokeText(text, x, y)
  ctx.fillStyle = color
  ctx.fillText(text, x, y)
}

function drawCrosshair(ctx: CanvasRenderingContext2D, o: OverlayInput): void {
  const { width, height } = o.viewport
  const [x, y] = worldToScreen(o.view, o.viewport, o.crosshair)
  ctx.strokeStyle = CROSSHAIR
  ctx.lineWidth = 1
  ctx.beginPath()
  ctx.moveTo(Math.round(x) + 0.5, 0)
  ctx.lineTo(Math.round(x) + 0.5, height)
  ctx.moveTo(0, Math.round(y) + 0.5)
  ctx.lineTo(width, Math.round(y) + 0.5)
  ctx.stroke()
}

function drawRuler(ctx: CanvasRenderingContext2D, o: OverlayInput, r: Ruler): void {
  const [ax, ay] = worldToScreen(o.view, o.viewport, r.a)
  const [bx, by] = worldToScreen(o.view, o.viewport, r.b)
  ctx.strokeStyle = RULER
  ctx.fillStyle = RULER
  ctx.lineWidth = 1.5
  ctx.beginPath()
  ctx.moveTo(ax, ay)
  ctx.lineTo(bx, by)
  ctx.stroke()
  for (const [x, y] of [[ax, ay], [bx, by]]) ctx.fillRect(x - 2, y - 2, 4, 4)
  label(ctx, formatMm(distanceMm(r.a, r.b)), bx + 6, by - 6, 'left', RULER)
}

function drawScaleBar(ctx: CanvasRenderingContext2D, o: OverlayInput): void {
  const bar = scaleBar(o.viewport.mmPerPixel, o.viewport.width * SCALE_SHARE)
  if (!bar) return
  const x1 = o.viewport.width - 12
  const x0 = x1 - bar.pixels
  const y = o.viewport.height - 12
  ctx.strokeStyle = TEXT
  ctx.lineWidth = 2
  ctx.beginPath()
  ctx.moveTo(x0, y - 5)
  ctx.lineTo(x0, y)
  ctx.lineTo(x1, y)
  ctx.lineTo(x1, y - 5)
  ctx.stroke()
  label(ctx, formatScale(bar.mm), (x0 + x1) / 2, y - 6, 'center')
}

/** Draws the crosshair, the ruler, the scale bar and the slice number over the rendered slice. */
export function drawOverlays(ctx: CanvasRenderingContext2D, o: OverlayInput): void {
  drawCrosshair(ctx, o)
  if (o.ruler) drawRuler(ctx, o, o.ruler)
  drawScaleBar(ctx, o)
  if (o.slice) label(ctx, o.slice, 8, o.viewport.height - 10, 'left')
}
