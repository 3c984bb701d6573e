/**
 * Baking: the filter bank and the trained head become one ONNX graph (the head as 1×1×1
 * convolutions, the feature standardisation folded into the first), so `segment()` runs the taught
 * model like any other bundle, with nothing computed outside the graph.
 */
import { GraphBuilder } from '../onnx/graph'
import { addFilterBank, featureNames, filterRadius, type FilterBankSpec } from './filter-bank'
import { FEATURE_INPUT, FEATURE_OUTPUT, type FeatureGraph } from './features'
import type { Head } from './head'
import { addNetworkTaps } from './network-taps'
import { TEACH_OPSET, type NetworkTaps } from './network'

export const BAKED_INPUT = 'input'
export const BAKED_OUTPUT = 'logits'

/** A dense layer in float32 as baked: y = W x + b, W row-major [out × in]. */
export interface BakedLayer {
  in: number
  out: number
  W: Float32Array
  b: Float32Array
}

/**
 * The head's layers in float32 with the standardisation folded into the first one:
 * W' = W / sd, b' = b − W' · mean. The in-memory prediction uses these same numbers.
 */
export function foldHead(head: Head): BakedLayer[] {
  return head.layers.map((L, l) => {
    const W = new Float32Array(L.W.length)
    const b = new Float32Array(L.out)
    for (let o = 0; o < L.out; o++) {
      let shift = L.b[o]
      for (let i = 0; i < L.in; i++) {
        const w = l === 0 ? L.W[o * L.in + i] / head.sd[i] : L.W[o * L.in + i]
        W[o * L.in + i] = w
        if (l === 0) shift -= w * head.mean[i]
      }
      b[o] = shift
    }
    return { in: L.in, out: L.out, W, b }
  })
}

const spatialDims = ['d0', 'd1', 'd2']

/**
 * The feature graph alone: `image` [1,1,d0,d1,d2] → `features` [1,F,d0,d1,d2]; `centred`: the
 * features of the centre plane only of a [1,1,2·halo+1,d1,d2] input (training on labelled slices).
 */
export function buildFeatureGraph(spec: FilterBankSpec, centred = false): FeatureGraph {
  const g = new GraphBuilder('teach_features')
  const halo = filterRadius(spec)
  g.input(FEATURE_INPUT, 'float32', [1, 1, ...spatialDims])
  const f = addFilterBank(g, FEATURE_INPUT, spec, 'fb', centred ? halo : undefined)
  const count = featureNames(spec).length
  g.node('Identity', [f], [FEATURE_OUTPUT])
  g.output(FEATURE_OUTPUT, 'float32', [1, count, centred ? 1 : 'd0', 'd1', 'd2'])
  return { onnx: g.toModel({ opset: TEACH_OPSET }), count, halo }
}

/**
 * Filter bank + head: `input` [N,1,d0,d1,d2] → `logits` [N,K,d0,d1,d2] (other names for the
 * in-memory preview, which runs this same graph by slabs).
 */
export function buildBakedGraph(spec: FilterBankSpec, layers: BakedLayer[], docString: string, names = { input: BAKED_INPUT, output: BAKED_OUTPUT }): Uint8Array {
  return buildNetworkBakedGraph(names.input, undefined, spec, layers, docString, names.output)
}

/** The head as 1×1×1 convolutions (ReLU between) on `features`, writing `output` [N, K, d0, d1, d2]. */
function addHead(g: GraphBuilder, features: string, layers: BakedLayer[], output: string): void {
  let x = features
  layers.forEach((L, l) => {
    const w = `head${l}_weight`
    const b = `head${l}_bias`
    g.initializer(w, { dims: [L.out, L.in, 1, 1, 1], data: L.W })
    g.initializer(b, { dims: [L.out], data: L.b })
    const last = l === layers.length - 1
    const y = last ? output : g.fresh(`head${l}_out`)
    g.node('Conv', [x, w, b], [y], { kernel_shape: [1, 1, 1] })
    x = y
    if (!last) {
      const r = g.fresh(`head${l}_relu`)
      g.node('Relu', [x], [r])
      x = r
    }
  })
  g.output(output, 'float32', ['N', layers[layers.length - 1].out, ...spatialDims])
}

/**
 * The frozen base body (its nodes up to the taps; optional) + the filter bank (optional) + the head,
 * in one graph: the base's input [N,1,d0,d1,d2] in the base's tensor order → `logits` [N,K,d0,d1,d2].
 * Features are concatenated as in training: filter bank first (`spec` in tensor order), then the taps.
 */
export function buildNetworkBakedGraph(input: string, net: Pick<NetworkTaps, 'base' | 'taps'> | undefined, spec: FilterBankSpec | undefined, layers: BakedLayer[], docString: string, output = BAKED_OUTPUT): Uint8Array {
  const g = new GraphBuilder('teach')
  g.input(input, 'float32', ['N', 1, ...spatialDims])
  const parts = spec ? [addFilterBank(g, input, spec)] : []
  if (net) parts.push(addNetworkTaps(g, net.base, input, net.taps))
  let features = parts[0]
  if (parts.length > 1) {
    features = g.fresh('features')
    g.node('Concat', parts, [features], { axis: 1 })
  }
  addHead(g, features, layers, output)
  return g.toModel({ opset: TEACH_OPSET, docString })
}
