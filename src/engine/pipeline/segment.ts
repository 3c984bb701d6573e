/**
 * The clinician's job, headless: file(s) → Volume → Bundle → inference → LabelMap (on the input's
 * own grid). The CLI, the app's worker and the tests all call this one function.
 */
import { SegError } from '../errors'
import type { Bundle } from '../bundle/bundle'
import type { Manifest } from '../bundle/manifest'
import { clearNoData, noDataInModelSpace, noDataUnion, withNaNAtNoData } from './no-data'
import type { Grid, Volume, Vec3, VoxelArray } from '../volume/volume'
import { voxelCount } from '../volume/volume'
import { readVolume } from '../volume/read'
import { checkSameGrids } from '../volume/stack'
import { canonicalOrder, canonicalize, permuteVoxels, reorientLike } from '../volume/orientation'
import { resampleToGrid } from '../volume/resample'
import { conform } from '../volume/conform'
import { normalize } from '../volume/intensity'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { openSession, checkModelIO, type Device } from '../inference/session'
import { runModelWithHeads } from '../inference/run'
import { volumeToTensor, tensorToVolume, tensorSpatial } from '../inference/layout'
import {
  argmaxLabels,
  sigmoidLabels,
  keepLargestComponents,
  resampleProbabilities,
  refineLabelsByIntensity,
  softmax,
  type IntensityFit,
  type KeptProbabilities,
  type LabelArray
} from '../labelmap'
import { decodeModel } from '../onnx'
import { relaxSpatialDims } from '../onnx/edit'
import { targetSpacingGrid } from './grids'
import { checkSegmentFits } from './memory'
import { assessModelFit } from './model-fit'

export type { Device }

export interface SegmentProgress {
  stage: 'read' | 'preprocess' | 'load-model' | 'inference' | 'postprocess'
  /** Overall fraction done, 0..1. */
  fraction: number
  message: string
}

export interface SegmentOptions {
  bundle: Bundle
  /** One path or in-memory Volume per manifest channel, in the manifest's channel order. */
  inputs: (string | Volume)[]
  device?: Device
  /** Intra-op threads for onnxruntime (default: its own choice, all cores). */
  threads?: number
  onProgress?: (p: SegmentProgress) => void
  signal?: AbortSignal
  /** false: skip the bundle's `output.refinement` and keep the model's own decision (default true). */
  refinement?: boolean
  /** Bytes this segmentation may use (checked from the headers before reading; default pipeline/memory.ts `defaultMemoryBudget`). */
  memoryBudget?: number
  /** Which volume (0-based) of 4D input files to read (ReadOptions.volume); 4D files are refused without it. */
  volume?: number
  /** true: run even when a scan grossly mismatches the manifest's `accepts` (its findings become warnings). */
  force?: boolean
  /** How MODEL_UNFIT tells the user to force the run (default UNFIT_HINT; a batch names its own flags). */
  unfitHint?: string
  /** Serialized ONNX model run instead of the bundle's model.onnx (a taught model's in-memory preview, teach/). */
  model?: Uint8Array
}

export interface SegmentResult {
  /** The label map on exactly the grid of the first input. */
  labels: Volume
  /** The first input as read (its source carries the header used to export the mask). */
  reference: Volume
  /** Every file the inputs were read from (VolumeSource.files): outputs may replace none of them. */
  inputFiles: string[]
  /** Class probabilities when the bundle has a classification head. */
  classification?: { classes: string[]; probabilities: number[] }
  provider: string
  notes: string[]
  /** What the user must see: the scan's misfit with the model (pipeline/model-fit.ts), a refinement that did not converge. */
  warnings: string[]
  timingsMs: Record<string, number>
}

/** MODEL_MISMATCH when the model's scores hold NaN or ±Infinity (argmax of them would still look like a mask). */
function checkFiniteScores(scores: Float32Array, output: string): void {
  let bad = 0
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i])) bad++
  if (bad > 0) {
    throw new SegError('MODEL_MISMATCH', `model.onnx output '${output}' holds ${bad} non-finite value(s) (NaN or Infinity) of ${scores.length}; expected finite scores (the model is broken or does not suit this input)`)
  }
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new SegError('CANCELLED', 'segmentation cancelled by the user')
}

/**
 * The axis order a bundle's geometry puts voxels in before the model sees them, when it names one:
 * the whole pipeline then runs on the input stored in that order (canonicalize), so the mask does not
 * depend on the order the scan's voxels came in. None for 'native' and orientation-less 'resample'
 * (the model sees the stored axes by the bundle's own declaration) and for a FreeSurfer-centred
 * conform (FreeSurfer's centre itself moves with the storage order).
 */
