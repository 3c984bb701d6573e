/**
 * ilastik's classical multi-scale filter bank as an ONNX graph of fixed convolutions, so that the
 * features the head is trained on (this graph run by onnxruntime on slabs) and the features of the
 * baked bundle (the same nodes inside its model.onnx) are computed by the same code.
 *
 * Per scale σ (mm), from the Gaussian derivatives of the normalised image (separable, zero padded):
 * smoothed intensity, gradient magnitude, Laplacian of Gaussian and the three Hessian eigenvalues
 * (sorted, closed form), plus the normalised intensity itself once. Derivatives are per mm, so a
 * feature means the same on every axis of an anisotropic grid.
 *
 * Hand-written: no npm package builds ONNX filter graphs; the maths is the textbook Gaussian
 * derivative and the trigonometric eigenvalue formula of a symmetric 3×3 matrix (Smith 1961).
 */
import { SegError } from '../errors'
import type { GraphBuilder } from '../onnx/graph'

/** ilastik's default scales are 0.7–10 px; these, in mm, cover boundaries to organ-sized context. */
export const DEFAULT_SCALES_MM = [1, 2.5, 5]
/** Smallest Gaussian σ in voxels along any axis (a thinner kernel is no longer a derivative filter). */
const MIN_SIGMA_VOXELS = 0.5
/** Kernel half-width in σ (ilastik / vigra truncate at 3σ too). */
const TRUNCATE = 3
/** Added to the Hessian's spread so a flat region (all eigenvalues equal) does not divide by zero. */
const EIGEN_EPS = 1e-12

export const FEATURES_PER_SCALE = ['smoothed', 'gradient magnitude', 'LoG', 'Hessian eigenvalue 1', 'Hessian eigenvalue 2', 'Hessian eigenvalue 3']

export interface FilterBankSpec {
  /** Voxel spacing (mm) along the tensor's spatial dims d0, d1, d2. */
  spacing: [number, number, number]
  /** Gaussian σ of each scale, mm. */
  scalesMm: number[]
}

/** Names of the features the graph outputs, in channel order. */
export function featureNames(spec: FilterBankSpec): string[] {
  return ['intensity', ...spec.scalesMm.flatMap((s) => FEATURES_PER_SCALE.map((f) => `${f} σ=${s} mm`))]
}

/** The widest kernel half-width (voxels) along d0: the halo a slab needs for exact features. */
export function filterRadius(spec: FilterBankSpec, axis = 0): number {
  return Math.max(...spec.scalesMm.map((s) => radiusOf(sigmaVoxels(s, spec.spacing[axis]))))
}

function sigmaVoxels(sigmaMm: number, spacingMm: number): number {
  return Math.max(MIN_SIGMA_VOXELS, sigmaMm / spacingMm)
}

function radiusOf(sigma: number): number {
  return Math.max(1, Math.ceil(TRUNCATE * sigma))
}

/**
 * Sampled Gaussian of σ voxels (normalised to sum 1) and its first and second derivatives per mm
 * (`spacing` mm per voxel), taps −r..r.
 */
export function gaussianKernels(sigma: number, spacing: number): [Float32Array, Float32Array, Float32Array] {
  const r = radiusOf(sigma)
  const g = new Float64Array(2 * r + 1)
  let sum = 0
  for (let x = -r; x <= r; x++) sum += g[x + r] = Math.exp((-x * x) / (2 * sigma * sigma))
  const k0 = new Float32Array(2 * r + 1)
  const k1 = new Float32Array(2 * r + 1)
  const k2 = new Float32Array(2 * r + 1)
  const s2 = sigma * sigma
  for (let x = -r; x <= r; x++) {
    const w = g[x + r] / sum
    k0[x + r] = w
    // Conv is a correlation: tap x reads the voxel at +x, so the derivative kernel is flipped (−g').
    k1[x + r] = ((x / s2) * w) / spacing
    k2[x + r] = ((x * x / (s2 * s2) - 1 / s2) * w) / (spacing * spacing)
  }
  // Exact on polynomials, as vigra normalises its derivative kernels: a sampled, truncated Gaussian's
  // variance is not σ², so rescale k1 to give slope 1 on a unit ramp and k2 (made to sum to 0)
  // to give 2 on a unit parabola, both in mm.
  const mean2 = k2.reduce((a, b) => a + b, 0) / k2.length
  let m1 = 0
  let m2 = 0
  for (let x = -r; x <= r; x++) {
    k2[x + r] -= mean2
    m1 += k1[x + r] * x * spacing
    m2 += k2[x + r] * (x * spacing) ** 2
  }
  for (let i = 0; i < k1.length; i++) {
    k1[i] /= m1
    k2[i] *= 2 / m2
  }
  return [k0, k1, k2]
}

