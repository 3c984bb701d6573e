/**
 * The per-voxel head trained on the features: multinomial logistic regression (`linear`) or one
 * hidden ReLU layer (`mlp`), on standardised features, with class-balanced softmax cross-entropy,
 * Adam and early stopping on the validation voxels (whole held-out slices, see split.ts).
 *
 * Plain Float64Array code: no training runtime installs here (no ORT training build, no tfjs-node;
 * ../shared/design/libraries.md), and the maths is a few loops. Deterministic given the seed.
 */
import { SegError } from '../errors'
import { boundedInt } from '../limits'
import { mulberry32 } from '../transfer/architectures/net'
import { shuffle } from './split'

export type HeadKind = 'linear' | 'mlp'

/** One dense layer: y = W x + b, W row-major [out × in]. */
export interface Layer {
  in: number
  out: number
  W: Float64Array
  b: Float64Array
}

export interface Head {
  kind: HeadKind
  /** Feature standardisation: x̂ = (x − mean) / sd, folded into the first layer when baked. */
  mean: Float64Array
  sd: Float64Array
  /** linear: [F→K]; mlp: [F→H, H→K] with ReLU between. */
  layers: Layer[]
}

export interface TrainOptions {
  kind: HeadKind
  /** Hidden units of the mlp head. */
  hidden: number
  /** Adam step size. */
  learningRate: number
  /** L2 penalty on the weights (not the biases), per unit of mean loss. */
  weightDecay: number
  batchSize: number
  maxEpochs: number
  /** Epochs without a better validation loss before stopping. */
  patience: number
  /** Epochs always run (a few held-out slices give a noisy loss at first). */
  minEpochs: number
  seed: number
  signal?: AbortSignal
  /**
   * log of each class's share of the labelled voxels, added to the logits when deciding: the loss is
   * class-balanced (it learns p(x | c)), the decision then restores the classes' real frequencies
   * (Bayes; "logit adjustment", Menon et al. 2021). Omitted: the balanced decision.
   */
  logPrior?: number[]
  onEpoch?: (e: EpochReport) => void
}

export const DEFAULT_TRAIN: Omit<TrainOptions, 'kind' | 'seed'> = {
  hidden: 24, learningRate: 0.01, weightDecay: 1e-4, batchSize: 512, maxEpochs: 60, patience: 6, minEpochs: 15
}

export interface EpochReport {
  epoch: number
  trainLoss: number
  /** NaN when there are no validation voxels. */
  validationLoss: number
  /** Dice per class on the validation voxels (argmax of the head). */
  validationDice: number[]
}

export interface Samples {
  /** [n × F] row-major features. */
  x: Float32Array
  /** Class index per row. */
  y: Int32Array
  F: number
}

/** Bounds of the options a user can set (CLI, app). */
export function checkTrainOptions(o: TrainOptions): void {
  const bad = (what: string) => { throw new SegError('BAD_ARGUMENT', what) }
  boundedInt('hidden units', o.hidden, 'hiddenUnits')
  if (!(o.learningRate > 0 && o.learningRate <= 1)) bad(`learning rate must be in (0, 1], got ${o.learningRate}`)
  boundedInt('epochs', o.maxEpochs, 'epochs')
  boundedInt('seed', o.seed, 'seed', 0)
}

/** Mean and standard deviation of each feature over the rows (sd 1 for a constant feature). */
export function featureStats(s: Samples): { mean: Float64Array; sd: Float64Array } {
  const { F } = s
  const n = s.y.length
  const mean = new Float64Array(F)
  const sq = new Float64Array(F)
  for (let r = 0; r < n; r++) for (let c = 0; c < F; c++) mean[c] += s.x[r * F + c]
  for (let c = 0; c < F; c++) mean[c] /= Math.max(1, n)
  for (let r = 0; r < n; r++) for (let c = 0; c < F; c++) sq[c] += (s.x[r * F + c] - mean[c]) ** 2
  const sd = sq.map((v) => Math.sqrt(v / Math.max(1, n)) || 1)
  return { mean, sd }
}

