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
  /** Class means, in the bias-corrected intensities (the field averages 1 over the fitted voxels). */
  means: number[]
  sds: number[]
  /** EM iterations run (each one E-step, M-step and, with a bias field, a field update); 0: nothing to fit. */
  iterations: number
  /** True when the change in log-likelihood per unit weight fell below the tolerance before maxIterations. */
  converged: boolean
  /** The multiplicative bias field fitted alongside, when asked for: its degree and its range over the refined voxels. */
  biasField?: { order: number; min: number; max: number }
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
  /** Stop when |ΔlogL| ≤ tolerance · (total weight) between iterations: a change per unit weight. */
  tolerance: number
  /**
   * Degree (0–4) of a smooth multiplicative bias field fitted alongside, as a polynomial in the voxel
   * position (0: none). Needs `positions`.
   */
  biasFieldOrder?: number
  /** Each voxel's position [n, 3], scaled to [-1, 1] across the grid (for the bias field). */
  positions?: Float32Array
}

/** At most this many voxels (an even stride through them) fit the Gaussians; all get posteriors. */
export const FIT_SAMPLE = 1 << 16
/** At most this many of those (an even stride through the fitting sample) fit the smooth bias field. */
export const BIAS_SAMPLE = 1 << 14

/** Exponents [a, b, c] of the monomials x^a y^b z^c with a + b + c ≤ order, in a fixed order (1 first). */
export function monomials(order: number): [number, number, number][] {
  const out: [number, number, number][] = []
  for (let a = 0; a <= order; a++) for (let b = 0; b <= order - a; b++) for (let c = 0; c <= order - a - b; c++) out.push([a, b, c])
  return out
}

/** Solves A·x = b for a symmetric positive-definite p×p A (row-major) by Cholesky; null if it is not. */
function solveSpd(A: Float64Array, b: Float64Array, p: number): Float64Array | null {
  const L = new Float64Array(p * p)
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * p + j]
      for (let k = 0; k < j; k++) sum -= L[i * p + k] * L[j * p + k]
      if (i === j) {
        if (!(sum > 0)) return null
        L[i * p + i] = Math.sqrt(sum)
      } else L[i * p + j] = sum / L[j * p + j]
    }
  }
  const y = new Float64Array(p)
  for (let i = 0; i < p; i++) {
    let sum = b[i]
    for (let k = 0; k < i; k++) sum -= L[i * p + k] * y[k]
    y[i] = sum / L[i * p + i]
  }
  const x = new Float64Array(p)
  for (let i = p - 1; i >= 0; i--) {
    let sum = y[i]
    for (let k = i + 1; k < p; k++) sum -= L[k * p + i] * x[k]
    x[i] = sum / L[i * p + i]
  }
  return x
}

/**
 * Fits one Gaussian per refined class to `intensities` with the given per-voxel priors and returns the
 * posterior class probabilities (a new [n, K] array; the input is not modified).
 *
 * Each voxel's weight in the fit is its total probability of the refined classes, so voxels the model
 * calls background barely count. The parameters are fitted on an even stride of at most FIT_SAMPLE
 * voxels (SPM samples its fit too; a brain has ~2M voxels at 1 mm and the means and spreads do not
 * change), then every voxel gets its posterior. A class with no weight in the fit keeps the model's
 * probability everywhere; the present classes share their own mass. Spreads are floored at 1e-3 of
 * the sample's 1st–99th percentile range. NaN or infinite intensities keep the model's values.
 *
 * With `biasFieldOrder` > 0 a multiplicative field b(v) = exp(polynomial) is fitted in each iteration
 * as in Wells et al. 1996 / Van Leemput et al. 1999: log x − log b is regressed on the log class means,
 * weighted by responsibility × μ²/σ² (the inverse variance of log x), and the field is normalised to
 * a weighted mean of 1 in the log domain. Only voxels with x > 0 then fit.
 */
