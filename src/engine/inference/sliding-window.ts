/**
 * Sliding-window inference, after MONAI's `sliding_window_inference` (monai/inferers/utils.py):
 * windows from `dense_patch_slices`, symmetric zero padding when the volume is smaller than the patch,
 * Gaussian (σ = sigmaScale × patch) or constant importance blending, batches of windows.
 *
 * Layouts (all C order, last dim fastest): input [C, d0, d1, d2], a batch [n, C, p0, p1, p2], a
 * prediction [n, K, p0, p1, p2], the result [K, d0, d1, d2]. Sizes are in voxels.
 * Memory: the result (K × voxels float32) + one weight map (voxels float32) + one batch in and out;
 * nothing is allocated per window and the padded volume is never materialised.
 */
import { SegError } from '../errors'
import { LIMITS, atMost } from '../limits'

export type Vec3i = [number, number, number]

/** Runs the model on n windows: `batch` is [n, C, ...patch]; must resolve to [n, K, ...patch]. */
export type PatchPredictor = (batch: Float32Array, n: number, patch: Vec3i) => Promise<Float32Array>

export interface SlidingWindowParams {
  /** Voxels, [C, d0, d1, d2] float32, C order. Not modified. */
  input: Float32Array
  /** C: number of input channels. */
  channels: number
  /** [d0, d1, d2]: spatial size of `input` in voxels. */
  spatial: Vec3i
  /** [p0, p1, p2]: window size in voxels (the model's input size). */
  patchSize: Vec3i
  /** Fraction of a window shared with its neighbour along each axis, in [0, 1). MONAI: 0.25, nnU-Net: 0.5. */
  overlap: number
  /** Windows per `predict` call (≥ 1); the last call may get fewer. */
  batchSize: number
  /** Importance of each voxel of a window when blending overlapping windows. */
  blend: 'gaussian' | 'constant'
  /** Gaussian σ per axis = sigmaScale × patch size (MONAI and nnU-Net: 0.125). Ignored for 'constant'. */
  sigmaScale: number
  /** K: number of output channels the predictor returns. */
  outChannels: number
  /** The model. */
  predict: PatchPredictor
  /**
   * Value of the padding voxels when the volume is smaller than the patch along an axis (MONAI pads
   * with constant 0 on both sides, the odd voxel after). Default 0 — which is background only for
   * inputs normalised so (e.g. min-max); pass the normalised volume's minimum to pad with "air".
   */
  padValue?: number
  /** Called after each batch with windows done and windows in all. */
  onProgress?: (done: number, total: number) => void
  /** Checked before each batch; when aborted the call rejects with SegError CANCELLED. */
  signal?: AbortSignal
}

/**
 * Window start offsets along one axis, as MONAI's `_get_scan_interval` + `dense_patch_slices`:
 * interval = patch when patch == size, else max(1, floor(patch × (1 − overlap))); starts 0, interval,
 * 2·interval, … until a window reaches the end; the last one is moved back to end flush with the border.
 *
 * @param size   axis length in voxels, ≥ patch (pad first otherwise)
 * @param patch  window length in voxels
 * @param overlap fraction in [0, 1)
 */
export function windowStarts(size: number, patch: number, overlap: number): number[] {
  if (!(patch >= 1 && size >= patch)) throw new SegError('BAD_ARGUMENT', `windowStarts: need 1 ≤ patch (${patch}) ≤ size (${size})`)
  if (!(overlap >= 0 && overlap < 1)) throw new SegError('BAD_ARGUMENT', `overlap must be >= 0 and < 1, got ${overlap}`)
  const interval = patch === size ? patch : Math.max(1, Math.floor(patch * (1 - overlap)))
  const starts: number[] = []
  for (let i = 0; ; i++) {
    const s = i * interval
    starts.push(Math.min(s, size - patch))
    if (s + patch >= size) break
  }
  return starts
}

/**
 * Refuses (TOO_LARGE) a run of more than LIMITS.windows windows, before any runs.
 * @param counts windows along each axis (`windowStarts(...).length`)
 */
export function checkWindowCount(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a * b, 1)
  if (total > LIMITS.windows) {
    throw new SegError('TOO_LARGE', `the sliding window needs ${total} windows (${counts.join('x')}); expected ${atMost('windows')} (a lower inference.overlap or a larger patch)`)
  }
  return total
}

