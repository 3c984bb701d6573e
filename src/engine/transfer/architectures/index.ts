/** ONNX builders for the seed-000 ResNet family; see docs/transfer-architectures.md. */
export * from './config'
export * from './build'
export * from './keys'
export { BN_EPSILON, defaultTensor } from './net'
