/**
 * A tiny ONNX graph-building API on top of `proto.ts`, plus conversions between ONNX
 * TensorProtos and the engine's `Tensor`.
 *
 *   const g = new GraphBuilder()
 *   g.input('input', 'float32', ['N', 1, 'D', 'H', 'W'])
 *   g.initializer('w', tensor)
 *   g.node('Conv', ['input', 'w'], ['output'], { kernel_shape: [1, 1, 1] })
 *   g.output('output', 'float32', ['N', 2, 'D', 'H', 'W'])
 *   const bytes = g.toModel({ opset: 17, producer: 'segtransfer' })
 *
 * Attribute values: an integer → INT, a non-integer number → FLOAT, `floatAttr(x)` forces FLOAT
 * (e.g. 1.0), a string → STRING, an array of integers → INTS, an array with a non-integer or
 * `floatsAttr([...])` → FLOATS, a Tensor → TENSOR.
 */
import { SegError } from '../errors'
import { type StateDict, type Tensor, tensorSize } from '../tensor'
import {
  AttrType, DataType, type Dim, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode,
  type OnnxTensor, type ValueInfo, encodeModel
} from './proto'

export type ElemType = 'float32' | 'int64'

const ELEM: Record<ElemType, number> = { float32: DataType.FLOAT, int64: DataType.INT64 }

/** Marker for a float attribute whose value happens to be an integer. */
export interface FloatAttr { kind: 'float'; value: number }
export interface FloatsAttr { kind: 'floats'; value: number[] }
export type AttrValue = number | string | number[] | Tensor | FloatAttr | FloatsAttr

export const floatAttr = (value: number): FloatAttr => ({ kind: 'float', value })
export const floatsAttr = (value: number[]): FloatsAttr => ({ kind: 'floats', value })

const utf8 = new TextEncoder()

/** Engine tensor → TensorProto (raw_data, little-endian; the bytes are a view, not a copy). */
export function toOnnxTensor(name: string, t: Tensor): OnnxTensor {
  if (tensorSize(t.dims) !== t.data.length) {
    throw new SegError('BAD_ARGUMENT', `tensor '${name}' has ${t.data.length} values for dims [${t.dims}]`)
  }
  const dataType = t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64
  const rawData = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  return { name, dims: [...t.dims], dataType, rawData, unknown: [] }
}

/** TensorProto → engine tensor (float32 or int64; raw_data or the typed repeated fields). */
export function fromOnnxTensor(t: OnnxTensor): Tensor {
  const n = tensorSize(t.dims)
  // TensorProto.external_data (field 13, length-delimited → first tag byte 13·8+2 = 106).
  if (!t.rawData && t.unknown.some((u) => u[0] === 106)) {
    throw new SegError('UNSUPPORTED', `initializer '${t.name}' keeps its data in an external file; save the model with its weights inside`)
  }
  if (t.dataType === DataType.FLOAT) {
    let data: Float32Array
    if (t.rawData) data = new Float32Array(alignedCopy(t.rawData))
    else data = Float32Array.from(t.floatData ?? [])
    if (data.length !== n) throw badTensor(t, data.length)
    return { dims: [...t.dims], data }
  }
  if (t.dataType === DataType.INT64) {
    let data: BigInt64Array
    if (t.rawData) data = new BigInt64Array(alignedCopy(t.rawData))
    else data = BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v)))
    if (data.length !== n) throw badTensor(t, data.length)
    return { dims: [...t.dims], data }
  }
  throw new SegError('UNSUPPORTED', `initializer '${t.name}' has ONNX data type ${t.dataType}; only float32 and int64 are read`)
}

/**
 * A fresh, aligned copy of the bytes' own range. (Not `.slice()`: on a Node Buffer that returns a
 * view into the shared pool, whose `.buffer` is larger than the tensor.)
 */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

function badTensor(t: OnnxTensor, got: number): SegError {
  return new SegError('CORRUPT_FILE', `initializer '${t.name}' holds ${got} values for dims [${t.dims}]`)
}

/** All float32/int64 initializers of a graph as a StateDict, in graph order. */
export function initializersOf(graph: OnnxGraph): StateDict {
  const out: StateDict = new Map()
  for (const t of graph.initializers) out.set(t.name, fromOnnxTensor(t))
  return out
}

/** The dims of a graph input/output (null entries = unknown), or undefined when rank is unknown. */
export function shapeOf(v: ValueInfo): Dim[] | undefined {
  return v.tensorType?.shape
}

