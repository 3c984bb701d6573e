/**
 * Per-channel intensity normalisation: pure functions on Float32Array voxels (any layout: they
 * are treated as a flat list), optionally with statistics restricted to a mask.
 *
 * Statistics are accumulated in float64; std is the population std (ddof 0, as numpy, MONAI and
 * nnU-Net). Percentiles interpolate linearly between order statistics (numpy's default).
 */
import { z } from 'zod'
import { SegError } from '../errors'

export type IntensityNormalization =
  | { kind: 'none' }
  | { kind: 'minmax' }
  | { kind: 'zscore'; nonzeroOnly?: boolean }
  | { kind: 'window'; lower: number; upper: number }
  | { kind: 'percentile'; lower: number; upper: number; then: 'minmax' | 'zscore' }

const finite = z.number().refine(Number.isFinite, 'expected a finite number')

/** zod schema of IntensityNormalization (window needs lower < upper; percentile 0 <= lower < upper <= 100). */
export const IntensityNormalizationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('minmax') }).strict(),
  z.object({ kind: z.literal('zscore'), nonzeroOnly: z.boolean().optional() }).strict(),
  z
    .object({ kind: z.literal('window'), lower: finite, upper: finite })
    .strict()
    .refine((w) => w.lower < w.upper, { message: 'expected lower < upper', path: ['upper'] }),
  z
    .object({
      kind: z.literal('percentile'),
      lower: z.number().min(0).max(100),
      upper: z.number().min(0).max(100),
      then: z.enum(['minmax', 'zscore'])
    })
    .strict()
    .refine((p) => p.lower < p.upper, { message: 'expected lower < upper', path: ['upper'] })
])

// The schema and the hand-written type must describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const schemaMatchesType: Same<z.infer<typeof IntensityNormalizationSchema>, IntensityNormalization> = true
void schemaMatchesType

/** The values selected by a mask (mask[k] != 0), or all values when no mask is given. */
function selected(values: Float32Array, mask?: ArrayLike<number>): Float32Array {
  if (mask === undefined) return values
  if (mask.length !== values.length) {
    throw new SegError('BAD_ARGUMENT', `mask has ${mask.length} voxels but the image has ${values.length}; expected the same grid`)
  }
  let n = 0
  for (let k = 0; k < mask.length; k++) if (mask[k] !== 0) n++
  const out = new Float32Array(n)
  for (let k = 0, o = 0; k < mask.length; k++) if (mask[k] !== 0) out[o++] = values[k]
  return out
}

/** k-th smallest value (0-based) of `a`, partially reordering `a` in place (Hoare quickselect). */
function select(a: Float32Array, k: number): number {
  let lo = 0
  let hi = a.length - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i++] = a[j]
        a[j--] = t
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]
  }
  return a[k]
}

/**
 * The p-th percentile (p in 0..100) of the values (within the mask if given), interpolating
 * between order statistics as numpy.percentile does. O(n) time; copies the values once.
 * @throws SegError BAD_ARGUMENT when there are no values or p is outside 0..100.
 */
export function percentile(values: Float32Array, p: number, mask?: ArrayLike<number>): number {
  if (!(p >= 0 && p <= 100)) throw new SegError('BAD_ARGUMENT', `percentile ${p} is out of range; expected 0..100`)
  const v = Float32Array.from(selected(values, mask))
  if (v.length === 0) throw new SegError('BAD_ARGUMENT', 'no voxels to take a percentile of; expected a non-empty image or mask')
  const rank = (p / 100) * (v.length - 1)
  const k = Math.floor(rank)
  const low = select(v, k)
  if (rank === k) return low
  let next = Infinity
  for (let m = k + 1; m < v.length; m++) if (v[m] < next) next = v[m] // after select, a[k+1..] >= a[k]
  return low + (rank - k) * (next - low)
}

/** min and max of the values (within the mask if given). */
export function minMax(values: Float32Array, mask?: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity
  let max = -Infinity
  for (let k = 0; k < values.length; k++) {
    if (mask !== undefined && mask[k] === 0) continue
    const x = values[k]
    if (x < min) min = x
    if (x > max) max = x
  }
  return { min, max }
}