/** Derivative orders (d0, d1, d2) of the ten Gaussian derivatives up to order 2, in output order. */
const ORDERS: [number, number, number][] = [
  [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 0], [1, 0, 1], [0, 1, 1]
]

/**
 * Adds one grouped 1D convolution along `axis`: output channel o reads input channel `from[o]` with
 * the kernel of derivative order `order[o]`.
 */
function conv1d(g: GraphBuilder, input: string, from: number[], order: number[], kernels: Float32Array[], axis: number, prefix: string, padded = true): string {
  const taps = kernels[0].length
  const r = (taps - 1) / 2
  const gathered = g.fresh(`${prefix}_gather`)
  const idx = g.fresh(`${prefix}_idx`)
  g.initializer(idx, { dims: [from.length], data: BigInt64Array.from(from.map(BigInt)) })
  g.node('Gather', [input, idx], [gathered], { axis: 1 })
  const shape = [1, 1, 1]
  shape[axis] = taps
  const w = new Float32Array(from.length * taps)
  order.forEach((o, c) => w.set(kernels[o], c * taps))
  const wName = g.fresh(`${prefix}_w`)
  g.initializer(wName, { dims: [from.length, 1, ...shape], data: w })
  const pads = [0, 0, 0, 0, 0, 0]
  if (padded) {
    pads[axis] = r
    pads[axis + 3] = r
  }
  const out = g.fresh(`${prefix}_conv`)
  g.node('Conv', [gathered, wName], [out], { group: from.length, kernel_shape: shape, pads })
  return out
}

/** One channel of a [1, C, ...] value as a [1, 1, ...] value. */
function channel(g: GraphBuilder, input: string, c: number, prefix: string): string {
  const idx = g.fresh(`${prefix}_c`)
  g.initializer(idx, { dims: [1], data: BigInt64Array.from([BigInt(c)]) })
  const out = g.fresh(`${prefix}_ch`)
  g.node('Gather', [input, idx], [out], { axis: 1 })
  return out
}

/** Planes [start, start + 1) along d0 (tensor axis 2) of a [1, C, d0, d1, d2] value. */
function planeAt(g: GraphBuilder, input: string, start: number, prefix: string): string {
  const bounds = [start, start + 1, 2].map((v) => {
    const name = g.fresh(`${prefix}_sl`)
    g.initializer(name, { dims: [1], data: BigInt64Array.from([BigInt(v)]) })
    return name
  })
  const out = g.fresh(`${prefix}_plane`)
  g.node('Slice', [input, ...bounds], [out])
  return out
}

function scalar(g: GraphBuilder, value: number, prefix: string): string {
  const name = g.fresh(`${prefix}_k`)
  g.initializer(name, { dims: [], data: Float32Array.from([value]) })
  return name
}

/** A binary elementwise node; returns its output name. */
function op(g: GraphBuilder, type: string, a: string, b: string, prefix: string): string {
  const out = g.fresh(`${prefix}_${type.toLowerCase()}`)
  g.node(type, [a, b], [out])
  return out
}

function unary(g: GraphBuilder, type: string, a: string, prefix: string): string {
  const out = g.fresh(`${prefix}_${type.toLowerCase()}`)
  g.node(type, [a], [out])
  return out
}

/**
 * The three eigenvalues (ascending) of the symmetric matrix [[a,d,e],[d,b,f],[e,f,c]] per voxel,
 * by the trigonometric closed form; returns three [1,1,...] value names.
 */
