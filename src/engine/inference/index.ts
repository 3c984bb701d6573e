/** Model execution: sessions and providers, whole-volume and sliding-window inference. See docs/inference.md. */
export { openSession, checkModelIO, providerOrder, type Device, type OpenSessionOptions, type OpenedSession, type ModelDims } from './session'
export { slidingWindowInference, gaussianImportanceMap, windowStarts, type SlidingWindowParams, type PatchPredictor, type Vec3i } from './sliding-window'
export { runModel, runModelWithHeads, type RunModelParams } from './run'
export { volumeToTensor, tensorToVolume, tensorSpatial, type AxisOrder } from './layout'