export function canonicalCode(geometry: Manifest['geometry']): string | undefined {
  switch (geometry.mode) {
    case 'native':
      return undefined
    case 'reorient':
    case 'resample':
      return geometry.orientation
    case 'conform':
      return geometry.centre === 'freesurfer' ? undefined : geometry.orientation
  }
}

/** Brings one channel into the model's space, as the manifest's geometry section says. */
export function toModelSpace(volume: Volume, geometry: Manifest['geometry']): Volume {
  switch (geometry.mode) {
    case 'native':
      return volume
    case 'reorient':
      return canonicalize(volume, geometry.orientation)
    case 'resample': {
      const oriented = geometry.orientation ? canonicalize(volume, geometry.orientation) : volume
      return resampleToGrid(oriented, targetSpacingGrid(oriented, geometry.spacing as Vec3), { interpolation: 'linear', fill: 0 })
    }
    case 'conform':
      return conform(volume, {
        size: geometry.size as Vec3,
        spacing: geometry.spacing as Vec3,
        orientation: geometry.orientation,
        uint8: geometry.uint8,
        centre: geometry.centre
      })
  }
}

function gridOf(v: Grid): Grid {
  return { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction }
}

/**
 * The model to open for this bundle. A fully convolutional model exported with fixed spatial dims
 * (brainchop's MeshNet: 256^3) cannot take sliding-window patches as is: declare its spatial dims free.
 */
async function modelForSettings(bundle: Bundle, notes: string[]): Promise<string | Uint8Array> {
  const m = bundle.manifest
  if (m.inference.mode !== 'sliding-window') return bundle.modelPath
  const bytes = new Uint8Array(await fs.readFile(bundle.modelPath))
  const input = decodeModel(bytes).graph.inputs.find((v) => v.name === m.model.input)
  const dims = input?.tensorType?.shape ?? []
  const patch = m.inference.patchSize
  const fixed = dims.slice(2).map((d) => (typeof d === 'number' ? d : undefined))
  if (fixed.every((d, a) => d === undefined || d === patch[a])) return bundle.modelPath
  notes.push(`model input is fixed at [${dims.join(',')}]; its spatial dims were freed to run ${patch.join('x')} patches (assumes a fully convolutional model)`)
  return relaxSpatialDims(bytes)
}

/**
 * The model's scores as labels on the input's grid (see decodeOnGrid). When the bundle names an axis
 * order (canonicalCode) the decoding, the largest-component filter and the refinement's sampling and
 * bias field all run on the input grid stored in that order, and the labels are then permuted back
 * exactly: the same voxels in any storage order get the same labels.
 */
export function toLabels(
  scores: Float32Array,
  K: number,
  modelGrid: Grid,
  inputGrid: Grid,
  m: Manifest,
  image?: VoxelArray
): { labels: LabelArray; fit?: IntensityFit } {
  const code = canonicalCode(m.geometry)
  if (!code) return decodeOnGrid(scores, K, modelGrid, inputGrid, m, image)
  const { grid, perm, flip } = canonicalOrder(inputGrid, code)
  const canonicalImage = image && permuteVoxels(image, inputGrid.size, perm, flip)
  const decoded = decodeOnGrid(scores, K, modelGrid, grid, m, canonicalImage)
  const labels = reorientLike({ ...grid, data: decoded.labels }, inputGrid).data as LabelArray
  return { ...decoded, labels }
}

/**
 * The model's scores ([K, model voxels]) as labels on the input's grid, as the manifest's `output`
 * and `geometry` say: softmax probabilities interpolated onto the input grid and decoded there
 * (resampling 'probabilities'), or decoded on the model grid and copied by nearest neighbour. The
 * largest-component filter runs on the grid the labels were decoded on. Then, with a `refinement`
 * (and `image`, the refined channel's intensities on the input grid), the split between the refined
 * classes is refitted to the input's intensities; only voxels already labelled with a refined class
 * move, so the outline of those classes together is exactly the one without refinement.
 */
