/**
 * Static shape propagation through an ONNX graph for concrete input sizes, for the ops the
 * SegTransfer architectures and common exported CNNs use: Conv, ConvTranspose, MaxPool,
 * AveragePool, Global*Pool, BatchNormalization and other elementwise/unary ops, broadcasting
 * binary ops, Concat, Flatten, Gemm, MatMul, Reshape, Resize (sizes or scales), Shape, Constant,
 * Gather, Unsqueeze, Squeeze, Cast, Identity. Small int64 tensors produced by Shape/Concat/… are
 * tracked by value so dynamic Resize sizes resolve. Unsupported ops leave their outputs unknown.
 */
import { SegError } from '../errors'
import { fromOnnxTensor } from './graph'
import { DataType, type OnnxAttribute, type OnnxGraph, type OnnxNode } from './proto'

export interface ShapeInfo {
  /** Value name → concrete shape (absent when it could not be inferred). */
  shapes: Map<string, number[]>
  /** Value name → contents, for small integer tensors (shape vectors, sizes, axes). */
  values: Map<string, number[]>
}

export function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name)
}
export const attrInts = (n: OnnxNode, name: string): number[] | undefined => attr(n, name)?.ints
export const attrInt = (n: OnnxNode, name: string, dflt: number): number => attr(n, name)?.i ?? dflt
const attrString = (n: OnnxNode, name: string): string | undefined => {
  const s = attr(n, name)?.s
  return s ? new TextDecoder().decode(s) : undefined
}

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1)
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis)

function broadcast(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length))
  const out: number[] = []
  for (let i = 0; i < rank; i++) {
    let d = 1
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new SegError('MODEL_MISMATCH', `shapes [${shapes.join('] [')}] do not broadcast`)
        d = v
      }
    }
    out.push(d)
  }
  return out
}

/** Output spatial sizes of a sliding window (Conv, pools). */
function windowed(node: OnnxNode, x: number[], kernel: number[]): number[] {
  const n = kernel.length
  const strides = attrInts(node, 'strides') ?? Array(n).fill(1)
  const dil = attrInts(node, 'dilations') ?? Array(n).fill(1)
  const pads = attrInts(node, 'pads') ?? Array(2 * n).fill(0)
  const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET'
  const ceil = attrInt(node, 'ceil_mode', 0) === 1
  return kernel.map((k, i) => {
    const size = x[2 + i]
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / strides[i])
    const ek = dil[i] * (k - 1) + 1
    const span = size + (autoPad === 'VALID' ? 0 : pads[i] + pads[i + n]) - ek
    return (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1
  })
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Identity', 'Dropout', 'Clip', 'Elu',
  'Selu', 'PRelu', 'HardSigmoid', 'HardSwish', 'Gelu', 'Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Softplus',
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Cast', 'Not', 'Reciprocal'
])
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Where', 'Equal', 'Greater', 'Less'])

/** Propagates shapes from the given graph-input shapes through every node, in graph order. */
export function inferShapes(graph: OnnxGraph, inputShapes: Record<string, number[]>): ShapeInfo {
  const shapes = new Map<string, number[]>()
  const values = new Map<string, number[]>()
  for (const t of graph.initializers) {
    shapes.set(t.name, [...t.dims])
    if ((t.dataType === DataType.INT64 || t.dataType === DataType.FLOAT) && prod(t.dims) <= 16) {
      values.set(t.name, Array.from(fromOnnxTensor(t).data, Number))
    }
  }
  for (const [k, v] of Object.entries(inputShapes)) shapes.set(k, [...v])
  for (const node of graph.nodes) {
    try {
      inferNode(node, shapes, values)
    } catch (e) {
      if (e instanceof SegError) throw new SegError(e.code, `${node.name || node.opType}: ${e.message}`)
      throw e
    }
  }
  return { shapes, values }
}