function toAttribute(name: string, v: AttrValue): OnnxAttribute {
  const a: OnnxAttribute = { name, type: 0, unknown: [] }
  if (typeof v === 'number') {
    if (Number.isInteger(v)) Object.assign(a, { type: AttrType.INT, i: v })
    else Object.assign(a, { type: AttrType.FLOAT, f: v })
  } else if (typeof v === 'string') Object.assign(a, { type: AttrType.STRING, s: utf8.encode(v) })
  else if (Array.isArray(v)) {
    if (v.every(Number.isInteger)) Object.assign(a, { type: AttrType.INTS, ints: [...v] })
    else Object.assign(a, { type: AttrType.FLOATS, floats: [...v] })
  } else if ('kind' in v && v.kind === 'float') Object.assign(a, { type: AttrType.FLOAT, f: v.value })
  else if ('kind' in v && v.kind === 'floats') Object.assign(a, { type: AttrType.FLOATS, floats: [...v.value] })
  else Object.assign(a, { type: AttrType.TENSOR, t: toOnnxTensor('', v as Tensor) })
  return a
}

/** `dims` null = rank unknown (no shape recorded). */
function valueInfo(name: string, elem: ElemType, dims: readonly Dim[] | null): ValueInfo {
  return { name, tensorType: { elemType: ELEM[elem], shape: dims ? [...dims] : undefined, unknown: [] }, unknown: [] }
}

export interface ModelOptions {
  opset: number
  producer?: string
  producerVersion?: string
  /** Defaults to 8 (the IR version of opset 17). */
  irVersion?: number
  docString?: string
  metadata?: Record<string, string>
}

/** Accumulates a graph; names must be unique across initializers and node outputs. */
export class GraphBuilder {
  readonly graph: OnnxGraph
  private names = new Set<string>()
  private counter = 0

  constructor(name = 'main') {
    this.graph = { name, nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], unknown: [] }
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new SegError('BAD_ARGUMENT', `ONNX graph name '${name}' is defined twice`)
    this.names.add(name)
  }

  /** True when `name` is already an input, initializer or node output. */
  has(name: string): boolean {
    return this.names.has(name)
  }

  /** A fresh value name with the given prefix (for intermediate outputs). */
  fresh(prefix: string): string {
    let n: string
    do n = `${prefix}_${this.counter++}`
    while (this.names.has(n))
    return n
  }

  input(name: string, elem: ElemType, dims: readonly Dim[]): this {
    this.claim(name)
    this.graph.inputs.push(valueInfo(name, elem, dims))
    return this
  }

  /** A graph output; `dims` null leaves its shape to the runtime. */
  output(name: string, elem: ElemType, dims: readonly Dim[] | null): this {
    this.graph.outputs.push(valueInfo(name, elem, dims))
    return this
  }

  initializer(name: string, tensor: Tensor): this {
    this.claim(name)
    this.graph.initializers.push(toOnnxTensor(name, tensor))
    return this
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, name?: string): this {
    for (const o of outputs) this.claim(o)
    const node: OnnxNode = {
      inputs: [...inputs], outputs: [...outputs], name: name ?? `${opType}_${this.graph.nodes.length}`,
      opType, domain: '', unknown: [],
      attributes: Object.entries(attrs).map(([k, v]) => toAttribute(k, v))
    }
    this.graph.nodes.push(node)
    return this
  }

  /**
   * Copies nodes and initializers of another (decoded) graph in as they are, claiming their names,
   * so that nodes added afterwards can read their outputs (e.g. a frozen network body).
   */
  include(nodes: readonly OnnxNode[], initializers: readonly OnnxTensor[]): this {
    for (const t of initializers) {
      this.claim(t.name)
      this.graph.initializers.push(t)
    }
    for (const n of nodes) {
      for (const o of n.outputs) this.claim(o)
      this.graph.nodes.push(n)
    }
    return this
  }

  /** The model as a decoded structure (for inspection or further editing). */
  toModelProto(opts: ModelOptions): OnnxModel {
    return {
      irVersion: opts.irVersion ?? 8,
      opsetImport: [{ domain: '', version: opts.opset }],
      producerName: opts.producer ?? 'segtransfer',
      producerVersion: opts.producerVersion ?? '',
      domain: '',
      modelVersion: 0,
      docString: opts.docString ?? '',
      graph: this.graph,
      metadata: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      unknown: []
    }
  }

  /** Serialized ModelProto bytes. */
  toModel(opts: ModelOptions): Uint8Array {
    return encodeModel(this.toModelProto(opts))
  }
}
