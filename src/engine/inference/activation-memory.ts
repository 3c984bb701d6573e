/**
 * The network's own working memory inside onnxruntime, from its graph: the peak, over the nodes in
 * their stored (topological) order, of the bytes of the tensors alive at once. A tensor lives from
 * the node that makes it to its last reader (graph outputs to the end); shapes come from
 * onnx/shapes.ts for the actual input dims. onnxruntime's planner reuses buffers by the same
 * liveness, so this is the size of its activation arena, give or take alignment.
 */
import { inferShapes } from '../onnx/shapes'
import type { OnnxGraph } from '../onnx'

/** Bytes per element assumed for every intermediate (float32; the int64 shape tensors are tiny). */
const ELEMENT_BYTES = 4

/**
 * Peak bytes of the intermediate tensors of `graph` run on an input of `dims` ([N, C, d0, d1, d2]).
 * A tensor whose shape cannot be inferred (an op shapes.ts does not know) is taken as large as the
 * largest input of the node that makes it; when inference fails altogether, null.
 */
export function peakActivationBytes(graph: OnnxGraph, inputName: string, dims: readonly number[]): number | null {
  let shapes: Map<string, number[]>
  try {
    shapes = inferShapes(graph, { [inputName]: [...dims] }).shapes
  } catch {
    return null
  }
  const weights = new Set(graph.initializers.map((t) => t.name))
  const lastUse = new Map<string, number>()
  graph.nodes.forEach((node, i) => node.inputs.forEach((v) => lastUse.set(v, i)))
  for (const o of graph.outputs) lastUse.set(o.name, graph.nodes.length)
  const known = (v: string): number | undefined => {
    const s = shapes.get(v)
    return s ? s.reduce((a, b) => a * b, 1) * ELEMENT_BYTES : undefined
  }
  const alive = new Map<string, number>([[inputName, known(inputName) ?? 0]])
  let live = alive.get(inputName)!
  let peak = live
  graph.nodes.forEach((node, i) => {
    const widest = Math.max(0, ...node.inputs.map((v) => (weights.has(v) ? 0 : alive.get(v) ?? 0)))
    for (const out of node.outputs) {
      if (!out) continue
      const bytes = known(out) ?? widest
      alive.set(out, bytes)
      live += bytes
    }
    peak = Math.max(peak, live)
    for (const v of new Set([...node.inputs, ...node.outputs])) {
      if ((lastUse.get(v) ?? -1) <= i && alive.has(v)) {
        live -= alive.get(v)!
        alive.delete(v)
      }
    }
  })
  return peak
}