function inferNode(node: OnnxNode, shapes: Map<string, number[]>, values: Map<string, number[]>): void {
  const ins = node.inputs.map((i) => (i ? shapes.get(i) : undefined))
  const vals = node.inputs.map((i) => (i ? values.get(i) : undefined))
  const x = ins[0]
  const set = (s: number[] | undefined, v?: number[]) => {
    if (s) shapes.set(node.outputs[0], s)
    if (v) values.set(node.outputs[0], v)
  }
  const op = node.opType
  if (op === 'Constant') {
    const t = attr(node, 'value')?.t
    if (t) set([...t.dims], prod(t.dims) <= 16 ? Array.from(fromOnnxTensor(t).data, Number) : undefined)
    return
  }
  if (op === 'Shape') {
    if (!x) return
    const start = normAxis(attrInt(node, 'start', 0), x.length)
    const end = normAxis(attr(node, 'end')?.i ?? x.length, x.length)
    const v = x.slice(Math.max(0, start), Math.min(x.length, end))
    return set([v.length], v)
  }
  if (!x && op !== 'Concat') return
  switch (op) {
    case 'Conv': {
      const w = ins[1]
      if (!w) return
      return set([x![0], w[0], ...windowed(node, x!, w.slice(2))])
    }
    case 'ConvTranspose': {
      const w = ins[1]
      if (!w) return
      const k = w.slice(2)
      const n = k.length
      const s = attrInts(node, 'strides') ?? Array(n).fill(1)
      const d = attrInts(node, 'dilations') ?? Array(n).fill(1)
      const p = attrInts(node, 'pads') ?? Array(2 * n).fill(0)
      const op_ = attrInts(node, 'output_padding') ?? Array(n).fill(0)
      const sp = k.map((kk, i) => s[i] * (x![2 + i] - 1) + op_[i] + (kk - 1) * d[i] + 1 - p[i] - p[i + n])
      return set([x![0], w[1] * attrInt(node, 'group', 1), ...sp])
    }
    case 'MaxPool':
    case 'AveragePool':
      return set([x![0], x![1], ...windowed(node, x!, attrInts(node, 'kernel_shape')!)])
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return set([x![0], x![1], ...x!.slice(2).map(() => 1)])
    case 'Flatten': {
      const a = normAxis(attrInt(node, 'axis', 1), x!.length)
      return set([prod(x!.slice(0, a)), prod(x!.slice(a))])
    }
    case 'Gemm': {
      const b = ins[1]
      if (!b) return
      const m = attrInt(node, 'transA', 0) ? x![1] : x![0]
      return set([m, attrInt(node, 'transB', 0) ? b[0] : b[1]])
    }
    case 'MatMul': {
      const b = ins[1]
      if (!b) return
      const batch = broadcast([x!.slice(0, -2), b.slice(0, -2)])
      return set([...batch, x![x!.length - 2], b[b.length - 1]])
    }
    case 'Concat': {
      if (ins.some((s) => !s)) return
      const a = normAxis(attrInt(node, 'axis', 0), ins[0]!.length)
      const out = [...ins[0]!]
      out[a] = ins.reduce((acc, s) => acc + s![a], 0)
      const v = vals.every((q) => q) && ins[0]!.length === 1 ? vals.flatMap((q) => q!) : undefined
      return set(out, v)
    }
    case 'Resize':
    case 'Upsample': {
      const sizes = op === 'Resize' ? vals[3] : undefined
      const scales = op === 'Resize' ? vals[2] : vals[1]
      if (sizes && sizes.length === x!.length) return set([...sizes])
      if (scales && scales.length === x!.length) return set(x!.map((d, i) => Math.floor(d * scales[i])))
      return
    }
    case 'Reshape': {
      const target = vals[1]
      if (!target) return
      const out = target.map((d, i) => (d === 0 ? x![i] : d))
      const known = prod(out.filter((d) => d !== -1))
      return set(out.map((d) => (d === -1 ? prod(x!) / known : d)))
    }
    case 'Gather': {
      const idx = vals[1]
      const a = normAxis(attrInt(node, 'axis', 0), x!.length)
      const ishape = ins[1] ?? []
      const v = vals[0] && idx && x!.length === 1 ? idx.map((i) => vals[0]![normAxis(i, x![0])]) : undefined
      return set([...x!.slice(0, a), ...ishape, ...x!.slice(a + 1)], v)
    }
    case 'Unsqueeze': {
      const axes = vals[1] ?? attrInts(node, 'axes')
      if (!axes) return
      const out = [...x!]
      const rank = out.length + axes.length
      for (const a of axes.map((q) => normAxis(q, rank)).sort((p, q) => p - q)) out.splice(a, 0, 1)
      return set(out, vals[0])
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax': {
      if (node.inputs[1] && !vals[1]) return // axes given as a tensor whose values are not known here
      const axes = (vals[1] ?? attrInts(node, 'axes'))?.map((a) => normAxis(a, x!.length)) ?? x!.map((_, i) => i)
      return set(attrInt(node, 'keepdims', 1) ? x!.map((d, i) => (axes.includes(i) ? 1 : d)) : x!.filter((_, i) => !axes.includes(i)))
    }
    case 'Squeeze': {
      const axes = (vals[1] ?? attrInts(node, 'axes'))?.map((a) => normAxis(a, x!.length))
      return set(x!.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)), vals[0])
    }
    default:
      if (UNARY.has(op)) return set([...x!], op === 'Cast' || op === 'Identity' ? vals[0] : undefined)
      if (BINARY.has(op)) {
        if (ins.some((s) => !s)) return
        return set(broadcast(ins as number[][]))
      }
  }
}
