/**
 * Tissue boundaries re-decided from the scan's own intensities, with the model's probabilities as the
 * spatial prior: an expectation-maximisation fit of one Gaussian per tissue class, in the manner of
 * SPM's unified segmentation and FSL FAST (there the prior is a registered atlas; here it is the
 * network's output for this very scan).
 *
 * Why: a model that runs on a 2 mm grid (conform) sees each 1 mm cortical ribbon as a partial volume,
 * and its probabilities come back onto the input's grid smooth. The input itself still holds the
 * sharp grey/white boundary. The fit learns this scan's class means and spreads (so it works for
 * any contrast: nothing about T1 is assumed), then each voxel's posterior is
 *   p(c | x, v) ∝ prior_c(v) · N(x; μ_c, σ_c),
 * where prior_c(v) is the model's probability of class c renormalised over the refined classes. The
 * model's probability of every other class (background) is left as it was, and only voxels the model
 * gave a refined class are relabelled (among those classes): the brain outline is the model's, only
 * the split inside it moves.
 *
 * Written here: no JS library fits a Gaussian mixture with per-voxel priors. Pure function, no state.
 */
import { SegError } from '../errors'
import type { LabelArray } from './decode'

/** What the fit found, one entry per refined class (in `classes` order). */
export interface IntensityFit {
  means: number[]
  sds: number[]
  /** EM iterations run (each one M-step then E-step). */
  iterations: number
  /** True when the relative change in log-likelihood fell below the tolerance before maxIterations. */
  converged: boolean
}

export interface IntensityRefinementInput {
  /** Intensity of each voxel considered, on the grid the probabilities live on (NaN: left as is). */
  intensities: Float32Array
  /** Class probabilities of those voxels, voxel-major [n, K]: class c of voxel i at i*K + c. */
  probabilities: Float32Array
  /** Classes per voxel (the model's channel count). */
  K: number
  /** Channel indices (0..K-1) of the classes whose boundaries are re-decided; at least two. */
  classes: readonly number[]
  /** Upper bound on EM iterations (the fit on a brain converges in ~20). */
  maxIterations: number
  /** Stop when |ΔlogL| ≤ tolerance · |logL| between iterations. */
  tolerance: number
}

/** At most this many voxels (an even stride through them) fit the Gaussians; all get posteriors. */
export const FIT_SAMPLE = 1 << 18

/**
 * Fits one Gaussian per refined class to `intensities` with the given per-voxel priors and returns the
 * posterior class probabilities (a new [n, K] array; the input is not modified).
 *
 * Each voxel's weight in the fit is its total probability of the refined classes, so voxels the model
 * calls background barely count. The parameters are fitted on an even stride of at most FIT_SAMPLE
 * voxels (SPM samples its fit too; a brain has ~2M voxels at 1 mm and the means and spreads do not
 * change), then every voxel gets its posterior. A class with no weight keeps its prior. Spreads are
 * floored at 1e-3 of the intensity range, so a class cannot collapse onto one intensity.
 */
