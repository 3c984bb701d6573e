/**
 * `Net`: emits ONNX nodes for PyTorch-like modules while recording every state_dict entry the
 * modules own (parameters and buffers, in PyTorch's order), so one description of an architecture
 * yields both the graph and `expectedParameters`.
 *
 * Initializers are named exactly as the state_dict keys. BatchNormalization is emitted in
 * inference form with `<bn>.weight`, `.bias`, `.running_mean`, `.running_var` as its inputs;
 * `<bn>.num_batches_tracked` is recorded as expected (shape []) but not stored in the ONNX
 * (it does not affect inference, and onnxruntime warns about unused initializers).
 *
 * Node names are `<module path>/<Op>` (e.g. `layer1.0.conv1/Conv`, `layer1.0/Add`); node outputs
 * take the node's name. The summary groups nodes into layers by that module path.
 *
 * Default initialisation (for entries absent from the given weights), like torchvision:
 * conv weights Kaiming-normal (fan_out, ReLU gain: std = sqrt(2 / (out·kernel volume))), conv and
 * linear biases and linear weights uniform(±1/sqrt(fan_in)) (PyTorch's default), BN weight 1,
 * bias 0, running mean 0, running var 1. Each tensor draws from its own mulberry32 stream seeded
 * by hash(name) + seed, so a tensor's default does not depend on which other tensors were given.
 */
import { SegError } from '../../errors'
import { type StateDict, type Tensor, tensorSize } from '../../tensor'
import { type AttrValue, GraphBuilder } from '../../onnx/graph'

export const BN_EPSILON = 1e-5

type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; bound: number } | { kind: 'const'; value: number }

/** FNV-1a 32-bit hash of a string. */
export function hashName(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The default tensor for `name` (see the module comment). */
export function defaultTensor(name: string, dims: number[], init: Init, seed: number): Tensor {
  const n = tensorSize(dims)
  const data = new Float32Array(n)
  if (init.kind === 'const') data.fill(init.value)
  else {
    const rand = mulberry32((hashName(name) + seed) >>> 0)
    if (init.kind === 'uniform') for (let i = 0; i < n; i++) data[i] = (2 * rand() - 1) * init.bound
    else {
      for (let i = 0; i < n; i += 2) {
        // Box–Muller: two independent normals per two uniforms.
        const r = Math.sqrt(-2 * Math.log(1 - rand())) * init.std
        const th = 2 * Math.PI * rand()
        data[i] = r * Math.cos(th)
        if (i + 1 < n) data[i + 1] = r * Math.sin(th)
      }
    }
  }
  return { dims: [...dims], data }
}

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i])

export interface NetOptions {
  /** Weights by ResNet-style name; entries the architecture does not use are ignored. */
  weights?: StateDict
  seed: number
  /** false: only record expected parameters (no tensors, no graph). */
  emit: boolean
}

export class Net {
  readonly expected = new Map<string, number[]>()
  readonly g: GraphBuilder | null
  private readonly weights?: StateDict
  private readonly seed: number

  constructor(opts: NetOptions) {
    this.g = opts.emit ? new GraphBuilder('segtransfer') : null
    this.weights = opts.weights
    this.seed = opts.seed
  }

  /** Records a state_dict entry and stores it as an initializer (given weight or default). */
  param(name: string, dims: number[], init: Init): string {
    this.expected.set(name, dims)
    if (!this.g) return name
    const given = this.weights?.get(name)
    if (given) {
      if (!sameDims(given.dims, dims)) {
        throw new SegError('MODEL_MISMATCH', `weight '${name}' has shape [${given.dims}], the architecture expects [${dims}]`)
      }
      if (!(given.data instanceof Float32Array)) throw new SegError('MODEL_MISMATCH', `weight '${name}' is not float32`)
      this.g.initializer(name, given)
    } else this.g.initializer(name, defaultTensor(name, dims, init, this.seed))
    return name
  }

  /** Adds a node named `<module>/<op>` whose single output takes the node's name. */
  op(module: string, opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    if (!this.g) return `${module}/${opType}`
    let name = `${module}/${opType}`
    if (this.g.has(name)) name = this.g.fresh(name)
    this.g.node(opType, inputs, [name], attrs, name)
    return name
  }

  /** nn.Conv3d(cin, cout, k, stride, padding = k // 2), bias optional. */
  conv(module: string, x: string, cin: number, cout: number, k: number, stride = 1, bias = false): string {
    const kvol = k ** 3
    const w = this.param(`${module}.weight`, [cout, cin, k, k, k], { kind: 'normal', std: Math.sqrt(2 / (cout * kvol)) })
    const inputs = [x, w]
    if (bias) inputs.push(this.param(`${module}.bias`, [cout], { kind: 'uniform', bound: 1 / Math.sqrt(cin * kvol) }))
    const p = Math.floor(k / 2)
    return this.op(module, 'Conv', inputs, {
      kernel_shape: [k, k, k], strides: [stride, stride, stride], pads: [p, p, p, p, p, p], dilations: [1, 1, 1], group: 1
    })
  }

  /** nn.BatchNorm3d(c) in eval mode. */
  bn(module: string, x: string, c: number): string {
    const scale = this.param(`${module}.weight`, [c], { kind: 'const', value: 1 })
    const bias = this.param(`${module}.bias`, [c], { kind: 'const', value: 0 })
    const mean = this.param(`${module}.running_mean`, [c], { kind: 'const', value: 0 })
    const variance = this.param(`${module}.running_var`, [c], { kind: 'const', value: 1 })
    this.expected.set(`${module}.num_batches_tracked`, [])
    return this.op(module, 'BatchNormalization', [x, scale, bias, mean, variance], { epsilon: BN_EPSILON })
  }

  /** A float32 scalar as a Constant node (not an initializer: it is no state_dict entry, no parameter). */
  constant(module: string, value: number): string {
    return this.op(module, 'Constant', [], { value: { dims: [], data: Float32Array.of(value) } })
  }

  relu(module: string, x: string): string {
    return this.op(module, 'Relu', [x])
  }

  /** mmcv ConvModule: `<m>.conv` (no bias) → `<m>.bn` → ReLU. */
  convModule(module: string, x: string, cin: number, cout: number, k: number, stride = 1): string {
    return this.relu(module, this.bn(`${module}.bn`, this.conv(`${module}.conv`, x, cin, cout, k, stride), cout))
  }

  /** nn.Linear(cin, cout) on [N, cin] as Gemm(transB). */
  linear(module: string, x: string, cin: number, cout: number): string {
    const bound = 1 / Math.sqrt(cin)
    const w = this.param(`${module}.weight`, [cout, cin], { kind: 'uniform', bound })
    const b = this.param(`${module}.bias`, [cout], { kind: 'uniform', bound })
    return this.op(module, 'Gemm', [x, w, b], { transB: 1 })
  }

  /** Trilinear resize (align_corners=False) of x to the spatial size of `ref` (any size, dynamic). */
  resizeLike(module: string, x: string, ref: string): string {
    const head = this.op(module, 'Shape', [x], { end: 2 })
    const tail = this.op(module, 'Shape', [ref], { start: 2 })
    const sizes = this.op(module, 'Concat', [head, tail], { axis: 0 })
    return this.op(module, 'Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
  }
}