/**
 * The importance map of one window, [p0, p1, p2] float32 C order: the separable Gaussian
 * exp(−x²/(2σ²)) with x measured from the window centre ((p − 1) / 2) and σ = sigmaScale × p per
 * axis, normalised to a maximum of 1, then clamped to ≥ 1e-3 (MONAI `compute_importance_map`), so
 * window corners still count and no voxel's total weight is ~0.
 */
export function gaussianImportanceMap(patch: Vec3i, sigmaScale: number): Float32Array {
  checkVec('patchSize', patch)
  if (!(sigmaScale > 0 && Number.isFinite(sigmaScale))) {
    throw new SegError('BAD_ARGUMENT', `sigmaScale must be a positive number, got ${sigmaScale}`)
  }
  const axes = patch.map((p) => {
    const sigma = sigmaScale * p
    const g = new Float64Array(p)
    let max = 0
    for (let i = 0; i < p; i++) {
      const x = i - (p - 1) / 2
      g[i] = Math.exp((x * x) / (-2 * sigma * sigma))
      if (g[i] > max) max = g[i]
    }
    for (let i = 0; i < p; i++) g[i] /= max
    return g
  })
  const [p0, p1, p2] = patch
  const map = new Float32Array(p0 * p1 * p2)
  let o = 0
  for (let a = 0; a < p0; a++) {
    for (let b = 0; b < p1; b++) {
      const ab = axes[0][a] * axes[1][b]
      for (let c = 0; c < p2; c++) map[o++] = Math.max(ab * axes[2][c], 1e-3)
    }
  }
  return map
}

function checkVec(name: string, v: readonly number[]): void {
  if (v.length !== 3 || !v.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new SegError('BAD_ARGUMENT', `${name} must be 3 positive integers, got [${v.join(', ')}]`)
  }
}

