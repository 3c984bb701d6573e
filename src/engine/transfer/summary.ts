/**
 * A torchinfo-like summary of an ONNX model for a given input size.
 *
 * Layers: nodes are grouped by module path — the part of the node name before the last '/'
 * (SegTransfer's builders name nodes `<state_dict prefix>/<Op>`; PyTorch-exported names such as
 * `/layer1/layer1.0/conv1/Conv` are folded to `layer1.0.conv1`); nodes without a path take the
 * prefix of their first weight's name. Each path and its ancestors (stem, stem.0, stem.0.conv…)
 * become rows, down to `maxDepth` levels (deeper rows are folded into their ancestor).
 * A row's output shape is that of the last node of its subtree (graph order).
 *
 * Conventions (the same as test/fixtures/transfer/make_fixtures.py):
 * - Parameters are what PyTorch's `model.parameters()` holds: conv/linear weights and biases, norm
 *   weights and biases. BN running mean/var (and num_batches_tracked) are buffers, not counted.
 *   An initializer used by several nodes (a shared encoder) counts once, at its first use; later
 *   rows that only reuse counted parameters are marked "(recursive)" as torchinfo does.
 * - Mult-adds: Conv = output elements × (in/groups) × kernel volume; ConvTranspose = input
 *   elements × (out/groups) × kernel volume; Gemm/MatMul = output elements × inner dim; everything
 *   else (BN, activations, pooling, resize, concat, add) 0. Biases are not counted.
 * - Sizes in MB = bytes / 1e6, float32: input; forward pass = every float node output once (an
 *   upper bound of what inference holds; no backward half); params = parameters × 4; estimated
 *   total = input + forward pass + params.
 * - Trainable: a parameter is frozen when its name equals a frozen prefix or starts with
 *   `<prefix>.`; a row is True/False/Partial (or -- without parameters).
 */
import { SegError } from '../errors'
import { type OnnxModel, type OnnxNode, DataType, decodeModel } from '../onnx/proto'
import { attr, inferShapes } from '../onnx/shapes'

export interface SummaryOptions {
  /** Parameter-name prefixes that are frozen (e.g. ['stem', 'layer1']). */
  frozen?: string[]
  /** Rows shown down to this depth (1 = top-level modules). Default 3, like torchinfo. */
  maxDepth?: number
}

export interface SummaryRow {
  path: string
  depth: number
  outputShape: number[] | null
  params: number
  trainableParams: number
  kernelSize: number[] | null
  multAdds: number
  trainable: 'True' | 'False' | 'Partial' | '--'
  recursive: boolean
}

export interface ModelSummary {
  inputShape: number[]
  outputs: { name: string; shape: number[] | null }[]
  rows: SummaryRow[]
  totalParams: number
  trainableParams: number
  nonTrainableParams: number
  /** BN running statistics (float buffers; not parameters). */
  bufferElements: number
  totalMultAdds: number
  inputSizeMB: number
  forwardPassSizeMB: number
  paramsSizeMB: number
  estimatedTotalMB: number
}

/** Input indices of an op that hold trainable parameters / buffers. */
const PARAM_SLOTS: Record<string, number[]> = {
  Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [1, 2], MatMul: [1], BatchNormalization: [1, 2],
  InstanceNormalization: [1, 2], LayerNormalization: [1, 2], PRelu: [1], Add: [0, 1], Mul: [0, 1]
}
const BUFFER_SLOTS: Record<string, number[]> = { BatchNormalization: [3, 4] }

/** `/layer1/layer1.0/conv1/Conv` → `layer1.0.conv1`; `stem.0.conv/Conv` → `stem.0.conv`. */
export function modulePathOf(node: OnnxNode, paramNames: string[]): string {
  const cut = node.name.lastIndexOf('/')
  if (cut > 0 || (cut === 0 && node.name.indexOf('/', 1) > 0)) {
    let acc = ''
    for (const seg of node.name.slice(0, cut).split('/').filter(Boolean)) {
      acc = acc && seg.startsWith(`${acc}.`) ? seg : acc ? `${acc}.${seg}` : seg
    }
    if (acc) return acc
  }
  if (paramNames.length) {
    const p = paramNames[0]
    return p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : p
  }
  return node.name || node.opType
}