function decodeOnGrid(
  scores: Float32Array,
  K: number,
  modelGrid: Grid,
  inputGrid: Grid,
  m: Manifest,
  image?: ArrayLike<number>
): { labels: LabelArray; fit?: IntensityFit } {
  const { output } = m
  const values = output.labels.map((l) => l.value)
  const n = voxelCount(modelGrid)
  const refinement = output.kind === 'softmax' && image ? output.refinement : undefined
  const classes = refinement?.labels.map((v) => values.indexOf(v)) ?? []
  const keep = refinement ? { channels: classes, minMass: refinement.minProbability } : undefined
  let labels: LabelArray
  let kept: KeptProbabilities | undefined
  // Interpolated probabilities only where they mean something: a model grid that really differs from
  // the input's (reorient is an exact permutation), and softmax outputs. Sigmoid probabilities
  // saturate at 1 in float32, so confident overlapping channels would tie where their logits do not;
  // sigmoid outputs keep the logit-ranked decoding on the model grid.
  if ((m.geometry.mode === 'conform' || m.geometry.mode === 'resample') && output.kind === 'softmax' && output.resampling === 'probabilities') {
    ;({ labels, kept } = resampleProbabilities(softmax(scores, K, n), K, modelGrid, inputGrid, values, keep))
    labels = keepLargestComponents(labels, inputGrid.size, output.largestComponent, values)
  } else {
    const decoded =
      output.kind === 'softmax'
        ? argmaxLabels(scores, K, n, values)
        : sigmoidLabels(scores, K, n, output.threshold, values.filter((v) => v !== 0)) // no background channel
    labels = keepLargestComponents(decoded, modelGrid.size, output.largestComponent, values)
    if (m.geometry.mode !== 'native') {
      labels = resampleToGrid({ ...modelGrid, data: labels }, inputGrid, { interpolation: 'nearest', fill: 0 }).data as LabelArray
    }
    // The refinement still needs probabilities on the input grid (on a native or reoriented grid the
    // mapping lands on voxel centres, so they are the model's own); the labels this walk also makes
    // are not used here.
    if (refinement) kept = resampleProbabilities(softmax(scores, K, n), K, modelGrid, inputGrid, values, keep).kept
  }
  if (!refinement) return { labels }
  return refineLabelsByIntensity({
    labels,
    kept: kept!,
    image: image!,
    labelValues: values,
    classes,
    size: inputGrid.size,
    maxIterations: refinement.maxIterations,
    tolerance: refinement.tolerance,
    biasFieldOrder: refinement.biasFieldOrder
  })
}

/** The end of a MODEL_UNFIT message for `segtransfer segment` and the app. */
export const UNFIT_HINT = 'run with force (--force) to segment it anyway'

/**
 * The scans against the manifest's `accepts`: MODEL_UNFIT (ending with `hint`) for the first gross
 * mismatch unless forced, else every finding as a warning line.
 */
function checkModelFit(volumes: Volume[], m: Manifest, force: boolean, hint: string): string[] {
  const findings = volumes.flatMap((v, c) => assessModelFit(v, m.accepts, v.source ? path.basename(v.source.path) : `input ${c + 1}`))
  const gross = findings.find((f) => f.severity === 'gross')
  if (gross && !force) throw new SegError('MODEL_UNFIT', `${gross.message} (model '${m.name}'); ${hint}`)
  return findings.map((f) => f.message)
}

/** One line for the notes: what the intensity fit found. */
function describeFit(fit: IntensityFit, m: Manifest): string {
  if (fit.iterations === 0) return 'intensity refinement skipped: no voxel had both tissue probability and a finite intensity'
  const names = m.output.refinement!.labels.map((v) => m.output.labels.find((l) => l.value === v)!.name)
  const classes = names.map((name, c) => `${name} ${fit.means[c].toPrecision(4)} ± ${fit.sds[c].toPrecision(3)}`).join(', ')
  const how = fit.converged ? `converged in ${fit.iterations} iterations` : `stopped after ${fit.iterations} iterations without converging`
  const bias = fit.biasField ? `; bias field (degree ${fit.biasField.order}) ${fit.biasField.min.toFixed(2)}–${fit.biasField.max.toFixed(2)}` : ''
  return `intensity refinement (${how}): ${classes}${bias}`
}

