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
import type { AxisOrder } from '../inference/layout'
import { decodeModel, initializersOf } from '../onnx'
import { allocLabels, keepLargestComponents } from '../labelmap'
import { DEFAULT_SCALES_MM, featureNames, type FilterBankSpec } from './filter-bank'
import { FEATURE_INPUT, FEATURE_OUTPUT, featuresOnSlices, openFeatureSession, forEachSlab, sliceSpec, type FeatureGraph } from './features'
import { buildTeachSet, type ScanLabels, type TeachSet } from './teach-set'
import { DEFAULT_SPLIT, splitBySlice, type VoxelRef } from './split'
import { DEFAULT_TRAIN, argmax, forwardLayers, trainHead, type EpochReport, type HeadKind, type Samples } from './head'
import { BAKED_INPUT, BAKED_OUTPUT, buildBakedGraph, buildFeatureGraph, buildNetworkBakedGraph, foldHead, type BakedLayer } from './bake'
import { DECODER_TAP } from './network-taps'
import { networkTapsOf, openTapSession, sampleTaps, type NetworkTaps } from './network'
import { segment } from '../pipeline/segment'

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
  /** Filter bank, network taps or both (default: filters). */
  features?: FeatureKind[]
  /**
   * Where the taught model runs: 'scan' (the first scan's own grid; filters only) or 'base' (the base
   * bundle's model space, geometry and preprocessing). Default: 'base' with network features (their
   * only space), else 'scan'. Filters in 'base' space measure what the network adds at equal resolution.
   */
  space?: 'scan' | 'base'
  /** Values of the base graph tapped for network features (default ['decoder']: the decoder's last feature map; encoder stage outputs by name, upsampled). */
  taps?: string[]
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

/**
 * Filter-bank spacing along the tensor dims (zyx order: d0 = k): the geometry's, or where it fixes
 * none (a network-only model on a 'native' base) the model grid's own, `fallback`.
 */
function filterSpec(geometry: Manifest['geometry'], scalesMm: number[], fallback: Vec3 = [1, 1, 1]): FilterBankSpec {
  const s = 'spacing' in geometry ? (geometry.spacing as Vec3) : fallback
  return { spacing: [s[2], s[1], s[0]], scalesMm }
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex')
}

function sha256OfVoxels(v: Volume): string {
  return createHash('sha256').update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)).digest('hex')
}

/** The features in use, filters first (their order in a sample row and in the baked graph). */
function featureKinds(features: FeatureKind[] | undefined): { filters: boolean; network: boolean } {
  const f = features ?? ['filters']
  return { filters: f.includes('filters'), network: f.includes('network') }
}

/** A bundle taught in the base's model space (always so with network features: it runs the base's body). */
export function inBaseSpace(m: Pick<Manifest, 'architecture'>): boolean {
  const f = m.architecture?.features
  return m.architecture?.space === 'base' || (Array.isArray(f) && f.includes('network'))
}

/** Filter-bank spec in a tensor order: 'zyx' as filterSpec gives it, 'xyz' reversed. */
function tensorSpec(spec: FilterBankSpec, axisOrder: AxisOrder): FilterBankSpec {
  return axisOrder === 'zyx' ? spec : { ...spec, spacing: [spec.spacing[2], spec.spacing[1], spec.spacing[0]] }
}

interface FeatureSources {
  /** Slice-centred filter-bank graphs and sessions per scan (absent: no filters). */
  filters?: { sessions: ort.InferenceSession[]; graphs: FeatureGraph[] }
  /** The tap graph and its one session for all scans (absent: no network features). */
  network?: { net: NetworkTaps; session: ort.InferenceSession }
}

/**
 * Samples of each list of `refs` (training, validation): per row the filter-bank features of the
 * voxel's slice (slice-centred graph), then the network taps (one scan's taps in memory at a time),
 * classes from the teach set.
 */
async function samplesOf(src: FeatureSources, set: TeachSet, lists: VoxelRef[][], opts: Pick<TeachOptions, 'signal' | 'threads'>, onFraction: (f: number) => void): Promise<Samples[]> {
  const F1 = src.filters?.graphs[0].count ?? 0
  const F = F1 + (src.network?.net.count ?? 0)
  const parts = src.network ? 2 : 1
  const samples: Samples[] = []
  for (const [l, refs] of lists.entries()) {
    const x = new Float32Array(refs.length * F)
    if (src.filters) {
      const f = await featuresOnSlices(src.filters.sessions, src.filters.graphs, set.scans, refs, { signal: opts.signal, onProgress: (p) => onFraction((l + p) / lists.length / parts) })
      for (let r = 0; r < refs.length; r++) x.set(f.subarray(r * F1, (r + 1) * F1), r * F)
    }
    samples.push({ x, y: Int32Array.from(refs, (r) => set.scans[r.scan].classes[r.offset]), F })
  }
  if (src.network) {
    for (const [s, scan] of set.scans.entries()) {
      await sampleTaps(src.network.net, src.network.session, scan.image, s, lists.map((refs, l) => ({ refs, out: samples[l].x, F })), F1, opts)
      onFraction((parts - 1 + (s + 1) / set.scans.length) / parts)
    }
  }
  return samples
}

