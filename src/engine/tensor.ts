/**
 * A named weight tensor as checkpoints and ONNX initializers hold it: C-order (last dim fastest).
 * float32 covers weights; int64 covers counters such as BatchNorm's `num_batches_tracked`.
 */
export type TensorData = Float32Array | BigInt64Array

export interface Tensor {
  dims: number[]
  data: TensorData
}

/** Parameter name → tensor, in the order the source listed them (like PyTorch's state_dict). */
export type StateDict = Map<string, Tensor>

export function tensorSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1)
}