export const isFrozen = (name: string, frozen: readonly string[]): boolean =>
  frozen.some((p) => name === p || name.startsWith(`${p}.`))

function nodeMultAdds(node: OnnxNode, shapes: Map<string, number[]>): number {
  const out = shapes.get(node.outputs[0])
  const w = shapes.get(node.inputs[1])
  if (!out || !w) return 0
  const size = out.reduce((a, b) => a * b, 1)
  const kvol = w.slice(2).reduce((a, b) => a * b, 1)
  switch (node.opType) {
    case 'Conv':
      return size * w[1] * kvol
    case 'ConvTranspose': {
      const x = shapes.get(node.inputs[0])
      return x ? x.reduce((a, b) => a * b, 1) * w[1] * kvol : 0
    }
    case 'Gemm':
      return size * (attr(node, 'transB')?.i ? w[1] : w[0])
    case 'MatMul':
      return size * w[w.length - 2]
    default:
      return 0
  }
}

/** Summarizes a model (bytes or decoded) for the given input shape [N, C, D, H, W]. */
export function summarizeModel(model: Uint8Array | OnnxModel, inputShape: number[], opts: SummaryOptions = {}): ModelSummary {
  const m = model instanceof Uint8Array ? decodeModel(model) : model
  const g = m.graph
  const frozen = opts.frozen ?? []
  const maxDepth = opts.maxDepth ?? 3
  const inits = new Map(g.initializers.map((t) => [t.name, t]))
  const input = g.inputs.find((v) => !inits.has(v.name))
  if (!input) throw new SegError('BAD_ARGUMENT', 'the model has no graph input')
  const { shapes, values } = inferShapes(g, { [input.name]: inputShape })
  const numel = (name: string) => (inits.get(name)?.dims ?? []).reduce((a, b) => a * b, 1)

  const rows = new Map<string, SummaryRow>()
  const rowParams = new Map<string, Set<string>>()
  const rowConvs = new Map<string, number>()
  const counted = new Set<string>()
  const buffers = new Set<string>()
  let forwardElements = 0
  for (const node of g.nodes) {
    const slots = PARAM_SLOTS[node.opType] ?? []
    const params = slots.map((i) => node.inputs[i]).filter((n) => n && inits.get(n)?.dataType === DataType.FLOAT)
    for (const i of BUFFER_SLOTS[node.opType] ?? []) if (inits.has(node.inputs[i])) buffers.add(node.inputs[i])
    const fresh = params.filter((p) => !counted.has(p))
    fresh.forEach((p) => counted.add(p))
    const out = shapes.get(node.outputs[0]) ?? null
    // Activations only: small integer tensors (shape vectors, sizes) are tracked by value.
    if (out && !values.has(node.outputs[0])) forwardElements += out.reduce((a, b) => a * b, 1)
    const segs = modulePathOf(node, params).split('.')
    const isConv = node.opType === 'Conv' || node.opType === 'ConvTranspose'
    const multAdds = nodeMultAdds(node, shapes)
    for (let d = 1; d <= Math.min(segs.length, maxDepth); d++) {
      const path = segs.slice(0, d).join('.')
      let row = rows.get(path)
      if (!row) {
        row = { path, depth: d - 1, outputShape: null, params: 0, trainableParams: 0, kernelSize: null, multAdds: 0, trainable: '--', recursive: false }
        rows.set(path, row)
        rowParams.set(path, new Set())
      }
      for (const p of params) rowParams.get(path)!.add(p)
      for (const p of fresh) {
        row.params += numel(p)
        if (!isFrozen(p, frozen)) row.trainableParams += numel(p)
      }
      row.multAdds += multAdds
      if (out) row.outputShape = out
      if (isConv) {
        rowConvs.set(path, (rowConvs.get(path) ?? 0) + 1)
        row.kernelSize = shapes.get(node.inputs[1])?.slice(2) ?? null
      }
    }
  }
  for (const [path, row] of rows) {
    const ps = [...rowParams.get(path)!]
    const nFrozen = ps.filter((p) => isFrozen(p, frozen)).length
    row.trainable = ps.length === 0 ? '--' : nFrozen === 0 ? 'True' : nFrozen === ps.length ? 'False' : 'Partial'
    // Kernel shown for rows holding exactly one convolution; recursive = only reused parameters.
    if (rowConvs.get(path) !== 1) row.kernelSize = null
    row.recursive = ps.length > 0 && row.params === 0
  }
  const totalParams = [...counted].reduce((a, p) => a + numel(p), 0)
  const trainableParams = [...counted].filter((p) => !isFrozen(p, frozen)).reduce((a, p) => a + numel(p), 0)
  const totalMultAdds = g.nodes.reduce((a, n) => a + nodeMultAdds(n, shapes), 0)
  const mb = (elements: number) => (elements * 4) / 1e6
  const inputSizeMB = mb(inputShape.reduce((a, b) => a * b, 1))
  const forwardPassSizeMB = mb(forwardElements)
  const paramsSizeMB = mb(totalParams)
  return {
    inputShape: [...inputShape],
    outputs: g.outputs.map((o) => ({ name: o.name, shape: shapes.get(o.name) ?? null })),
    rows: [...rows.values()],
    totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams,
    bufferElements: [...buffers].reduce((a, p) => a + numel(p), 0),
    totalMultAdds, inputSizeMB, forwardPassSizeMB, paramsSizeMB,
    estimatedTotalMB: inputSizeMB + forwardPassSizeMB + paramsSizeMB
  }
}

