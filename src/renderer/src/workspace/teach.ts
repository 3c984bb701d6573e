/**
 * Pure helpers of the Teach panel: the live curve's geometry, the new head's parameter count, the
 * default folder of a taught bundle and a further training scan's slice choice as text. No state here; stores/teach.ts holds it.
 */
import type { BaseSummary, CompleteSlices, SlicePlane, TeachEpoch, TeachFeatures, TeachHead } from '../../../shared/contract'
import { slugOf } from './document'

export interface CurveLines {
  /** SVG polyline points of the training loss, scaled to the largest loss shown. */
  loss: string
  /** SVG polyline points of the mean validation Dice of the learned labels (0 at the bottom, 1 at the top). */
  dice: string
  /** The largest loss shown (the top of the loss scale). */
  lossTop: number
}

/** Mean Dice of the foreground classes (index ≥ 1) of one epoch; null when none was measured. */
export function foregroundDice(e: TeachEpoch): number | null {
  const d = e.validationDice.slice(1).filter((x): x is number => x !== null)
  return d.length ? d.reduce((a, x) => a + x, 0) / d.length : null
}

/**
 * The curve of `history` in a `width`×`height` box (pixels, y down): epoch 1 at the left, `maxEpochs`
 * at the right, so the curve grows towards the epoch cap.
 */
export function curveLines(history: readonly TeachEpoch[], maxEpochs: number, width: number, height: number): CurveLines {
  const lossTop = Math.max(1e-9, ...history.map((e) => e.trainLoss))
  const x = (epoch: number) => (maxEpochs > 1 ? ((epoch - 1) / (maxEpochs - 1)) * width : 0)
  const y = (fraction: number) => height - Math.min(1, Math.max(0, fraction)) * height
  const pt = (a: number, b: number) => `${a.toFixed(1)},${b.toFixed(1)}`
  const loss = history.map((e) => pt(x(e.epoch), y(e.trainLoss / lossTop))).join(' ')
  const dice = history.flatMap((e) => {
    const d = foregroundDice(e)
    return d === null ? [] : [pt(x(e.epoch), y(d))]
  }).join(' ')
  return { loss, dice, lossTop }
}

/**
 * Trainable parameters of the new head: `features` inputs, `classes` outputs (background included),
 * weights and biases; the MLP has one hidden layer of `hidden` units.
 */
export function headParams(head: TeachHead, features: number, hidden: number, classes: number): number {
  return head === 'linear' ? features * classes + classes : features * hidden + hidden + hidden * classes + classes
}

/** The panel's words for each feature choice. */
export const FEATURE_CHOICES: readonly { value: TeachFeatures; text: string }[] = [
  { value: 'filters', text: "Filters on the scan's grid" },
  { value: 'network,filters', text: 'Network + filters' },
  { value: 'network', text: 'Network only' }
]

/** Features the head reads: the filter bank's, the base network's tap channels, or both. */
export function headFeatures(choice: TeachFeatures, base: Pick<BaseSummary, 'features' | 'network'>): number {
  return (choice === 'network' ? 0 : base.features) + (choice === 'filters' ? 0 : base.network.channels)
}

/**
 * One line on what `choice` means with this base: where the model runs and what it reads (network
 * features are the tapped layers, in the base's model space); why the base offers no network features.
 */
export function featuresHint(choice: TeachFeatures, base: Pick<BaseSummary, 'features' | 'network'>): string {
  const { taps, channels, space, unavailable } = base.network
  if (choice === 'filters') return `${base.features} filter-bank features at the scan's own resolution, on its grid.`
  if (unavailable) return unavailable
  const tapped = `${channels} channels of ${taps.join(', ')}`
  return `${choice === 'network' ? tapped : `${base.features} filter-bank features + ${tapped}`}, in the base's space (${space}); figures: docs/teach.md.`
}

/** The default folder of a taught bundle: beside the scan, `<scan folder>/taught-<labels>`. */
export function taughtBundlePath(scanPath: string, labelNames: readonly string[]): string {
  const cut = Math.max(scanPath.lastIndexOf('/'), scanPath.lastIndexOf('\\'))
  return `${scanPath.slice(0, cut + 1)}taught-${slugOf(labelNames.join(' '))}`
}

/** The word for "painted voxels only" in a further scan's slice choice. */
export const PAINTED = 'painted'

/** A further training scan's slice choice as text: the CLI's `plane:every:N` / `plane:i,j,k`, or `painted` (painted voxels only). */
export function slicesText(slices: CompleteSlices | undefined): string {
  if (!slices) return PAINTED
  return `${slices.plane}:${slices.list ? slices.list.join(',') : `every:${slices.every}`}`
}

/**
 * Reads a further scan's slice choice (slicesText's forms; spaces ignored): `slices` undefined for
 * `painted`, else the complete slices; `error` says what was expected. Bounds are the core's.
 */
export function slicesFromText(text: string): { slices?: CompleteSlices; error?: string } {
  const t = text.replace(/\s+/g, '').toLowerCase()
  if (t === PAINTED) return {}
  const m = /^(axial|coronal|sagittal):(?:every:(\d+)|(\d+(?:,\d+)*))$/.exec(t)
  if (!m) return { error: `slices '${text}': expected plane:every:N, plane:i,j,k (plane axial, coronal or sagittal) or ${PAINTED}` }
  const plane = m[1] as SlicePlane
  return { slices: m[2] ? { plane, every: Number(m[2]) } : { plane, list: m[3].split(',').map(Number) } }
}
