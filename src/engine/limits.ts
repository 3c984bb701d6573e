/**
 * Upper bounds on every number a user (CLI flag, app) or a manifest gives. Each limit is decided here
 * once; the manifest schema, the CLI and the architecture builders read it from here, and
 * docs/bundles.md ("Limits") lists them. They are far above any real use and low enough that the
 * structure they size (a tensor, a thread pool, a graph) stays allocatable; memory itself is bounded
 * separately, from the headers, by pipeline/memory.ts.
 */
import { SegError, type SegErrorCode } from './errors'

export const LIMITS = {
  /** Voxels along one axis of a model grid: conform size, patch size (a 2048³ float32 grid is 34 GB). */
  axisVoxels: 2048,
  /** Smallest and largest voxel spacing in mm a manifest may ask for (the plausible range). */
  minSpacingMm: 1e-3,
  maxSpacingMm: 1e3,
  /** Largest field of view in mm a manifest's `accepts` may name (10 m: beyond any scanner). */
  fieldOfViewMm: 1e4,
  /** Largest magnitude of a manifest's `accepts.intensityRange` (beyond any stored voxel type short of float). */
  intensity: 1e9,
  /** whole-volume padding multiple: 2^10 covers any network's downsampling. */
  divisibleBy: 1024,
  /** Windows per model call. */
  batchSize: 256,
  /** Gaussian blending σ as a fraction of the patch. */
  sigmaScale: 10,
  /** Smallest σ fraction: below it a 2-voxel window's weights underflow float32 (1e-300 gave NaN). */
  minSigmaScale: 0.05,
  /** Sliding-window overlap fraction (0.9999999 made the step 1 voxel: millions of windows). */
  overlap: 0.95,
  /** Windows of one sliding-window run (a 512³ volume, patch 64, overlap 0.9 is 175,616). */
  windows: 200_000,
  /** Classes of one output (labels of a segmentation, classes of a classifier, head classes). */
  classes: 1024,
  /** Input channels of a model. */
  channels: 64,
  /** Iterations of the intensity refinement's EM. */
  refinementIterations: 10_000,
  /** onnxruntime intra-op threads (each thread reserves a stack and arena). */
  threads: 256,
  /** Channels of one layer of a built network (baseWidth, stem, decoder widths). */
  layerWidth: 8192,
  /** Depth of the summary's layer tree. */
  summaryDepth: 64,
  /** Batch size N of a summary's --input-size. */
  summaryBatch: 1024,
  /** Characters of a name in a manifest (file, tensor, channel, label and class names). */
  nameChars: 255,
  /** Bytes of a manifest.json (real ones are a few kB; provenance grows with each operation). */
  manifestBytes: 4 * 1024 * 1024,
  /** Bytes of an .onnx model file (protobuf cannot hold a graph over 2 GB). */
  modelBytes: 2 * 1024 ** 3,
  /** Training epochs of a taught head (early stopping usually ends far sooner). */
  epochs: 10_000,
  /** Hidden units of a taught MLP head. */
  hiddenUnits: 1024,
  /** Seeds are unsigned 32-bit. */
  seed: 2 ** 32 - 1
} as const

export type LimitName = keyof typeof LIMITS

/** The phrase an error uses for a limit: "at most 1024 (LIMITS.classes)". */
export function atMost(name: LimitName): string {
  return `at most ${LIMITS[name]} (LIMITS.${name})`
}

/**
 * `value` as an integer in [min, LIMITS[name]], else a one-line SegError naming `what` and the limit.
 * @param what how the user knows the number, e.g. "--classes" or "inChannels"
 */
export function boundedInt(what: string, value: number, name: LimitName, min = 1, code: SegErrorCode = 'BAD_ARGUMENT'): number {
  if (!Number.isInteger(value) || value < min || value > LIMITS[name]) {
    throw new SegError(code, `${what} must be an integer from ${min} to ${LIMITS[name]} (LIMITS.${name}), got ${value}`)
  }
  return value
}