const fmtInt = (n: number) => n.toLocaleString('en-US')
const fmtShape = (s: number[] | null) => (s ? `[${s.join(', ')}]` : '--')

/** Mult-adds in torchinfo's style: 1.23 G / 45.6 M / 789 K. */
export function formatMultAdds(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  return fmtInt(n)
}

/** A torchinfo-style text table. */
export function formatSummary(s: ModelSummary): string {
  const header = ['Layer (type:depth-idx)', 'Output Shape', 'Param #', 'Kernel Shape', 'Mult-Adds', 'Trainable']
  const body = s.rows.map((r) => [
    `${r.depth ? `${'│    '.repeat(r.depth - 1)}└─` : ''}${r.path.split('.').pop()}: ${r.depth + 1}`,
    fmtShape(r.outputShape),
    r.recursive ? '(recursive)' : r.params === 0 ? '--' : r.params === r.trainableParams ? fmtInt(r.params) : `(${fmtInt(r.params)})`,
    r.kernelSize ? `[${r.kernelSize.join(', ')}]` : '--',
    r.multAdds ? fmtInt(r.multAdds) : '--',
    r.trainable
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const total = widths.reduce((a, b) => a + b + 2, -2)
  const rule = '='.repeat(total)
  const mbs = (x: number) => x.toFixed(2)
  return [
    rule, line(header), rule, ...body.map(line), rule,
    `Total params: ${fmtInt(s.totalParams)}`,
    `Trainable params: ${fmtInt(s.trainableParams)}`,
    `Non-trainable params: ${fmtInt(s.nonTrainableParams)}`,
    `Total mult-adds: ${formatMultAdds(s.totalMultAdds)}`,
    rule,
    `Input size (MB): ${mbs(s.inputSizeMB)}`,
    `Forward pass size (MB): ${mbs(s.forwardPassSizeMB)}`,
    `Params size (MB): ${mbs(s.paramsSizeMB)}`,
    `Estimated Total Size (MB): ${mbs(s.estimatedTotalMB)}`,
    rule
  ].join('\n')
}
