/**
 * Peak memory of one segment() from the input headers and the manifest, counted before anything is
 * decoded, so a small file declaring a huge grid (a 1.7 MB .nii.gz of 1200³ voxels) is refused at
 * once instead of costing gigabytes. The count follows segment.ts array by array (see the comments
 * below) and assumes nothing is freed before segment() returns, so it is an upper bound; the test
 * (test/pipeline/memory.test.ts) checks it against the peak measured during a real run.
 *
 * The network's own working memory inside onnxruntime comes from its graph (inference/
 * activation-memory.ts: the peak of the tensors alive at once), plus twice the model file (its
 * bytes and the session's weights). A graph whose shapes cannot be inferred is assumed to hold
 * FALLBACK_TENSORS tensors of FALLBACK_WIDTH channels on the whole input.
 */
import os from 'node:os'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { SegError } from '../errors'
import type { Manifest } from '../bundle/manifest'
import type { Bundle } from '../bundle/bundle'
import type { Grid, Vec3, Volume } from '../volume/volume'
import { readHeaderInfo } from '../volume/header-info'
import { axisMapOf, parseOrientation } from '../volume/orientation'
import { formatBytes } from '../volume/read-nifti'
import { tensorSpatial } from '../inference/layout'
import { checkWindowCount, windowStarts } from '../inference/sliding-window'
import { targetSpacingGrid } from './grids'
import { decodeModel, type OnnxGraph } from '../onnx'
import { peakActivationBytes } from '../inference/activation-memory'

/** Fraction of os.totalmem() one segmentation may use by default (the reader's own 60 % limit). */
export const MEMORY_FRACTION = 0.6
/**
 * onnxruntime's arena grows by powers of two, so it may reserve up to twice the bytes its planner
 * asks for; it also copies the input tensor. Measured: demo-tissue on a 256³ input, 821 MB for
 * 403 MB planned + 268 MB output + 67 MB input.
 */
export const ARENA_FACTOR = 2
/**
 * itk-wasm decodes inside a WebAssembly heap that never shrinks: the compressed file, the decoded
 * image and its working copies stay resident after the read (measured: 79 MB for a 16.8 MB volume).
 */
export const DECODE_HEAP_COPIES = 4
/** An onnxruntime session's own state beyond its weights and arena (measured: 26–35 MB for the shipped models). */
export const SESSION_BYTES = 64 * 1024 * 1024
/** Channels and simultaneous tensors assumed for a network whose graph shapes cannot be inferred. */
export const FALLBACK_WIDTH = 32
export const FALLBACK_TENSORS = 2
const F32 = 4
const F64 = 8

/** Bytes one segmentation may use when the caller sets no budget: MEMORY_FRACTION of os.totalmem(). */
export function defaultMemoryBudget(): number {
  return Math.floor(os.totalmem() * MEMORY_FRACTION)
}

export interface SegmentMemoryInput {
  /** Header of each input channel: grid and bytes of one decoded voxel. */
  inputs: readonly (Grid & { voxelBytes: number })[]
  manifest: Manifest
  /** Size of the bundle's model file in bytes. */
  modelFileBytes: number
  /** The network's peak working memory for an input of [N, C, d0, d1, d2], or null when unknown (activation-memory.ts). */
  activationBytes: (dims: readonly number[]) => number | null
  /** Whether the bundle's `output.refinement` will run (segment's `refinement` option). */
  refinement: boolean
}

export interface MemoryEstimate {
  /** Peak bytes of the whole segment(). */
  bytes: number
  /** The phase that reaches the peak ('read', 'preprocess', 'inference' or 'postprocess'). */
  peakPhase: string
  /** Bytes held in each phase (for docs and tests). */
  phases: Record<string, number>
}

const product = (s: readonly number[]): number => s[0] * s[1] * s[2]

/** The model grid's size for an input grid, as toModelSpace will make it (no voxels touched). */
export function modelGridSize(grid: Grid, geometry: Manifest['geometry']): Vec3 {
  if (geometry.mode === 'native') return [...grid.size]
  if (geometry.mode === 'conform') return [...geometry.size] as Vec3
  let { size, spacing } = grid
  if (geometry.orientation) {
    // reorient permutes the axes: axis t of the result is the input axis pointing the same way
    const from = axisMapOf(grid)
    const perm = parseOrientation(geometry.orientation).world.map((w) => from.world.indexOf(w))
    size = perm.map((p) => grid.size[p]) as Vec3
    spacing = perm.map((p) => grid.spacing[p]) as Vec3
  }
  if (geometry.mode === 'reorient') return [...size]
  return targetSpacingGrid({ size, spacing, origin: [0, 0, 0], direction: grid.direction }, geometry.spacing as Vec3).size
}