/** Class weights 1 / (K · n_c): every class contributes equally to the loss. */
export function classWeights(y: Int32Array, K: number): Float64Array {
  const n = new Float64Array(K)
  for (const c of y) n[c]++
  return n.map((v) => (v > 0 ? 1 / (K * v) : 0))
}

/** A fresh head: linear weights 0; mlp weights He-normal from the seed, biases 0. */
export function initHead(kind: HeadKind, F: number, K: number, hidden: number, stats: { mean: Float64Array; sd: Float64Array }, seed: number): Head {
  const rand = mulberry32(seed >>> 0)
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
  const layer = (i: number, o: number, random: boolean): Layer => ({
    in: i, out: o, b: new Float64Array(o),
    W: random ? Float64Array.from({ length: i * o }, () => normal() * Math.sqrt(2 / i)) : new Float64Array(i * o)
  })
  const layers = kind === 'linear' ? [layer(F, K, false)] : [layer(F, hidden, true), layer(hidden, K, true)]
  return { kind, mean: stats.mean, sd: stats.sd, layers }
}

/** A dense layer in float64: training weights, or baked float32 ones widened (exactly). */
export interface DenseLayer {
  in: number
  out: number
  W: Float64Array
  b: Float64Array
}

/** Logits of one row (`x` from offset `xo`) through the layers (ReLU between), into the preallocated `acts`. */
export function forwardLayers(layers: readonly DenseLayer[], x: Float64Array, xo: number, acts: Float64Array[]): Float64Array {
  let a = x
  let ao = xo
  for (let l = 0; l < layers.length; l++) {
    const L = layers[l]
    const z = acts[l]
    const relu = l < layers.length - 1
    for (let o = 0; o < L.out; o++) {
      let s = L.b[o]
      const row = o * L.in
      for (let i = 0; i < L.in; i++) s += L.W[row + i] * a[ao + i]
      z[o] = relu && s < 0 ? 0 : s
    }
    a = z
    ao = 0
  }
  return a
}

/** Softmax of logits in place; returns log-sum-exp (so CE = lse − logit[y]). */
function softmaxInPlace(z: Float64Array): number {
  let m = -Infinity
  for (let k = 0; k < z.length; k++) if (z[k] > m) m = z[k]
  let s = 0
  for (let k = 0; k < z.length; k++) s += z[k] = Math.exp(z[k] - m)
  for (let k = 0; k < z.length; k++) z[k] /= s
  return m + Math.log(s)
}

/** Samples with their features standardised once: z = (x − mean) / sd, float64 row-major [n × F]. */
export interface Standardised {
  z: Float64Array
  y: Int32Array
  F: number
}

export function standardiseAll(head: Pick<Head, 'mean' | 'sd'>, s: Samples): Standardised {
  const z = new Float64Array(s.x.length)
  for (let r = 0; r < s.y.length; r++) for (let c = 0; c < s.F; c++) z[r * s.F + c] = (s.x[r * s.F + c] - head.mean[c]) / head.sd[c]
  return { z, y: s.y, F: s.F }
}

/**
 * Weighted mean cross-entropy over rows[start..end) (Σ w_y CE / Σ w_y) plus weightDecay/2 · Σ W²,
 * and its gradient with respect to every W and b (the head's layout).
 */