/** Mean and population std of the values for which `keep(k)` holds. */
function meanStd(values: Float32Array, keep: (k: number) => boolean): { mean: number; std: number } {
  let n = 0
  let sum = 0
  for (let k = 0; k < values.length; k++) if (keep(k)) (n++, (sum += values[k]))
  const mean = n > 0 ? sum / n : 0
  let ss = 0
  for (let k = 0; k < values.length; k++) if (keep(k)) ss += (values[k] - mean) ** 2
  return { mean, std: n > 0 ? Math.sqrt(ss / n) : 0 }
}

/** out[k] = (clip(x, lo, hi) - sub) / div for every voxel (div 0 → only subtraction). */
function affineMap(values: Float32Array, sub: number, div: number, lo = -Infinity, hi = Infinity): Float32Array {
  const out = new Float32Array(values.length)
  const scale = div === 0 ? 1 : 1 / div
  for (let k = 0; k < values.length; k++) {
    const x = values[k] < lo ? lo : values[k] > hi ? hi : values[k]
    out[k] = (x - sub) * scale
  }
  return out
}

/**
 * A new, normalised copy of one channel's voxels.
 * - none: copy. minmax: [min, max] → [0, 1] (constant → all 0). zscore: (x - mean) / std (std 0 →
 *   x - mean); with nonzeroOnly, statistics over non-zero voxels and zero voxels stay 0 (MONAI's
 *   `nonzero=True`). window: clip to [lower, upper], then → [0, 1] (a CT window, e.g. -57..164).
 *   percentile: clip to the lower/upper percentiles (0..100), then minmax or zscore.
 * - mask (optional, same length): statistics come from voxels where mask != 0, and voxels outside
 *   the mask are set to 0 in the output (as nnU-Net's use_mask_for_norm).
 * - noData (optional, same length): voxels where noData != 0 (NaN/Inf in the file, filled with the
 *   background by the reader) are left out of the statistics only; they are mapped like the others.
 */
export function normalize(values: Float32Array, spec: IntensityNormalization, mask?: ArrayLike<number>, noData?: ArrayLike<number>): Float32Array {
  const stats = statisticsMask(values.length, mask, noData)
  const inMask = (k: number): boolean => stats === undefined || stats[k] !== 0
  let out: Float32Array
  switch (spec.kind) {
    case 'none':
      out = Float32Array.from(values)
      break
    case 'minmax': {
      const { min, max } = minMax(values, stats)
      out = max > min ? affineMap(values, min, max - min) : new Float32Array(values.length)
      break
    }
    case 'zscore': {
      const keep = spec.nonzeroOnly ? (k: number) => inMask(k) && values[k] !== 0 : inMask
      const { mean, std } = meanStd(values, keep)
      out = affineMap(values, mean, std)
      if (spec.nonzeroOnly) for (let k = 0; k < values.length; k++) if (values[k] === 0) out[k] = 0
      break
    }
    case 'window': {
      if (!(spec.upper > spec.lower)) throw new SegError('BAD_ARGUMENT', `window ${spec.lower}..${spec.upper} is empty; expected lower < upper`)
      out = affineMap(values, spec.lower, spec.upper - spec.lower, spec.lower, spec.upper)
      break
    }
    case 'percentile': {
      const lo = percentile(values, spec.lower, stats)
      const hi = percentile(values, spec.upper, stats)
      const clipped = affineMap(values, 0, 1, lo, hi)
      return normalize(clipped, { kind: spec.then }, mask, noData)
    }
  }
  if (mask !== undefined) for (let k = 0; k < out.length; k++) if (mask[k] === 0) out[k] = 0
  return out
}

/** The voxels statistics come from: inside `mask` (if any) and not `noData` (if any); undefined = all. */
function statisticsMask(n: number, mask?: ArrayLike<number>, noData?: ArrayLike<number>): ArrayLike<number> | undefined {
  if (noData === undefined) return mask
  if (noData.length !== n) {
    throw new SegError('BAD_ARGUMENT', `no-data mask has ${noData.length} voxels but the image has ${n}; expected the same grid`)
  }
  const out = new Uint8Array(n)
  for (let k = 0; k < n; k++) out[k] = noData[k] === 0 && (mask === undefined || mask[k] !== 0) ? 1 : 0
  return out
}
