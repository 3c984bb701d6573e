/**
 * Label maps from model outputs. See docs/inference.md ("Label maps").
 */
export { allocLabels, argmaxLabels, sigmoidLabels, softmax, type LabelArray } from './decode'
export { largestComponent, keepLargestComponents } from './components'
export { resampleProbabilities, type KeptProbabilities } from './resample-probabilities'
export { refineByIntensity, refineLabelsByIntensity, type IntensityFit, type IntensityRefinementInput } from './intensity-refinement'
