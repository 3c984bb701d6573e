/**
 * Edits on serialized ONNX models that keep everything else byte-for-byte meaningful (unknown
 * fields are re-emitted verbatim by the codec).
 */
import { SegError } from '../errors'
import { type Dim, type TensorType, decodeModel, encodeModel } from './proto'

/**
 * Symbolic names for the spatial dims of a tensor of the given rank (all dims after the first
 * two): the last three are 'D', 'H', 'W' (rank 4 → 'H', 'W'); any further leading spatial dims of
 * a rank > 5 tensor are 'S0', 'S1', ….
 */
export function spatialDimNames(rank: number): string[] {
  const n = Math.max(0, rank - 2)
  const tail = ['D', 'H', 'W'].slice(Math.max(0, 3 - n))
  const extra = Array.from({ length: Math.max(0, n - 3) }, (_, i) => `S${i}`)
  return [...extra, ...tail]
}

function relaxType(tt: TensorType | undefined): void {
  if (!tt?.shape || tt.shape.length < 3) return
  const names = spatialDimNames(tt.shape.length)
  tt.shape = tt.shape.map((d: Dim, i) => (i < 2 ? d : names[i - 2]))
}

/**
 * Returns the model with the spatial dims (every dim after batch and channel) of each graph input
 * and output replaced by symbolic dims 'D', 'H', 'W', so a fully convolutional model exported for
 * a fixed size (e.g. 256³) accepts other sizes. Inputs/outputs of rank < 3 (class logits) are left
 * alone. Shapes recorded in value_info would contradict the new sizes, so they are dropped (the
 * value_info entries and their element types stay; onnxruntime re-infers shapes). Nodes are not
 * changed: a model that hard-codes a size inside the graph (Reshape to constants) still needs it.
 */
export function relaxSpatialDims(modelBytes: Uint8Array): Uint8Array {
  let model
  try {
    model = decodeModel(modelBytes)
  } catch (e) {
    if (e instanceof SegError) throw e
    throw new SegError('CORRUPT_FILE', `not an ONNX model: ${(e as Error).message}`)
  }
  const g = model.graph
  const initNames = new Set(g.initializers.map((t) => t.name))
  for (const v of g.inputs) if (!initNames.has(v.name)) relaxType(v.tensorType)
  for (const v of g.outputs) relaxType(v.tensorType)
  for (const v of g.valueInfo) if (v.tensorType) delete v.tensorType.shape
  return encodeModel(model)
}
