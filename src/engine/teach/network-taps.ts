/**
 * Network features: taps on the base bundle's own ONNX graph. The nodes that compute the tapped
 * values (the decoder's last feature map, optionally encoder stage outputs) are copied unchanged
 * (frozen) into a new graph; each tap is resized to the input's spatial size (linear, half-pixel: as
 * the base's own segmentation head is upsampled) and the taps are concatenated along channels.
 * The same builder makes the graph training reads the taps from and the baked bundle's body.
 */
import { SegError } from '../errors'
import { GraphBuilder } from '../onnx/graph'
import type { OnnxGraph, OnnxModel, OnnxNode } from '../onnx/proto'

/** The tap name that means "the decoder's last feature map" (the input of the segmentation head). */
export const DECODER_TAP = 'decoder'

/** Ops that only resize or squash the head's scores between its Conv and the graph output. */
const PASS_THROUGH = new Set(['Resize', 'Upsample', 'Identity', 'Softmax', 'Sigmoid'])

function producers(graph: OnnxGraph): Map<string, OnnxNode> {
  const by = new Map<string, OnnxNode>()
  for (const n of graph.nodes) for (const o of n.outputs) by.set(o, n)
  return by
}

/**
 * The decoder's last feature map: walking back from `output` over Resize/Identity/Softmax/Sigmoid nodes, the data
 * input of the first node, which must be a Conv with a 1×1×1 kernel (the segmentation head;
 * Softmax/Sigmoid after it are passed too).
 * @throws SegError UNSUPPORTED when the graph does not end that way (no tappable decoder map).
 */
export function decoderTapOf(graph: OnnxGraph, output: string, bundleName: string): string {
  const by = producers(graph)
  let node = by.get(output)
  while (node && PASS_THROUGH.has(node.opType)) node = by.get(node.inputs[0])
  const weight = node?.opType === 'Conv' ? graph.initializers.find((t) => t.name === node!.inputs[1]) : undefined
  if (!node || !weight || weight.dims.length !== 5 || weight.dims.slice(2).some((d) => d !== 1)) {
    const found = node ? `a ${node.opType}${weight ? ` with kernel ${weight.dims.slice(2).join('×')}` : ''}` : 'no node'
    throw new SegError('UNSUPPORTED', `base bundle '${bundleName}' has no decoder feature map to tap: its output '${output}' comes from ${found}; expected a segmentation head (Conv 1×1×1, optionally resized) on the decoder's last feature map`)
  }
  return node.inputs[0]
}

/**
 * The graph values to tap: `decoder` → decoderTapOf; any other name must be a node output of the
 * base graph (e.g. an encoder stage's output, 'layer1.0/Relu_0').
 */
export function resolveTaps(graph: OnnxGraph, output: string, taps: readonly string[], bundleName: string): string[] {
  const by = producers(graph)
  return taps.map((t) => {
    if (t === DECODER_TAP) return decoderTapOf(graph, output, bundleName)
    if (!by.has(t)) throw new SegError('BAD_ARGUMENT', `tap '${t}' is not a value computed in the graph of '${bundleName}'; expected '${DECODER_TAP}' or a node output name`)
    return t
  })
}

/** The base graph's nodes (in graph order) and initializers that `values` depend on. */
function subgraphFor(graph: OnnxGraph, values: readonly string[]): Pick<OnnxGraph, 'nodes' | 'initializers'> {
  const needed = new Set(values)
  const keep: OnnxNode[] = []
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]
    if (!n.outputs.some((o) => needed.has(o))) continue
    keep.push(n)
    for (const x of n.inputs) if (x) needed.add(x)
  }
  return { nodes: keep.reverse(), initializers: graph.initializers.filter((t) => needed.has(t.name)) }
}

/**
 * Adds the frozen body computing `taps` (values of `base`'s graph, resolved by resolveTaps) to `g`,
 * which must already declare the base's input under its own name, and returns one value
 * [N, C, d0, d1, d2]: every tap resized to the input's spatial size, concatenated in `taps` order.
 */
export function addNetworkTaps(g: GraphBuilder, base: OnnxModel, input: string, taps: readonly string[]): string {
  const body = subgraphFor(base.graph, taps)
  g.include(body.nodes, body.initializers)
  const spatial = g.fresh('taps_spatial')
  g.node('Shape', [input], [spatial], { start: 2 })
  const resized = taps.map((t) => {
    const head = g.fresh('tap_nc')
    g.node('Shape', [t], [head], { start: 0, end: 2 })
    const sizes = g.fresh('tap_sizes')
    g.node('Concat', [head, spatial], [sizes], { axis: 0 })
    const out = g.fresh('tap_resized')
    g.node('Resize', [t, '', '', sizes], [out], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
    return out
  })
  if (resized.length === 1) return resized[0]
  const out = g.fresh('taps')
  g.node('Concat', resized, [out], { axis: 1 })
  return out
}

export const TAPS_OUTPUT = 'taps'

/** The tap graph alone: the base's input [N, C, d0, d1, d2] → `taps` [N, F, d0, d1, d2] (training reads it). */
export function buildTapGraph(base: OnnxModel, baseInput: string, channels: number, taps: readonly string[], opset: number): Uint8Array {
  const g = new GraphBuilder('teach_taps')
  g.input(baseInput, 'float32', ['N', channels, 'D', 'H', 'W'])
  const out = addNetworkTaps(g, base, baseInput, taps)
  g.node('Identity', [out], [TAPS_OUTPUT])
  g.output(TAPS_OUTPUT, 'float32', null)
  return g.toModel({ opset })
}