function checkOptions(o: TeachOptions): void {
  const { filters, network } = featureKinds(o.features)
  if (!filters && !network) throw new SegError('BAD_ARGUMENT', 'teach needs features: filters, network or both')
  if (network && o.space === 'scan') throw new SegError('BAD_ARGUMENT', "network features exist only in the base bundle's model space; use space 'base' (the default with network features)")
  if (network && filters && !('spacing' in o.base.manifest.geometry)) {
    throw new SegError('UNSUPPORTED', `network and filter features together need a base bundle whose geometry fixes a voxel spacing; '${o.base.manifest.name}' has geometry mode '${o.base.manifest.geometry.mode}'`)
  }
  if (o.base.manifest.channels.length !== 1) {
    throw new SegError('UNSUPPORTED', `teach works on single-channel bundles; '${o.base.manifest.name}' has ${o.base.manifest.channels.length} input channels`)
  }
}

/**
 * What baking decides: the graph and the manifest's model, inference, resampling and architecture.
 * Filters only: the teach geometry is the first scan's own grid, decoded there and copied back by
 * nearest neighbour (on the first scan the grids coincide, so the bundle's labels are exactly the
 * head's argmax). In the base's space (network taps): its geometry, tensor order and inference
 * settings (the body is the base's), and probabilities brought back to the scan's grid as the base
 * bundle does it.
 */
function bakeModel(baseBundle: Bundle, use: { filters: boolean; network: boolean }, inBase: boolean, net: NetworkTaps | undefined, spec: FilterBankSpec, layers: BakedLayer[], kind: HeadKind) {
  const filterNames = use.filters ? featureNames(spec) : []
  const filterText = `a multi-scale filter bank (${spec.scalesMm.join(', ')} mm)`
  if (!inBase) {
    return {
      onnx: buildBakedGraph(spec, layers, `segtransfer teach: ${kind} head on ${filterNames.length} filter-bank features`),
      model: { file: 'model.onnx', input: BAKED_INPUT, output: BAKED_OUTPUT, axisOrder: 'zyx' as const },
      inference: { mode: 'whole' as const, divisibleBy: 1 },
      resampling: 'labels' as const,
      architecture: { family: 'teach-head', head: kind, features: ['filters'], scalesMm: spec.scalesMm, featureCount: filterNames.length },
      frozen: 'the filter bank (fixed kernels); the base network is not used (filters only)',
      featureNames: filterNames,
      what: filterText
    }
  }
  const base = baseBundle.manifest
  const tapNames = Array.from({ length: net?.count ?? 0 }, (_, c) => `network tap channel ${c}`)
  const parts = [...(use.filters ? [filterText] : []), ...(net ? [`the taps ${net.taps.join(', ')} of '${base.name}' (frozen)`] : [])]
  const what = `${parts.join(' and ')} in the model space of '${base.name}'`
  return {
    onnx: buildNetworkBakedGraph(base.model.input, net, use.filters ? tensorSpec(spec, base.model.axisOrder) : undefined, layers, `segtransfer teach: ${kind} head on ${what}`),
    model: { file: 'model.onnx', input: base.model.input, output: BAKED_OUTPUT, axisOrder: base.model.axisOrder },
    inference: base.inference,
    resampling: 'probabilities' as const,
    architecture: { family: 'teach-head', head: kind, space: 'base', features: [...(use.filters ? ['filters'] : []), ...(net ? ['network'] : [])], ...(use.filters ? { scalesMm: spec.scalesMm } : {}), ...(net ? { taps: net.taps } : {}), featureCount: filterNames.length + tapNames.length },
    frozen: [...(net ? [`the base network's nodes up to ${net.taps.join(', ')} (weights unchanged)`] : []), ...(use.filters ? ['the filter bank (fixed kernels)'] : [])].join(' and '),
    featureNames: [...filterNames, ...tapNames],
    what
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
  const use = featureKinds(opts.features)
  // Network taps exist only in the base's model space, so filters and head run there too.
  const inBase = use.network || opts.space === 'base'
  const geometry = inBase ? base.geometry : teachGeometry(opts.scans[0].image)
  report('prepare', 0, 'bringing scans and labels into model space')
  const set = buildTeachSet(opts.scans, geometry, base.channels[0].normalization)
  const K = set.values.length
  const split = splitBySlice(set.scans, K, { ...DEFAULT_SPLIT, seed })
  const spec = filterSpec(geometry, opts.scalesMm ?? DEFAULT_SCALES_MM, set.scans[0].image.spacing)
  const graph = buildFeatureGraph(spec)
  const net = use.network ? await networkTapsOf(opts.base, opts.taps ?? [DECODER_TAP], set.scans[0].image.size) : undefined
  lap('prepare')
  // One slice-centred graph and session per split axis in use.
  const byAxis = new Map<number, { graph: FeatureGraph; session: ort.InferenceSession }>()
  let network: FeatureSources['network']
  let train: Samples
  let validation: Samples
  try {
    for (const { splitAxis } of use.filters ? set.scans : []) {
      if (byAxis.has(splitAxis)) continue
      const centred = buildFeatureGraph(sliceSpec(spec, splitAxis), true)
      byAxis.set(splitAxis, { graph: centred, session: await openFeatureSession(centred, opts.threads) })
    }
    const filters = use.filters ? { sessions: set.scans.map((s) => byAxis.get(s.splitAxis)!.session), graphs: set.scans.map((s) => byAxis.get(s.splitAxis)!.graph) } : undefined
    if (net) network = { net, session: await openTapSession(net, opts.threads) } // one session for every scan
    ;[train, validation] = await samplesOf({ filters, network }, set, [split.train, split.validation], opts, (f) => report('features', 0.05 + 0.45 * f, 'features of the training and validation voxels'))
  } finally {
    for (const { session } of byAxis.values()) await session.release()
    await network?.session.release()
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
  const baked = bakeModel(opts.base, use, inBase, net, spec, layers, kind)
  const details = {
    base: { name: base.name, dir: opts.base.dir, modelSha256: await sha256Of(opts.base.modelPath) },
    frozen: baked.frozen,
    features: baked.featureNames,
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
    description: `Taught from a few labelled slices on ${opts.scans.length} scan(s): ${kind} head on ${baked.what}, all in one ONNX graph.`,
    task: 'segmentation',
    model: baked.model,
    channels: [{ ...base.channels[0] }],
    geometry,
    inference: baked.inference,
    output: { kind: 'softmax', threshold: 0.5, labels, largestComponent: opts.largestComponent ?? false, resampling: baked.resampling },
    architecture: baked.architecture,
    provenance: [...base.provenance, { date: new Date().toISOString(), operation: 'teach', source: opts.base.dir, tool: 'segtransfer teach', details }]
  }
  const onnx = baked.onnx
  lap('bake')
  report('bake', 1, 'done')
  return { onnx, manifest, layers, featureGraph: graph, spec, teachSet: set, best: trained.best, history: trained.history, values: set.values, timingsMs }
}

/** What a preview needs: the head, the filter bank, the manifest and the label values. */
export type TaughtModel = Pick<TeachResult, 'layers' | 'featureGraph' | 'spec' | 'manifest' | 'values'> & {
  /** The baked graph; needed for a model taught with network features (its preview runs the graph). */
  onnx?: Uint8Array
}

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
  if (inBaseSpace(m)) return predictBySegment(model, image, opts)
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
    }, { signal: opts.signal })
  } finally {
    await session.release()
  }
  labels = keepLargestComponents(labels, space.size, m.output.largestComponent ?? false, values)
  return resampleToGrid({ ...space, data: labels }, image, { interpolation: 'nearest', fill: 0 })
}