function validate(p: SlidingWindowParams): void {
  checkVec('spatial', p.spatial)
  checkVec('patchSize', p.patchSize)
  for (const [name, x] of [['channels', p.channels], ['outChannels', p.outChannels], ['batchSize', p.batchSize]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new SegError('BAD_ARGUMENT', `${name} must be a positive integer, got ${x}`)
  }
  if (!(p.overlap >= 0 && p.overlap < 1)) throw new SegError('BAD_ARGUMENT', `overlap must be >= 0 and < 1, got ${p.overlap}`)
  if (p.blend !== 'gaussian' && p.blend !== 'constant') {
    throw new SegError('BAD_ARGUMENT', `blend must be 'gaussian' or 'constant', got '${String(p.blend)}'`)
  }
  if (p.blend === 'gaussian' && !(p.sigmaScale > 0)) throw new SegError('BAD_ARGUMENT', `sigmaScale must be > 0, got ${p.sigmaScale}`)
  const voxels = p.spatial[0] * p.spatial[1] * p.spatial[2]
  if (p.input.length !== p.channels * voxels) {
    throw new SegError(
      'BAD_ARGUMENT',
      `input holds ${p.input.length} values but [C, d0, d1, d2] = [${p.channels}, ${p.spatial.join(', ')}] needs ${p.channels * voxels}`
    )
  }
  if (p.padValue !== undefined && !Number.isFinite(p.padValue)) throw new SegError('BAD_ARGUMENT', `padValue must be finite, got ${p.padValue}`)
}

function cancelled(): SegError {
  return new SegError('CANCELLED', 'inference cancelled')
}

/**
 * Blend the model's predictions over overlapping windows into one [K, d0, d1, d2] float32 array:
 * Σ_w importance · prediction / Σ_w importance at every voxel. See `SlidingWindowParams`.
 */
export async function slidingWindowInference(p: SlidingWindowParams): Promise<Float32Array> {
  validate(p)
  const { input, channels: C, spatial, patchSize: patch, outChannels: K, batchSize } = p
  const padValue = p.padValue ?? 0
  const [d0, d1, d2] = spatial
  const [p0, p1, p2] = patch
  const voxels = d0 * d1 * d2
  const pv = p0 * p1 * p2
  // Padded size and the padding before each axis (MONAI: diff // 2 before, the rest after).
  const padded = spatial.map((d, a) => Math.max(d, patch[a])) as Vec3i
  const before = spatial.map((d, a) => Math.floor((padded[a] - d) / 2)) as Vec3i
  const starts = padded.map((s, a) => windowStarts(s, patch[a], p.overlap))
  checkWindowCount(starts.map((s) => s.length))
  const windows: Vec3i[] = []
  for (const a of starts[0]) for (const b of starts[1]) for (const c of starts[2]) windows.push([a, b, c])

  const importance = p.blend === 'gaussian' ? gaussianImportanceMap(patch, p.sigmaScale) : new Float32Array(pv).fill(1)
  const out = new Float32Array(K * voxels)
  const weight = new Float32Array(voxels)
  const ratio = new Float64Array(p2)
  const batch = new Float32Array(Math.min(batchSize, windows.length) * C * pv)
  const total = windows.length

  for (let first = 0; first < total; first += batchSize) {
    if (p.signal?.aborted) throw cancelled()
    const n = Math.min(batchSize, total - first)
    for (let w = 0; w < n; w++) extract(windows[first + w], batch, w * C * pv)
    const pred = await p.predict(batch.subarray(0, n * C * pv), n, [p0, p1, p2])
    if (!(pred instanceof Float32Array) || pred.length !== n * K * pv) {
      throw new SegError(
        'MODEL_MISMATCH',
        `the model returned ${(pred as ArrayLike<number>)?.length ?? 'nothing'} values for ${n} window(s); expected [${n}, ${K}, ${patch.join(', ')}] = ${n * K * pv}`
      )
    }
    for (let w = 0; w < n; w++) accumulate(windows[first + w], pred, w * K * pv)
    p.onProgress?.(first + n, total)
  }
  if (p.signal?.aborted) throw cancelled()
  return out

  /** Copy window `s` (padded coordinates) of every channel into `dst` at `offset`, padding outside the volume. */
  function extract(s: Vec3i, dst: Float32Array, offset: number): void {
    const x0 = Math.max(0, before[2] - s[2])
    const x1 = Math.min(p2, d2 + before[2] - s[2])
    for (let c = 0; c < C; c++) {
      for (let a = 0; a < p0; a++) {
        const i = s[0] - before[0] + a
        for (let b = 0; b < p1; b++) {
          const j = s[1] - before[1] + b
          const row = offset + ((c * p0 + a) * p1 + b) * p2
          if (i < 0 || i >= d0 || j < 0 || j >= d1 || x1 <= x0) {
            dst.fill(padValue, row, row + p2)
            continue
          }
          if (x0 > 0) dst.fill(padValue, row, row + x0)
          const src = ((c * d0 + i) * d1 + j) * d2 + s[2] - before[2]
          dst.set(input.subarray(src + x0, src + x1), row + x0)
          if (x1 < p2) dst.fill(padValue, row + x1, row + p2)
        }
      }
    }
  }

  /**
   * Fold window `s` into the running weighted mean, inside the volume only:
   * W ← W + w, out ← out + (w / W)·(y − out). Same result as Σ w·y / Σ w in exact arithmetic, but
   * the float32 rounding error does not grow with the number of overlapping windows (and windows
   * that agree give the exact value).
   */
  function accumulate(s: Vec3i, pred: Float32Array, offset: number): void {
    const x0 = Math.max(0, before[2] - s[2])
    const x1 = Math.min(p2, d2 + before[2] - s[2])
    for (let a = 0; a < p0; a++) {
      const i = s[0] - before[0] + a
      if (i < 0 || i >= d0) continue
      for (let b = 0; b < p1; b++) {
        const j = s[1] - before[1] + b
        if (j < 0 || j >= d1) continue
        const pRow = (a * p1 + b) * p2
        const vRow = (i * d1 + j) * d2 + s[2] - before[2]
        for (let x = x0; x < x1; x++) {
          const w = importance[pRow + x]
          const total = (weight[vRow + x] += w)
          ratio[x] = w / total
        }
        for (let k = 0; k < K; k++) {
          const src = offset + k * pv + pRow
          const dst = k * voxels + vRow
          for (let x = x0; x < x1; x++) out[dst + x] += ratio[x] * (pred[src + x] - out[dst + x])
        }
      }
    }
  }
}