export function refineByIntensity(input: IntensityRefinementInput): { probabilities: Float32Array; fit: IntensityFit } {
  const { intensities: x, probabilities: P, K, classes, maxIterations, tolerance } = input
  const n = x.length
  const C = classes.length
  if (P.length !== n * K) {
    throw new SegError('BAD_ARGUMENT', `refineByIntensity: ${P.length} probabilities for ${n} voxels × K = ${K}`)
  }
  if (C < 2 || new Set(classes).size !== C || classes.some((c) => !Number.isInteger(c) || c < 0 || c >= K)) {
    throw new SegError('BAD_ARGUMENT', `refineByIntensity: classes must be ≥ 2 distinct channel indices in 0..${K - 1}, got [${classes.join(', ')}]`)
  }
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1) || !(tolerance >= 0)) {
    throw new SegError('BAD_ARGUMENT', `refineByIntensity: maxIterations must be a positive integer and tolerance ≥ 0, got ${maxIterations} and ${tolerance}`)
  }

  const stride = Math.max(1, Math.ceil(n / FIT_SAMPLE))
  // Each voxel's weight (its mass of refined classes); the prior over them in the log domain for
  // the voxels that fit (the others need it only in the rare underflow case below).
  const mass = new Float64Array(n)
  const logPrior = new Float64Array(n * C)
  const setLogPrior = (i: number): void => {
    for (let c = 0; c < C; c++) logPrior[i * C + c] = Math.log(P[i * K + classes[c]] / mass[i])
  }
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < n; i++) {
    let m = 0
    for (let c = 0; c < C; c++) m += P[i * K + classes[c]]
    const v = x[i]
    if (!(m > 0) || v !== v) continue // mass 0 (or NaN) and NaN intensities take no part
    mass[i] = m
    if (i % stride === 0) setLogPrior(i)
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const sdFloor = hi > lo ? 1e-3 * (hi - lo) : 1
  const shift = hi > lo ? (lo + hi) / 2 : 0 // sums of (x - shift)^2 stay well conditioned

  const means = new Array<number>(C).fill(NaN)
  const sds = new Array<number>(C).fill(NaN)
  const logSd = new Float64Array(C)
  const present = new Array<boolean>(C).fill(false)
  const sw = new Float64Array(C)
  const sx = new Float64Array(C)
  const sxx = new Float64Array(C)
  const e = new Float64Array(C)

  /** Posterior of voxel i over the refined classes into `e`; returns its log-likelihood (NaN: none). */
  const posterior = (i: number): number => {
    let max = -Infinity
    for (let c = 0; c < C; c++) {
      if (!present[c]) {
        e[c] = -Infinity
        continue
      }
      const z = (x[i] - means[c]) / sds[c]
      e[c] = logPrior[i * C + c] - 0.5 * z * z - logSd[c]
      if (e[c] > max) max = e[c]
    }
    if (max === -Infinity) return NaN // only absent classes have prior here
    let sum = 0
    for (let c = 0; c < C; c++) sum += (e[c] = Math.exp(e[c] - max))
    for (let c = 0; c < C; c++) e[c] /= sum
    return max + Math.log(sum)
  }
  /** M-step: means and spreads from the accumulated weighted sums. */
  const estimate = (): void => {
    for (let c = 0; c < C; c++) {
      present[c] = sw[c] > 0
      if (!present[c]) continue
      const mu = sx[c] / sw[c]
      means[c] = mu + shift
      sds[c] = Math.max(Math.sqrt(Math.max(sxx[c] / sw[c] - mu * mu, 0)), sdFloor)
      logSd[c] = Math.log(sds[c])
    }
    sw.fill(0)
    sx.fill(0)
    sxx.fill(0)
  }

  // The fitting sample, compacted: intensity − shift, weight, log-prior (C per voxel).
  let nS = 0
  for (let i = 0; i < n; i += stride) if (mass[i] > 0) nS++
  const xs = new Float64Array(nS)
  const ws = new Float64Array(nS)
  const lp = new Float64Array(nS * C)
  for (let i = 0, t = 0; i < n; i += stride) {
    if (mass[i] === 0) continue
    xs[t] = x[i] - shift
    ws[t] = mass[i]
    for (let c = 0; c < C; c++) lp[t * C + c] = logPrior[i * C + c]
    t++
  }
  // First M-step with the prior as responsibilities, then E+M passes over the sample.
  for (let t = 0; t < nS; t++) {
    const d = xs[t]
    for (let c = 0; c < C; c++) {
      const w = ws[t] * Math.exp(lp[t * C + c])
      sw[c] += w
      sx[c] += w * d
      sxx[c] += w * d * d
    }
  }
  estimate()
  let previous = NaN
  let iterations = 0
  let converged = false
  while (iterations < maxIterations) {
    iterations++
    let logL = 0
    const mu = means.map((m) => m - shift)
    for (let t = 0; t < nS; t++) {
      const d = xs[t]
      let max = -Infinity
      for (let c = 0; c < C; c++) {
        const z = (d - mu[c]) / sds[c]
        const v = present[c] ? lp[t * C + c] - 0.5 * z * z - logSd[c] : -Infinity
        e[c] = v
        if (v > max) max = v
      }
      if (max === -Infinity) continue // only absent classes have prior here
      let sum = 0
      for (let c = 0; c < C; c++) sum += (e[c] = Math.exp(e[c] - max))
      logL += ws[t] * (max + Math.log(sum))
      for (let c = 0; c < C; c++) {
        const w = (ws[t] * e[c]) / sum
        sw[c] += w
        sx[c] += w * d
        sxx[c] += w * d * d
      }
    }
    estimate()
    if (Math.abs(logL - previous) <= tolerance * Math.abs(logL)) {
      converged = true
      break
    }
    previous = logL
  }

  // Posteriors for every voxel with the fitted parameters; the other classes keep the model's values.
  // Linear domain here (no logs: this is the pass over all voxels); the log domain only where every
  // class underflows, far out in the tails.
  const out = Float32Array.from(P)
  const inv = sds.map((sd, c) => (present[c] ? 1 / sd : 0))
  for (let i = 0; i < n; i++) {
    const m = mass[i]
    if (m === 0) continue
    let sum = 0
    for (let c = 0; c < C; c++) {
      const z = (x[i] - means[c]) * inv[c]
      sum += e[c] = present[c] ? P[i * K + classes[c]] * inv[c] * Math.exp(-0.5 * z * z) : 0
    }
    if (sum > 0) {
      for (let c = 0; c < C; c++) out[i * K + classes[c]] = (m * e[c]) / sum
    } else {
      setLogPrior(i)
      const l = posterior(i)
      if (l === l) for (let c = 0; c < C; c++) out[i * K + classes[c]] = m * e[c]
    }
  }
  return { probabilities: out, fit: { means, sds, iterations, converged } }
}