export function lossAndGradient(
  head: Head, d: Standardised, rows: ArrayLike<number>, weights: Float64Array, weightDecay: number,
  range: [number, number] = [0, rows.length]
): { loss: number; grads: Layer[] } {
  const layers = head.layers
  const nL = layers.length
  const grads = layers.map((L) => ({ in: L.in, out: L.out, W: new Float64Array(L.W.length), b: new Float64Array(L.out) }))
  const acts = layers.map((L) => new Float64Array(L.out))
  const deltas = layers.map((L) => new Float64Array(L.out))
  let loss = 0
  let wsum = 0
  for (let i = range[0]; i < range[1]; i++) {
    const r = rows[i]
    const y = d.y[r]
    const w = weights[y]
    if (w === 0) continue
    const xo = r * d.F
    const z = forwardLayers(layers, d.z, xo, acts)
    const logitY = z[y]
    loss += w * (softmaxInPlace(z) - logitY)
    wsum += w
    // Backward: δ_last = w (p − onehot); δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ [a_l > 0].
    const dl = deltas[nL - 1]
    for (let k = 0; k < z.length; k++) dl[k] = w * (z[k] - (k === y ? 1 : 0))
    for (let l = nL - 1; l >= 0; l--) {
      const L = layers[l]
      const G = grads[l]
      const input = l === 0 ? d.z : acts[l - 1]
      const io = l === 0 ? xo : 0
      const dd = deltas[l]
      for (let o = 0; o < L.out; o++) {
        const g = dd[o]
        if (g === 0) continue
        G.b[o] += g
        const row = o * L.in
        for (let j = 0; j < L.in; j++) G.W[row + j] += g * input[io + j]
      }
      if (l > 0) {
        const prev = deltas[l - 1]
        const a = acts[l - 1]
        for (let j = 0; j < L.in; j++) {
          if (a[j] <= 0) {
            prev[j] = 0
            continue
          }
          let s = 0
          for (let o = 0; o < L.out; o++) s += L.W[o * L.in + j] * dd[o]
          prev[j] = s
        }
      }
    }
  }
  const scale = wsum > 0 ? 1 / wsum : 0
  let penalty = 0
  for (let l = 0; l < nL; l++) {
    const G = grads[l]
    const W = layers[l].W
    for (let i = 0; i < G.W.length; i++) {
      G.W[i] = G.W[i] * scale + weightDecay * W[i]
      penalty += W[i] * W[i]
    }
    for (let o = 0; o < G.b.length; o++) G.b[o] *= scale
  }
  return { loss: loss * scale + (weightDecay / 2) * penalty, grads }
}

/**
 * Validation in one forward pass per row: the class-weighted mean cross-entropy (no penalty, as
 * `lossAndGradient(..., lossOnly)`) and the Dice per class of the decision (argmax of logits + `logPrior`).
 */
export function validate(head: Head, d: Standardised, weights: Float64Array, K: number, logPrior?: readonly number[]): { loss: number; dice: number[] } {
  const acts = head.layers.map((L) => new Float64Array(L.out))
  const pred = new Int32Array(d.y.length)
  const shifted = new Float64Array(K)
  let loss = 0
  let wsum = 0
  for (let r = 0; r < pred.length; r++) {
    const z = forwardLayers(head.layers, d.z, r * d.F, acts)
    for (let k = 0; k < K; k++) shifted[k] = z[k] + (logPrior?.[k] ?? 0)
    pred[r] = argmax(shifted)
    const y = d.y[r]
    const w = weights[y]
    if (w === 0) continue
    const logitY = z[y]
    loss += w * (softmaxInPlace(z) - logitY)
    wsum += w
  }
  return { loss: wsum > 0 ? loss / wsum : 0, dice: diceByClass(pred, d.y, K) }
}

export function argmax(z: ArrayLike<number>): number {
  let best = 0
  for (let k = 1; k < z.length; k++) if (z[k] > z[best]) best = k
  return best
}

/** Dice per class between predicted and true class indices. */
export function diceByClass(pred: Int32Array, y: Int32Array, K: number): number[] {
  const tp = new Float64Array(K)
  const np = new Float64Array(K)
  const nt = new Float64Array(K)
  for (let r = 0; r < y.length; r++) {
    np[pred[r]]++
    nt[y[r]]++
    if (pred[r] === y[r]) tp[y[r]]++
  }
  return [...tp].map((t, k) => (np[k] + nt[k] > 0 ? (2 * t) / (np[k] + nt[k]) : NaN))
}