/**
 * Bytes of the inference phase beyond what preprocessing holds: padded input, scores, sliding-window
 * buffers, the network. All of it stays until segment() returns: the scores are post-processed and
 * the session (with its arena) is released last.
 */
function inferenceBytes(m: Manifest, spatial: Vec3, C: number, K: number, p: SegmentMemoryInput): number {
  const M = product(spatial)
  const network = 2 * p.modelFileBytes + SESSION_BYTES
  const activations = (n: number, s: readonly number[]) =>
    ARENA_FACTOR * (p.activationBytes([n, C, ...s]) ?? FALLBACK_TENSORS * FALLBACK_WIDTH * n * product(s) * F32) + n * C * product(s) * F32
  const inf = m.inference
  if (inf.mode === 'whole') {
    const paddedSize = spatial.map((d) => Math.ceil(d / inf.divisibleBy) * inf.divisibleBy)
    const padded = product(paddedSize)
    // pad() copy of the input, the model's output, its crop back to the model grid, the network
    const pad = padded === M ? 0 : C * padded * F32
    const out = K * padded * F32 + (padded === M ? 0 : K * M * F32)
    return pad + out + network + activations(1, paddedSize)
  }
  // sliding window: result K×M and weight map M; per batch the windows in, the predictions out, the network on a batch
  const patch = inf.patchSize as Vec3
  const padded = spatial.map((d, a) => Math.max(d, patch[a]))
  const windows = checkWindowCount(padded.map((s, a) => windowStarts(s, patch[a], inf.overlap).length))
  const n = Math.min(inf.batchSize, windows)
  const pv = product(patch)
  const accumulators = (K + 1) * M * F32 + pv * F32
  const batch = n * (C + K) * pv * F32 + activations(n, patch)
  // a classification head is read from one extra whole-volume call
  const extra = m.classification ? K * M * F32 + activations(1, spatial) : 0
  return accumulators + Math.max(batch, extra) + network
}

/**
 * Bytes of the post-processing on the input grid (N voxels) from scores on the model grid (M):
 * softmax, label decoding, probabilities back to the input grid, components and the refinement.
 */
function postprocessBytes(m: Manifest, N: number, M: number, K: number, refinement: boolean): number {
  const { output } = m
  const lb = output.labels.some((l) => l.value > 255) ? 2 : 1 // allocLabels: uint8 or uint16
  const xyz = m.model.axisOrder === 'xyz' ? K * M * F32 : 0 // tensorToVolume's transposed copy
  const refine = refinement && output.kind === 'softmax' && output.refinement !== undefined
  // softmax copy and model-grid labels (argmax inside resampleProbabilities, or the decoded labels) and keep flags
  let bytes = xyz + K * M * F32 + M * lb + M
  // labels on the input grid, and a second copy while nearest-neighbour resampling or the component filter runs
  bytes += 2 * N * lb
  if (output.largestComponent !== false) bytes += N + N * F32 // visit state and queue
  if (!refine) return bytes // resampleProbabilities without `keep` allocates nothing per voxel
  // kept voxels (n ≤ N): index + K probabilities; the arrays grow by doubling, then are sliced: ≤ 3 copies
  const kept = N * (4 + K * F32)
  // refineLabelsByIntensity: intensities, positions, mass, posteriors (float64 K per voxel), labels copy
  const fit = N * (F32 + 3 * F32 + F64 + K * F64) + N * lb
  return bytes + Math.max(3 * kept, kept + fit)
}

/**
 * Peak bytes of segment() for these inputs and this manifest, counted from the headers alone.
 * Phases (each includes what the earlier ones still hold):
 * - read: the decoded inputs and the decoder's heap (DECODE_HEAP_COPIES), held to the end;
 * - preprocess: per channel the model-space volume (float32; uint8 for conform uint8, input type
 *   for reorient), its float32 copy and the normalised copy, the stacked channels and the tensor;
 * - inference: see `inferenceBytes`;
 * - postprocess: see `postprocessBytes`.
 */