/**
 * A label map with the refined voxels re-decoded: `kept` (from `resampleProbabilities`) holds the
 * interpolated probabilities of the voxels where the refined classes have mass; their intensities are
 * read from `image` (same grid as `labels`) and refitted. Each voxel the model labelled with one of
 * the refined classes then gets the refined class of highest posterior (first maximum wins); every
 * other voxel keeps its label. Returns a new array.
 *
 * @param labels      the model's labels on the image's grid
 * @param kept        target voxel indices and their [n, K] probabilities
 * @param image       the input channel's intensities on that grid (any numeric array)
 * @param labelValues K label values, `labelValues[k]` for channel k
 * @param classes     channel indices of the refined classes
 */
export function refineLabelsByIntensity(opts: {
  labels: LabelArray
  kept: { index: Uint32Array; probabilities: Float32Array }
  image: ArrayLike<number>
  labelValues: readonly number[]
  classes: readonly number[]
  maxIterations: number
  tolerance: number
}): { labels: LabelArray; fit: IntensityFit } {
  const { kept, image, labelValues } = opts
  const K = labelValues.length
  if (image.length !== opts.labels.length) {
    throw new SegError('BAD_ARGUMENT', `refineLabelsByIntensity: image has ${image.length} voxels, labels ${opts.labels.length}; expected the same grid`)
  }
  const n = kept.index.length
  const intensities = new Float32Array(n)
  for (let i = 0; i < n; i++) intensities[i] = image[kept.index[i]]
  const { probabilities, fit } = refineByIntensity({
    intensities,
    probabilities: kept.probabilities,
    K,
    classes: opts.classes,
    maxIterations: opts.maxIterations,
    tolerance: opts.tolerance
  })
  // Only voxels the model gave one of the refined labels are re-decided, among those labels: the
  // outline of the refined classes together (a brain) stays exactly the model's.
  const refined = new Set(opts.classes.map((c) => labelValues[c]))
  const labels = opts.labels.slice()
  for (let i = 0; i < n; i++) {
    if (!refined.has(labels[kept.index[i]])) continue
    let best = -1
    let bestP = -Infinity
    for (const c of opts.classes) {
      const p = probabilities[i * K + c]
      if (p > bestP) {
        best = c
        bestP = p
      }
    }
    if (best >= 0) labels[kept.index[i]] = labelValues[best]
  }
  return { labels, fit }
}