function eigenvalues(g: GraphBuilder, a: string, b: string, c: string, d: string, e: string, f: string, p: string): [string, string, string] {
  const add = (x: string, y: string) => op(g, 'Add', x, y, p)
  const sub = (x: string, y: string) => op(g, 'Sub', x, y, p)
  const mul = (x: string, y: string) => op(g, 'Mul', x, y, p)
  const k = (v: number) => scalar(g, v, p)
  const q = mul(add(add(a, b), c), k(1 / 3))
  const [a0, b0, c0] = [sub(a, q), sub(b, q), sub(c, q)]
  const offDiag = add(add(mul(d, d), mul(e, e)), mul(f, f))
  const p2 = add(add(add(mul(a0, a0), mul(b0, b0)), mul(c0, c0)), mul(offDiag, k(2)))
  const pp = unary(g, 'Sqrt', add(mul(p2, k(1 / 6)), k(EIGEN_EPS)), p)
  // det(A − qI) / (2 p³), clipped to [−1, 1] against rounding.
  const det = sub(
    add(mul(a0, sub(mul(b0, c0), mul(f, f))), mul(mul(k(2), d), mul(e, f))),
    add(mul(d, mul(d, c0)), mul(e, mul(e, b0)))
  )
  const r = op(g, 'Div', det, mul(k(2), mul(pp, mul(pp, pp))), p)
  const rc = g.fresh(`${p}_clip`)
  g.node('Clip', [r, k(-1), k(1)], [rc])
  const phi = mul(unary(g, 'Acos', rc, p), k(1 / 3))
  const twoP = mul(pp, k(2))
  const largest = add(q, mul(twoP, unary(g, 'Cos', phi, p)))
  const smallest = add(q, mul(twoP, unary(g, 'Cos', add(phi, k((2 * Math.PI) / 3)), p)))
  const middle = sub(sub(mul(q, k(3)), largest), smallest)
  return [smallest, middle, largest]
}

/**
 * Appends the filter bank to `g`, reading `input` ([1, 1, d0, d1, d2] float32, the normalised image)
 * and producing one value [1, F, d0, d1, d2] with F = featureNames(spec).length. Returns its name.
 * With `centrePlane` = h (the d0 halo), the input holds 2h + 1 planes (zeros beyond the volume) and
 * the output only the features of the centre plane, [1, F, 1, d1, d2]: the d0 convolution is then
 * unpadded, so a labelled slice costs one plane of work instead of a whole slab's.
 */
export function addFilterBank(g: GraphBuilder, input: string, spec: FilterBankSpec, prefix = 'fb', centrePlane?: number): string {
  if (!spec.scalesMm.length || spec.scalesMm.some((s) => !(s > 0 && s <= 50))) {
    throw new SegError('BAD_ARGUMENT', `filter scales must be 1 or more σ values in (0, 50] mm, got [${spec.scalesMm.join(', ')}]`)
  }
  const centred = centrePlane !== undefined
  const features: string[] = [centred ? planeAt(g, input, centrePlane, `${prefix}i`) : input]
  spec.scalesMm.forEach((sigmaMm, si) => {
    const p = `${prefix}${si}`
    const kernels = spec.spacing.map((sp) => gaussianKernels(sigmaVoxels(sigmaMm, sp), sp))
    // Along d0: orders 0, 1, 2 of the one input channel (centred: unpadded, then the centre plane only).
    const along0 = conv1d(g, input, [0, 0, 0], [0, 1, 2], kernels[0], 0, `${p}a`, !centred)
    const a = centred ? planeAt(g, along0, centrePlane - (kernels[0][0].length - 1) / 2, `${p}a`) : along0
    // Along d1: every (o0, o1) with o0 + o1 ≤ 2; along d2: every (o0, o1, o2) of ORDERS.
    const pairs: [number, number][] = [[0, 0], [1, 0], [0, 1], [2, 0], [0, 2], [1, 1]]
    const b = conv1d(g, a, pairs.map(([o0]) => o0), pairs.map(([, o1]) => o1), kernels[1], 1, `${p}b`)
    const pairIndex = (o0: number, o1: number) => pairs.findIndex(([x, y]) => x === o0 && y === o1)
    const dd = conv1d(g, b, ORDERS.map(([o0, o1]) => pairIndex(o0, o1)), ORDERS.map(([, , o2]) => o2), kernels[2], 2, `${p}c`)
    const [s, i0, i1, i2, h00, h11, h22, h01, h02, h12] = ORDERS.map((_, c) => channel(g, dd, c, p))
    const sq = (x: string) => op(g, 'Mul', x, x, p)
    const grad = unary(g, 'Sqrt', op(g, 'Add', op(g, 'Add', sq(i0), sq(i1), p), sq(i2), p), p)
    const log = op(g, 'Add', op(g, 'Add', h00, h11, p), h22, p)
    features.push(s, grad, log, ...eigenvalues(g, h00, h11, h22, h01, h02, h12, p))
  })
  const out = g.fresh(`${prefix}_features`)
  g.node('Concat', features, [out], { axis: 1 })
  return out
}