export function estimateSegmentMemory(p: SegmentMemoryInput): MemoryEstimate {
  const m = p.manifest
  const C = p.inputs.length
  const K = m.output.kind === 'softmax' ? m.output.labels.length : m.output.labels.filter((l) => l.value !== 0).length
  const N = product(p.inputs[0].size)
  // the decoded inputs, and the decoder's heap sized for the largest of them
  const inputs = p.inputs.reduce((s, g) => s + product(g.size) * g.voxelBytes, 0) + DECODE_HEAP_COPIES * Math.max(...p.inputs.map((g) => product(g.size) * g.voxelBytes))
  const modelSize = modelGridSize(p.inputs[0], m.geometry)
  const M = product(modelSize)
  const g = m.geometry
  const modelVoxelBytes = g.mode === 'native' ? 0 : g.mode === 'reorient' ? p.inputs[0].voxelBytes : g.mode === 'conform' && g.uint8 ? F32 + 1 : F32
  // conform uint8 also reads a float32 copy of the input for its percentile (and sorts one)
  const conformScratch = g.mode === 'conform' && g.uint8 ? 2 * N * F32 : 0
  const preprocess =
    C * M * (modelVoxelBytes + 2 * F32) + // model-space volume, its float32 copy, the normalised copy
    (C > 1 ? C * M * F32 : 0) + // stacked channels
    (m.model.axisOrder === 'xyz' ? C * M * F32 : 0) + // transposed tensor
    M * F32 // normalisation scratch (the percentile's sorted copy)
  const spatial = tensorSpatial(modelSize, m.model.axisOrder)
  const infer = inferenceBytes(m, spatial, C, K, p)
  const phases = {
    read: inputs,
    preprocess: inputs + preprocess + conformScratch,
    inference: inputs + preprocess + infer,
    // the session (and its arena) is released only after the post-processing
    postprocess: inputs + preprocess + infer + postprocessBytes(m, N, M, K, p.refinement)
  }
  const [peakPhase, bytes] = Object.entries(phases).reduce((a, b) => (b[1] > a[1] ? b : a))
  return { bytes, peakPhase, phases }
}

const PHASE_WORDS: Record<string, string> = { read: 'reading', preprocess: 'preprocessing', inference: 'running the model', postprocess: 'post-processing' }

/**
 * Refuses (TOO_LARGE) when the estimate exceeds `budget`, naming both figures.
 * @param what the input in words (the first file's name)
 * @param budgetOrigin where the budget comes from, e.g. "60 % of this machine's memory"
 */
export function checkSegmentMemory(estimate: MemoryEstimate, budget: number, what: string, budgetOrigin: string): void {
  if (estimate.bytes <= budget) return
  throw new SegError(
    'TOO_LARGE',
    `segmenting ${what} needs about ${formatBytes(estimate.bytes)} of memory (peak while ${PHASE_WORDS[estimate.peakPhase]}), ` +
      `but ${formatBytes(budget)} is available (${budgetOrigin}); expected a smaller image`
  )
}

/**
 * segment()'s check before it reads anything: each input's header (or in-memory grid), the estimate,
 * the budget. An input whose header cannot be read is left to the reader, which refuses it with its
 * own error.
 * @param budget bytes allowed; default `defaultMemoryBudget()`
 * @param modelBytes the model to run when it is not the bundle's model.onnx (SegmentOptions.model)
 */
export async function checkSegmentFits(inputs: readonly (string | Volume)[], bundle: Bundle, refinement: boolean, budget?: number, modelBytes?: Uint8Array): Promise<void> {
  const headers: (Grid & { voxelBytes: number })[] = []
  for (const input of inputs) {
    const h = typeof input === 'string' ? await readHeaderInfo(input) : { ...input, voxelBytes: input.data.BYTES_PER_ELEMENT }
    if (h === null) return
    headers.push(h)
  }
  if (headers.length === 0) return
  const model = modelBytes ?? (await readFile(bundle.modelPath).catch(() => null))
  if (model === null) return // segment() refuses the bundle with its own error
  let graph: OnnxGraph | null = null
  try {
    graph = decodeModel(new Uint8Array(model.buffer, model.byteOffset, model.byteLength)).graph
  } catch {
    graph = null // not ONNX: the session refuses it; count the fallback network meanwhile
  }
  const activationBytes = (dims: readonly number[]) => (graph ? peakActivationBytes(graph, bundle.manifest.model.input, dims) : null)
  const estimate = estimateSegmentMemory({ inputs: headers, manifest: bundle.manifest, modelFileBytes: model.byteLength, activationBytes, refinement })
  const what = typeof inputs[0] === 'string' ? basename(inputs[0]) : 'the volume'
  const origin = budget === undefined ? `${MEMORY_FRACTION * 100} % of this machine's memory` : 'the memory budget given'
  checkSegmentMemory(estimate, budget ?? defaultMemoryBudget(), what, origin)
}