function cloneLayers(layers: Layer[]): Layer[] {
  return layers.map((L) => ({ ...L, W: Float64Array.from(L.W), b: Float64Array.from(L.b) }))
}

/** Adam state of one array. */
interface Moments { m: Float64Array; v: Float64Array }

function adamStep(p: Float64Array, g: Float64Array, st: Moments, lr: number, t: number): void {
  const b1 = 0.9
  const b2 = 0.999
  const c1 = 1 - b1 ** t
  const c2 = 1 - b2 ** t
  for (let i = 0; i < p.length; i++) {
    st.m[i] = b1 * st.m[i] + (1 - b1) * g[i]
    st.v[i] = b2 * st.v[i] + (1 - b2) * g[i] * g[i]
    p[i] -= (lr * (st.m[i] / c1)) / (Math.sqrt(st.v[i] / c2) + 1e-8)
  }
}

/**
 * Trains a head on `train`, early-stopped on `validation` (the epoch with the lowest validation
 * loss wins; without validation rows, the last epoch). Cancel through `signal`.
 */
export function trainHead(train: Samples, validation: Samples, K: number, opts: TrainOptions): { head: Head; best: EpochReport; history: EpochReport[] } {
  checkTrainOptions(opts)
  const head = initHead(opts.kind, train.F, K, opts.hidden, featureStats(train), opts.seed)
  const weights = classWeights(train.y, K)
  const valWeights = classWeights(validation.y, K)
  const rand = mulberry32((opts.seed ^ 0x9e3779b9) >>> 0)
  const moments = head.layers.map((L) => ({ W: { m: new Float64Array(L.W.length), v: new Float64Array(L.W.length) }, b: { m: new Float64Array(L.out), v: new Float64Array(L.out) } }))
  const trainZ = standardiseAll(head, train)
  const valZ = standardiseAll(head, validation)
  const order = Array.from({ length: train.y.length }, (_, i) => i)
  const history: EpochReport[] = []
  let best: { report: EpochReport; layers: Layer[] } | undefined
  let t = 0
  for (let epoch = 1; epoch <= opts.maxEpochs; epoch++) {
    if (opts.signal?.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    shuffle(order, rand)
    let sum = 0
    let batches = 0
    for (let start = 0; start < order.length; start += opts.batchSize) {
      const { loss, grads } = lossAndGradient(head, trainZ, order, weights, opts.weightDecay, [start, Math.min(order.length, start + opts.batchSize)])
      t++
      head.layers.forEach((L, l) => {
        adamStep(L.W, grads[l].W, moments[l].W, opts.learningRate, t)
        adamStep(L.b, grads[l].b, moments[l].b, opts.learningRate, t)
      })
      sum += loss
      batches++
    }
    const hasVal = validation.y.length > 0
    const checked = hasVal ? validate(head, valZ, valWeights, K, opts.logPrior) : undefined
    const report: EpochReport = { epoch, trainLoss: sum / Math.max(1, batches), validationLoss: checked?.loss ?? NaN, validationDice: checked?.dice ?? [] }
    history.push(report)
    opts.onEpoch?.(report)
    // Before minEpochs, the latest epoch stands in as the best so far.
    if (!best || !hasVal || epoch <= opts.minEpochs || report.validationLoss < best.report.validationLoss) best = { report, layers: cloneLayers(head.layers) }
    else if (epoch - best.report.epoch >= opts.patience) break
  }
  head.layers = best!.layers
  // The decision's prior goes into the last bias, so the head (and the baked graph) decides as validated.
  const last = head.layers[head.layers.length - 1]
  opts.logPrior?.forEach((p, k) => { last.b[k] += p })
  return { head, best: best!.report, history }
}
