/**
 * Teaching a model a new structure from a few labelled slices, headless: scans + sparse labels →
 * teach set (model space) → split by slice → filter-bank features of the sampled voxels (ONNX, slab
 * by slab) → head (TypeScript, Adam) → one baked ONNX graph and its manifest. The CLI and the
 * app's worker call `teach()`; `predictInMemory()` is the in-app preview the baked bundle must equal.
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type * as ort from 'onnxruntime-node'
import { SegError } from '../errors'
import type { Bundle } from '../bundle/bundle'
import type { Manifest, ManifestInput } from '../bundle/manifest'
import type { Volume, Vec3 } from '../volume/volume'
import { voxelCount } from '../volume/volume'
import { orientationOf } from '../volume/orientation'
import { normalize } from '../volume/intensity'
import { resampleToGrid } from '../volume/resample'
import { toModelSpace } from '../pipeline/segment'
import { decodeModel, initializersOf } from '../onnx'
import { allocLabels, keepLargestComponents } from '../labelmap'
import { DEFAULT_SCALES_MM, featureNames, type FilterBankSpec } from './filter-bank'
import { FEATURE_INPUT, FEATURE_OUTPUT, featuresOnSlices, openFeatureSession, forEachSlab, sliceSpec, type FeatureGraph } from './features'
import { buildTeachSet, type ScanLabels, type TeachSet } from './teach-set'
import { DEFAULT_SPLIT, splitBySlice, type VoxelRef } from './split'
import { DEFAULT_TRAIN, argmax, forwardLayers, trainHead, type EpochReport, type HeadKind, type Samples } from './head'
import { BAKED_INPUT, BAKED_OUTPUT, buildBakedGraph, buildFeatureGraph, foldHead, type BakedLayer } from './bake'

export type FeatureKind = 'filters' | 'network'

export interface TeachProgress {
  stage: 'prepare' | 'features' | 'train' | 'bake'
  /** Overall fraction done, 0..1. */
  fraction: number
  message: string
  /** During 'train': the epoch just finished. */
  epoch?: EpochReport
}

export interface LabelName {
  value: number
  name: string
  color?: [number, number, number]
}

export interface TeachOptions {
  base: Bundle
  scans: ScanLabels[]
  head?: HeadKind
  features?: FeatureKind[]
  /** Filter-bank σ values, mm. */
  scalesMm?: number[]
  seed?: number
  /** Declare output.largestComponent (every foreground label keeps its largest 26-connected part). */
  largestComponent?: boolean
  /** Names (and colours) of the label values; unnamed values are called 'label N'. */
  labelNames?: LabelName[]
  name?: string
  maxEpochs?: number
  threads?: number
  onProgress?: (p: TeachProgress) => void
  signal?: AbortSignal
}

export interface TeachResult {
  onnx: Uint8Array
  manifest: ManifestInput
  /** The baked head (float32, standardisation folded): what the in-memory prediction applies. */
  layers: BakedLayer[]
  featureGraph: FeatureGraph
  /** The filter bank (spacing along the tensor dims, scales). */
  spec: FilterBankSpec
  teachSet: TeachSet
  best: EpochReport
  history: EpochReport[]
  /** Label value of each class index. */
  values: number[]
  /** Wall time of each stage (prepare, features, train, bake), ms. */
  timingsMs: Record<string, number>
}

/** A palette for new labels (background black), as ITK-SNAP's first colours. */
const PALETTE: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 239, 213], [0, 0, 205]]

/**
 * The teach model's geometry: the first scan's own orientation and spacing, so that the filter
 * bank's kernels (fixed, in voxels) mean the same millimetres on every scan and the first scan's
 * model grid is its own grid.
 */
export function teachGeometry(first: Volume): Manifest['geometry'] {
  return { mode: 'resample', orientation: orientationOf(first), spacing: [...first.spacing] as Vec3 }
}

/** Filter-bank spacing along the tensor dims (zyx order: d0 = k). */
function filterSpec(geometry: Manifest['geometry'], scalesMm: number[]): FilterBankSpec {
  const s = (geometry as { spacing: Vec3 }).spacing
  return { spacing: [s[2], s[1], s[0]], scalesMm }
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex')
}

function sha256OfVoxels(v: Volume): string {
  return createHash('sha256').update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)).digest('hex')
}

/**
 * Samples of `refs`: features of their slices (the slice-centred graph, one per scan's split axis),
 * classes from the teach set.
 */
async function samplesOf(sessions: ort.InferenceSession[], graphs: FeatureGraph[], set: TeachSet, refs: VoxelRef[], opts: Pick<TeachOptions, 'signal'>, onFraction: (f: number) => void): Promise<Samples> {
  const x = await featuresOnSlices(sessions, graphs, set.scans, refs, { signal: opts.signal, onProgress: onFraction })
  const y = Int32Array.from(refs, (r) => set.scans[r.scan].classes[r.offset])
  return { x, y, F: graphs[0].count }
}