export function refineByIntensity(input: IntensityRefinementInput): { probabilities: Float64Array; fit: IntensityFit } {
  const { intensities: x, probabilities: P, K, classes, maxIterations, tolerance, positions } = input
  const order = input.biasFieldOrder ?? 0
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
  if (!(Number.isInteger(order) && order >= 0 && order <= 4)) {
    throw new SegError('BAD_ARGUMENT', `refineByIntensity: biasFieldOrder must be an integer in 0..4, got ${order}`)
  }
  if (order > 0 && positions?.length !== n * 3) {
    throw new SegError('BAD_ARGUMENT', `refineByIntensity: a bias field needs positions for the ${n} voxels ([n, 3]), got ${positions?.length ?? 'none'}`)
  }

  // Each voxel's weight: its mass of refined classes (0: takes no part, also for NaN/±∞ intensities).
  const mass = new Float64Array(n)
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < n; i++) {
    let m = 0
    for (let c = 0; c < C; c++) m += P[i * K + classes[c]]
    const v = x[i]
    if (!(m > 0) || !Number.isFinite(v)) continue
    mass[i] = m
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const shift = hi > lo ? (lo + hi) / 2 : 0 // sums of (x - shift)^2 stay well conditioned

  // The fitting sample, compacted: raw intensity, weight, log-prior (C per voxel), basis functions.
  const stride = Math.max(1, Math.ceil(n / FIT_SAMPLE))
  const fits = (i: number) => mass[i] > 0 && (order === 0 || x[i] > 0)
  let nS = 0
  for (let i = 0; i < n; i += stride) if (fits(i)) nS++
  const terms = monomials(order)
  const p = terms.length
  const xr = new Float64Array(nS)
  const ws = new Float64Array(nS)
  const lp = new Float64Array(nS * C)
  const phi = new Float64Array(order > 0 ? nS * p : 0)
  const pow = new Float64Array(3 * (order + 1)) // powers 0..order of x, then y, then z
  const ta = Int32Array.from(terms, (e) => e[0])
  const tb = Int32Array.from(terms, (e) => order + 1 + e[1])
  const tc = Int32Array.from(terms, (e) => 2 * (order + 1) + e[2])
  /** Powers 0..order of voxel i's position into `pow`; monomial q is then pow[ta[q]]·pow[tb[q]]·pow[tc[q]]. */
  const powersAt = (i: number): void => {
    for (let d = 0; d < 3; d++) {
      const v = positions![i * 3 + d]
      for (let e = 0, a = 1; e <= order; e++, a *= v) pow[d * (order + 1) + e] = a
    }
  }
  for (let i = 0, t = 0; i < n; i += stride) {
    if (!fits(i)) continue
    xr[t] = x[i]
    ws[t] = mass[i]
    for (let c = 0; c < C; c++) lp[t * C + c] = Math.log(P[i * K + classes[c]] / mass[i])
    if (order > 0) {
      powersAt(i)
      for (let q = 0; q < p; q++) phi[t * p + q] = pow[ta[q]] * pow[tb[q]] * pow[tc[q]]
    }
    t++
  }
  const fit: IntensityFit = { means: new Array<number>(C).fill(NaN), sds: new Array<number>(C).fill(NaN), iterations: 0, converged: false }
  if (nS === 0) return { probabilities: Float64Array.from(P), fit } // nothing to fit: the model's probabilities
  // Spreads are floored at 1e-3 of the sample's 1st–99th percentile range (numpy's linear percentile),
  // so a class cannot collapse onto one intensity and a few extreme voxels do not set the floor.
  const sorted = Float64Array.from(xr).sort()
  const percentile = (q: number) => {
    const h = (q / 100) * (nS - 1)
    const f = Math.floor(h)
    return f + 1 < nS ? sorted[f] + (h - f) * (sorted[f + 1] - sorted[f]) : sorted[f]
  }
  const spread = percentile(99) - percentile(1)
  const sdFloor = spread > 0 ? 1e-3 * spread : 1
  let sumWeights = 0
  for (let t = 0; t < nS; t++) sumWeights += ws[t]
  const xs = xr.map((v) => v - shift) // bias-corrected intensity − shift
  const beta = new Float64Array(p) // log-field coefficients (all 0: no field)

  const { means, sds } = fit
  const logSd = new Float64Array(C)
  const present = new Array<boolean>(C).fill(false)
  const sw = new Float64Array(C)
  const sx = new Float64Array(C)
  const sxx = new Float64Array(C)
  const e = new Float64Array(C)
  const r = new Float64Array(nS * C) // responsibilities of the sample

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
  /** Bias step: weighted least squares for the log field, normalised; then the corrected intensities. */
  const biasStride = Math.max(1, Math.ceil(nS / BIAS_SAMPLE))
  const logX = order > 0 ? xr.map(Math.log) : xr
  const fitField = (): void => {
    const A = new Float64Array(p * p)
    const rhs = new Float64Array(p)
    const om = means.map((mu, c) => (present[c] && mu > 0 ? (mu * mu) / (sds[c] * sds[c]) : 0))
    const logMu = means.map((mu) => (mu > 0 ? Math.log(mu) : 0))
    let sumW = 0
    const W = new Float64Array(nS)
    for (let t = 0; t < nS; t += biasStride) {
      let w = 0
      let wl = 0
      for (let c = 0; c < C; c++) {
        const o = ws[t] * r[t * C + c] * om[c]
        w += o
        wl += o * logMu[c]
      }
      if (!(w > 0)) continue
      W[t] = w
      sumW += w
      const z = logX[t] - wl / w
      for (let a = 0; a < p; a++) {
        const fa = w * phi[t * p + a]
        rhs[a] += fa * z
        for (let b2 = 0; b2 <= a; b2++) A[a * p + b2] += fa * phi[t * p + b2]
      }
    }
    if (!(sumW > 0)) return
    let trace = 0
    for (let a = 0; a < p; a++) {
      for (let b2 = 0; b2 < a; b2++) A[b2 * p + a] = A[a * p + b2]
      trace += A[a * p + a]
    }
    for (let a = 0; a < p; a++) A[a * p + a] += (1e-6 * trace) / p // a whisper of ridge: a thin slab leaves high orders unconstrained
    const solved = solveSpd(A, rhs, p)
    if (!solved) return
    // normalise: weighted mean of the log field 0 (the constant term is the first monomial)
    let mean = 0
    for (let t = 0; t < nS; t += biasStride) {
      if (W[t] === 0) continue
      let f = 0
      for (let q = 0; q < p; q++) f += solved[q] * phi[t * p + q]
      mean += W[t] * f
    }
    solved[0] -= mean / sumW
    beta.set(solved)
    for (let t = 0; t < nS; t++) {
      let f = 0
      for (let q = 0; q < p; q++) f += beta[q] * phi[t * p + q]
      xs[t] = xr[t] * Math.exp(-f) - shift
    }
  }

  // First M-step with the prior as responsibilities, then E-, M- (and field) steps over the sample.
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
      if (max === -Infinity) {
        for (let c = 0; c < C; c++) r[t * C + c] = 0
        continue // only absent classes have prior here
      }
      let sum = 0
      for (let c = 0; c < C; c++) sum += (e[c] = Math.exp(e[c] - max))
      logL += ws[t] * (max + Math.log(sum))
      for (let c = 0; c < C; c++) {
        const rc = (r[t * C + c] = e[c] / sum)
        const w = ws[t] * rc
        sw[c] += w
        sx[c] += w * d
        sxx[c] += w * d * d
      }
    }
    estimate()
    if (order > 0) fitField()
    // per unit weight, so the test does not depend on the intensity units
    if (Math.abs(logL - previous) <= tolerance * sumWeights) {
      converged = true
      break
    }
    previous = logL
  }

  // Posteriors for every voxel with the fitted parameters. Classes absent from the fit and every other
  // class keep the model's values; the present refined classes share their own mass by posterior.
  // Linear domain (no logs: this is the pass over all voxels), the log domain only where every class
  // underflows, far out in the tails.
  const out = Float64Array.from(P)
  const inv = sds.map((sd, c) => (present[c] ? 1 / sd : 0))
  let fieldMin = Infinity
  let fieldMax = -Infinity
  for (let i = 0; i < n; i++) {
    if (mass[i] === 0) continue
    let xi = x[i]
    if (order > 0) {
      powersAt(i) // the log field at this voxel
      let f = 0
      for (let q = 0; q < p; q++) f += beta[q] * (pow[ta[q]] * pow[tb[q]] * pow[tc[q]]) // as phi · beta
      const b = Math.exp(f)
      xi /= b
      if (b < fieldMin) fieldMin = b
      if (b > fieldMax) fieldMax = b
    }
    let m = 0
    let sum = 0
    for (let c = 0; c < C; c++) {
      if (!present[c]) {
        e[c] = 0
        continue
      }
      const prior = P[i * K + classes[c]]
      m += prior
      const z = (xi - means[c]) * inv[c]
      sum += e[c] = prior * inv[c] * Math.exp(-0.5 * z * z)
    }
    if (!(m > 0)) continue // only absent classes have prior here: keep it
    if (!(sum > 0)) {
      let max = -Infinity
      for (let c = 0; c < C; c++) {
        const prior = present[c] ? P[i * K + classes[c]] : 0
        const z = (xi - means[c]) * inv[c]
        e[c] = prior > 0 ? Math.log(prior * inv[c]) - 0.5 * z * z : -Infinity
        if (e[c] > max) max = e[c]
      }
      sum = 0
      for (let c = 0; c < C; c++) sum += e[c] = Math.exp(e[c] - max)
    }
    for (let c = 0; c < C; c++) if (present[c]) out[i * K + classes[c]] = (m * e[c]) / sum
  }
  fit.iterations = iterations
  fit.converged = converged
  if (order > 0) fit.biasField = { order, min: fieldMin, max: fieldMax }
  return { probabilities: out, fit }
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
  /** Voxels along i, j, k of the grid (i fastest), for the bias field's positions. */
  size: readonly [number, number, number]
  labelValues: readonly number[]
  classes: readonly number[]
  maxIterations: number
  tolerance: number
  /** Degree of the polynomial bias field fitted alongside (0: none). */
  biasFieldOrder: number
}): { labels: LabelArray; fit: IntensityFit } {
  const { kept, image, labelValues, size } = opts
  const K = labelValues.length
  if (image.length !== opts.labels.length || size[0] * size[1] * size[2] !== image.length) {
    throw new SegError('BAD_ARGUMENT', `refineLabelsByIntensity: image has ${image.length} voxels, labels ${opts.labels.length}, grid ${size.join('×')}; expected the same grid`)
  }
  const n = kept.index.length
  const intensities = new Float32Array(n)
  for (let i = 0; i < n; i++) intensities[i] = image[kept.index[i]]
  let positions: Float32Array | undefined
  if (opts.biasFieldOrder > 0) {
    // index position scaled to [-1, 1] along each axis (a polynomial field does not mind the spacing)
    positions = new Float32Array(n * 3)
    const scaled = (i: number, s: number) => (s > 1 ? (2 * i) / (s - 1) - 1 : 0)
    for (let t = 0; t < n; t++) {
      const v = kept.index[t]
      positions[t * 3] = scaled(v % size[0], size[0])
      positions[t * 3 + 1] = scaled(Math.floor(v / size[0]) % size[1], size[1])
      positions[t * 3 + 2] = scaled(Math.floor(v / (size[0] * size[1])), size[2])
    }
  }
  const { probabilities, fit } = refineByIntensity({
    intensities,
    probabilities: kept.probabilities,
    K,
    classes: opts.classes,
    maxIterations: opts.maxIterations,
    tolerance: opts.tolerance,
    biasFieldOrder: opts.biasFieldOrder,
    positions
  })
  // Only voxels the model gave one of the refined labels are re-decided, among those labels: the
  // outline of the refined classes together (a brain) stays exactly the model's.
  const refined = new Set(opts.classes.map((c) => labelValues[c]))
  const labels = opts.labels.slice()
  for (let i = 0; i < n; i++) {
    if (!refined.has(labels[kept.index[i]]) || !Number.isFinite(intensities[i])) continue
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