/**
 * The preview of a model taught in the base's space (network taps): its baked graph (the base body, filter bank and
 * head) run by segment() itself on the in-memory model, so preprocessing, padding, decoding and the
 * way back to the scan's grid are the bundle's own. Only the graph head exists here.
 */
async function predictBySegment(model: TaughtModel, image: Volume, opts: { head?: PreviewHead; threads?: number; signal?: AbortSignal }): Promise<Volume> {
  if (!model.onnx) throw new SegError('BAD_ARGUMENT', "a model taught in the base's space needs its baked graph (onnx) for a preview")
  if (opts.head === 'typescript') throw new SegError('UNSUPPORTED', "a model taught in the base's space is previewed by its graph only (head 'graph')")
  const bundle: Bundle = { dir: '(in memory)', manifest: model.manifest as Manifest, modelPath: '' }
  const { labels } = await segment({ bundle, inputs: [image], device: 'cpu', threads: opts.threads, signal: opts.signal, model: model.onnx })
  return labels
}

/**
 * What `predictInMemory` needs, read back from a taught bundle: the head's initializers, the filter
 * bank from `architecture.scalesMm` and the geometry, and the label values.
 * @throws SegError BAD_MANIFEST when the bundle was not made by `teach`.
 */
export async function taughtModelOf(bundle: Bundle): Promise<TaughtModel> {
  const m = bundle.manifest
  const network = inBaseSpace(m)
  const scalesMm = m.architecture?.scalesMm ?? (network ? DEFAULT_SCALES_MM : undefined)
  if (m.architecture?.family !== 'teach-head' || !Array.isArray(scalesMm)) {
    throw new SegError('BAD_MANIFEST', `${bundle.dir} is not a taught bundle (architecture.family 'teach-head' with scalesMm); expected one written by 'segtransfer teach'`)
  }
  const onnx = new Uint8Array(await fs.readFile(bundle.modelPath))
  const init = initializersOf(decodeModel(onnx).graph)
  const layers: BakedLayer[] = []
  for (let l = 0; init.has(`head${l}_weight`); l++) {
    const w = init.get(`head${l}_weight`)!
    layers.push({ out: w.dims[0], in: w.dims[1], W: w.data as Float32Array, b: init.get(`head${l}_bias`)!.data as Float32Array })
  }
  const spec = filterSpec(m.geometry, scalesMm as number[])
  return { layers, featureGraph: buildFeatureGraph(spec), spec, manifest: m, values: m.output.labels.map((l) => l.value), onnx }
}