export async function segment(opts: SegmentOptions): Promise<SegmentResult> {
  const { bundle, signal } = opts
  const m = bundle.manifest
  const notes: string[] = []
  const timingsMs: Record<string, number> = {}
  const report = (stage: SegmentProgress['stage'], fraction: number, message: string) =>
    opts.onProgress?.({ stage, fraction, message })
  let t = performance.now()
  const lap = (name: string) => {
    const now = performance.now()
    timingsMs[name] = Math.round(now - t)
    t = now
  }

  if (m.task === 'classification') {
    throw new SegError('BAD_MANIFEST', `model '${m.name}' is a classification model (task: classification) with no voxel-wise output; expected a segmentation bundle`)
  }
  if (opts.inputs.length !== m.channels.length) {
    const want = m.channels.map((c) => `${c.name} (${c.modality})`).join(', ')
    throw new SegError('BAD_ARGUMENT', `model '${m.name}' needs ${m.channels.length} input volume(s): ${want}; got ${opts.inputs.length}`)
  }

  await checkSegmentFits(opts.inputs, bundle, opts.refinement !== false, opts.memoryBudget, opts.model) // TOO_LARGE before decoding
  report('read', 0, 'reading volumes')
  const volumes: Volume[] = []
  for (const input of opts.inputs) {
    checkCancelled(signal)
    const v = typeof input === 'string' ? await readVolume(input, { volume: opts.volume }) : input
    for (const n of v.source?.notes ?? []) notes.push(n)
    volumes.push(v)
  }
  checkSameGrids(volumes) // GRID_MISMATCH when the channels are not co-registered
  const reference = volumes[0]
  const warnings = checkModelFit(volumes, m, opts.force === true, opts.unfitHint ?? UNFIT_HINT)
  lap('read')

  report('preprocess', 0.05, 'preprocessing')
  const modelVolumes = volumes.map((v) => toModelSpace(v, m.geometry))
  const modelGrid = gridOf(modelVolumes[0])
  const n = voxelCount(modelGrid)
  const channels = modelVolumes.map((v, c) => {
    const f = v.data instanceof Float32Array ? v.data : Float32Array.from(v.data)
    return normalize(f, m.channels[c].normalization, undefined, noDataInModelSpace(volumes[c], m.geometry, toModelSpace))
  })
  const noData = noDataUnion(volumes) // NaN/Inf in a file: no statistics, no refinement, label 0
  let stacked = channels[0]
  if (channels.length > 1) {
    stacked = new Float32Array(n * channels.length)
    channels.forEach((c, i) => stacked.set(c, i * n))
  }
  const tensor = volumeToTensor(stacked, channels.length, modelGrid.size, m.model.axisOrder)
  const spatial = tensorSpatial(modelGrid.size, m.model.axisOrder)
  lap('preprocess')
  checkCancelled(signal)

  report('load-model', 0.08, 'loading model')
  const model = opts.model ?? (await modelForSettings(bundle, notes))
  const { session, provider, notes: sessionNotes } = await openSession(model, {
    device: opts.device ?? 'auto',
    threads: opts.threads
  })
  notes.push(...sessionNotes)
  try {
    checkModelIO(session, m)
    lap('load-model')
    const K = m.output.kind === 'softmax' ? m.output.labels.length : m.output.labels.filter((l) => l.value !== 0).length
    const { scores: out, extras } = await runModelWithHeads({
      session,
      extraOutputs: m.classification ? [m.classification.output] : [],
      inputName: m.model.input,
      outputName: m.model.output,
      input: tensor,
      spatial,
      channels: m.channels.length,
      outChannels: K,
      settings: m.inference,
      signal,
      onProgress: (done, total) => report('inference', 0.1 + 0.85 * (done / total), `inference ${done}/${total}`)
    })
    lap('inference')
    checkFiniteScores(out, m.model.output)
    report('postprocess', 0.95, 'post-processing')
    const scores = tensorToVolume(out, K, modelGrid.size, m.model.axisOrder)
    const refinement = opts.refinement !== false ? m.output.refinement : undefined
    const image = refinement ? withNaNAtNoData(volumes[refinement.channel].data, noData) : undefined
    const decoded = toLabels(scores, K, modelGrid, gridOf(reference), m, image)
    clearNoData(decoded.labels, noData)
    if (decoded.fit) (decoded.fit.iterations > 0 && !decoded.fit.converged ? warnings : notes).push(describeFit(decoded.fit, m))
    const labels: Volume = { ...gridOf(reference), data: decoded.labels }
    let classification: SegmentResult['classification']
    if (m.classification) {
      const logits = extras[m.classification.output]
      if (logits.length !== m.classification.classes.length) {
        throw new SegError('MODEL_MISMATCH', `model.onnx output '${m.classification.output}' has ${logits.length} values but the manifest names ${m.classification.classes.length} classes`)
      }
      classification = { classes: m.classification.classes, probabilities: Array.from(softmax(logits, logits.length, 1)) }
    }
    lap('postprocess')
    report('postprocess', 1, 'done')
    const inputFiles = volumes.flatMap((v) => v.source?.files ?? [])
    return { labels, reference, inputFiles, classification, provider, notes, warnings, timingsMs }
  } finally {
    await session.release()
  }
}