function checkOptions(o: TeachOptions): void {
  const features = o.features ?? ['filters']
  if (features.includes('network')) {
    throw new SegError('UNSUPPORTED', "--features network is not built yet; use --features filters (network taps on the base bundle's graph are planned)")
  }
  if (o.base.manifest.channels.length !== 1) {
    throw new SegError('UNSUPPORTED', `teach works on single-channel bundles; '${o.base.manifest.name}' has ${o.base.manifest.channels.length} input channels`)
  }
}

export async function teach(opts: TeachOptions): Promise<TeachResult> {
  checkOptions(opts)
  const report = (stage: TeachProgress['stage'], fraction: number, message: string, epoch?: EpochReport) => opts.onProgress?.({ stage, fraction, message, epoch })
  const timingsMs: Record<string, number> = {}
  let t = performance.now()
  const lap = (name: string) => {
    timingsMs[name] = Math.round(performance.now() - t)
    t = performance.now()
  }
  const seed = opts.seed ?? 1
  const kind = opts.head ?? 'linear'
  const base = opts.base.manifest
  const geometry = teachGeometry(opts.scans[0].image)
  report('prepare', 0, 'bringing scans and labels into model space')
  const set = buildTeachSet(opts.scans, geometry, base.channels[0].normalization)
  const K = set.values.length
  const split = splitBySlice(set.scans, K, { ...DEFAULT_SPLIT, seed })
  const spec = filterSpec(geometry, opts.scalesMm ?? DEFAULT_SCALES_MM)
  const graph = buildFeatureGraph(spec)
  lap('prepare')
  // One slice-centred graph and session per split axis in use.
  const byAxis = new Map<number, { graph: FeatureGraph; session: ort.InferenceSession }>()
  let train: Samples
  let validation: Samples
  try {
    for (const { splitAxis } of set.scans) {
      if (byAxis.has(splitAxis)) continue
      const centred = buildFeatureGraph(sliceSpec(spec, splitAxis), true)
      byAxis.set(splitAxis, { graph: centred, session: await openFeatureSession(centred, opts.threads) })
    }
    const sessions = set.scans.map((s) => byAxis.get(s.splitAxis)!.session)
    const graphs = set.scans.map((s) => byAxis.get(s.splitAxis)!.graph)
    train = await samplesOf(sessions, graphs, set, split.train, opts, (f) => report('features', 0.05 + 0.3 * f, 'features of the training voxels'))
    validation = await samplesOf(sessions, graphs, set, split.validation, opts, (f) => report('features', 0.35 + 0.15 * f, 'features of the validation voxels'))
  } finally {
    for (const { session } of byAxis.values()) await session.release()
  }
  lap('features')
  const maxEpochs = opts.maxEpochs ?? DEFAULT_TRAIN.maxEpochs
  const total = set.values.reduce((a, v) => a + set.counts[v], 0)
  const trained = trainHead(train, validation, K, {
    ...DEFAULT_TRAIN, kind, seed, maxEpochs, signal: opts.signal,
    logPrior: set.values.map((v) => Math.log(set.counts[v] / total)),
    onEpoch: (e) => report('train', 0.5 + 0.45 * (e.epoch / maxEpochs), `epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}`, e)
  })
  lap('train')
  report('bake', 0.95, 'baking the bundle')
  const layers = foldHead(trained.head)
  const labels = set.values.map((value, c) => {
    const named = opts.labelNames?.find((l) => l.value === value)
    const name = named?.name ?? (value === 0 ? 'background' : `label ${value}`)
    return { value, name, color: named?.color ?? (value === 0 ? [0, 0, 0] : PALETTE[(c - 1) % PALETTE.length]) } as { value: number; name: string; color: [number, number, number] }
  })
  const details = {
    base: { name: base.name, dir: opts.base.dir, modelSha256: await sha256Of(opts.base.modelPath) },
    frozen: 'the filter bank (fixed kernels); the base network is not used (filters only)',
    features: featureNames(spec),
    head: { kind, hidden: kind === 'mlp' ? DEFAULT_TRAIN.hidden : undefined, epochs: trained.history.length, bestEpoch: trained.best.epoch },
    seed,
    scans: opts.scans.map((s, i) => ({ name: path.basename(s.name), imageSha256: sha256OfVoxels(s.image), labelsSha256: sha256OfVoxels(s.labels), labelledSlices: s.labelledSlices, ignoreValue: s.ignoreValue, heldOutSlices: split.heldOut[i] })),
    labelledVoxels: Object.fromEntries(set.values.map((v) => [String(v), set.counts[v]])),
    samples: { train: train.y.length, validation: validation.y.length },
    validation: { loss: trained.best.validationLoss, dice: Object.fromEntries(set.values.map((v, c) => [String(v), trained.best.validationDice[c] ?? null])) }
  }
  const manifest: ManifestInput = {
    format: 'segtransfer-bundle',
    version: 1,
    name: opts.name ?? `taught from ${base.name}`,
    description: `Taught from a few labelled slices on ${opts.scans.length} scan(s): ${kind} head on a multi-scale filter bank (${spec.scalesMm.join(', ')} mm), all in one ONNX graph.`,
    task: 'segmentation',
    model: { file: 'model.onnx', input: BAKED_INPUT, output: BAKED_OUTPUT, axisOrder: 'zyx' },
    channels: [{ ...base.channels[0] }],
    geometry,
    inference: { mode: 'whole', divisibleBy: 1 },
    // Labels decoded on the model grid and copied back: on the first scan the grids coincide, so the
    // bundle's labels are exactly the head's argmax there.
    output: { kind: 'softmax', threshold: 0.5, labels, largestComponent: opts.largestComponent ?? false, resampling: 'labels' },
    architecture: { family: 'teach-head', head: kind, features: ['filters'], scalesMm: spec.scalesMm, featureCount: graph.count },
    provenance: [...base.provenance, { date: new Date().toISOString(), operation: 'teach', source: opts.base.dir, tool: 'segtransfer teach', details }]
  }
  const onnx = buildBakedGraph(spec, layers, `segtransfer teach: ${kind} head on ${graph.count} filter-bank features`)
  lap('bake')
  report('bake', 1, 'done')
  return { onnx, manifest, layers, featureGraph: graph, spec, teachSet: set, best: trained.best, history: trained.history, values: set.values, timingsMs }
}

/** What a preview needs: the head, the filter bank, the manifest and the label values. */
export type TaughtModel = Pick<TeachResult, 'layers' | 'featureGraph' | 'spec' | 'manifest' | 'values'>

/**
 * How the in-memory preview applies the head: 'graph' runs the baked graph itself (filter bank +
 * head) slab by slab, so the preview is the saved model's own arithmetic; 'typescript' applies the
 * trained head in float64 to the graph's features (as training and validation do), which can differ
 * from the float32 graph where two classes' logits tie to rounding.
 */
export type PreviewHead = 'graph' | 'typescript'

/**
 * The taught model's labels on `image`'s own grid, computed in memory slab by slab and decoded as
 * `segment()` decodes the baked bundle (argmax on the model grid, first maximum wins, optional
 * largest component, nearest neighbour back). `signal` cancels before each slab (CANCELLED).
 */
export async function predictInMemory(model: TaughtModel, image: Volume, opts: { head?: PreviewHead; threads?: number; signal?: AbortSignal } = {}): Promise<Volume> {
  const m = model.manifest as Manifest
  const space = toModelSpace(image, m.geometry)
  const data = normalize(space.data instanceof Float32Array ? space.data : Float32Array.from(space.data), m.channels[0].normalization)
  let labels = allocLabels(voxelCount(space), model.values)
  const { layers, values } = model
  const K = values.length
  const onGraph = (opts.head ?? 'graph') === 'graph'
  const graph: FeatureGraph = onGraph
    ? { onnx: buildBakedGraph(model.spec, layers, 'preview', { input: FEATURE_INPUT, output: FEATURE_OUTPUT }), count: K, halo: model.featureGraph.halo }
    : model.featureGraph
  const F = graph.count
  // Widened to float64 exactly, so the forward pass is the training one.
  const wide = layers.map((L) => ({ in: L.in, out: L.out, W: Float64Array.from(L.W), b: Float64Array.from(L.b) }))
  const acts = layers.map((L) => new Float64Array(L.out))
  const x = new Float64Array(F)
  const session = await openFeatureSession(graph, opts.threads)
  try {
    await forEachSlab(session, graph, { ...space, data }, (out, plane, first, offset0, count) => {
      for (let v = 0; v < count; v++) {
        for (let c = 0; c < F; c++) x[c] = out[c * plane + first + v]
        labels[offset0 + v] = values[argmax(onGraph ? x : forwardLayers(wide, x, 0, acts))]
      }
    }, opts.signal)
  } finally {
    await session.release()
  }
  labels = keepLargestComponents(labels, space.size, m.output.largestComponent ?? false, values)
  return resampleToGrid({ ...space, data: labels }, image, { interpolation: 'nearest', fill: 0 })
}

/**
 * What `predictInMemory` needs, read back from a taught bundle: the head's initializers, the filter
 * bank from `architecture.scalesMm` and the geometry, and the label values.
 * @throws SegError BAD_MANIFEST when the bundle was not made by `teach`.
 */
export async function taughtModelOf(bundle: Bundle): Promise<TaughtModel> {
  const m = bundle.manifest
  const scalesMm = m.architecture?.scalesMm
  if (m.architecture?.family !== 'teach-head' || !Array.isArray(scalesMm)) {
    throw new SegError('BAD_MANIFEST', `${bundle.dir} is not a taught bundle (architecture.family 'teach-head' with scalesMm); expected one written by 'segtransfer teach'`)
  }
  const init = initializersOf(decodeModel(new Uint8Array(await fs.readFile(bundle.modelPath))).graph)
  const layers: BakedLayer[] = []
  for (let l = 0; init.has(`head${l}_weight`); l++) {
    const w = init.get(`head${l}_weight`)!
    layers.push({ out: w.dims[0], in: w.dims[1], W: w.data as Float32Array, b: init.get(`head${l}_bias`)!.data as Float32Array })
  }
  const spec = filterSpec(m.geometry, scalesMm as number[])
  return { layers, featureGraph: buildFeatureGraph(spec), spec, manifest: m, values: m.output.labels.map((l) => l.value) }
}
