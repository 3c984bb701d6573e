/**
 * `transfer`: turn a checkpoint (or bundle) of the ResNet family into a new ResNet, ResUNet or shared
 * model with a different number of input channels and classes — the seed-000 recipe:
 * read safely → map names → infer the source architecture → adapt the first conv → drop heads whose
 * class count changes → load non-strictly with a full report → build the ONNX (T1's builders give
 * every parameter not loaded its documented default initialisation) → architecture facts + provenance.
 */
import { readCheckpoint } from '../../checkpoint'
import { SegError } from '../../errors'
import { boundedInt } from '../../limits'
import type { StateDict } from '../../tensor'
import type { ProvenanceEntry } from '../../bundle/manifest'
import {
  type ArchitectureConfig, type HeadCue, HEAD_CUES, type ResNetDepth, buildModel, expectedParameters, mapResUNetKeysToResNet, resolveDecoderChannels, resolveEncoder
} from '../architectures'
import { adaptInputConv, type ChannelPolicy } from './adapt-input-conv'
import { inferHeadCue, inferResNetConfig, type InferredResNet } from './infer-config'
import { checkLoadReport, compareShapes, type LoadReport } from './load-report'
import { freezeStages, type Stage } from './freeze'

export type TargetKind = 'resnet' | 'resunet' | 'shared'

export interface TransferOptions {
  /** Checkpoint file (.pth/.pt/.safetensors/.onnx) or bundle folder. */
  from: string
  to: TargetKind
  /** Target input channels; default: the source's. */
  inChannels?: number
  /** Target classes: of the classifier (resnet) or of the segmentation (resunet, shared). */
  classes: number
  /** Classes of the shared model's classification head; default: the source head's, else `classes`. */
  headClasses?: number
  /**
   * What the shared model's head reads besides the pooled encoder ('none' or 'tissue-means', see
   * SharedModelConfig.headCue). Default: the source head's, recognised by its input width (layer4
   * width + source segmentation classes → 'tissue-means'), else 'none'.
   */
  headCue?: 'none' | HeadCue
  channelPolicy?: ChannelPolicy
  /** Stages to freeze during training (stem, layer1..layer4, encoder, decoder, head); recorded, not applied to inference. */
  freeze?: string[]
  /** PyTorch strict=True semantics, except for parameters the operation creates on purpose. */
  strict?: boolean
  /** Seed of the default initialisation of new parameters. */
  seed?: number
  /** Provenance date (default: now). */
  date?: Date
}

export interface TransferOperation {
  op: 'read' | 'map-names' | 'adapt-input-conv' | 'drop-head' | 'load' | 'initialize' | 'build' | 'freeze'
  description: string
}

export interface TransferReport {
  source: { path: string; sha256: string; format: string; family: string; notes: string[] }
  sourceConfig: InferredResNet
  targetConfig: ArchitectureConfig
  load: LoadReport
  /** Target names given their default initialisation (missing, or shape-mismatched). */
  initialized: string[]
  operations: TransferOperation[]
  frozen: Stage[]
}

export interface TransferResult {
  onnx: Uint8Array
  config: ArchitectureConfig
  /** Manifest fields this operation decides: `architecture` and one provenance entry to append. */
  manifestPatch: { architecture: Record<string, unknown>; provenance: ProvenanceEntry[] }
  report: TransferReport
}

const shapesOf = (s: StateDict): Map<string, number[]> => new Map([...s].map(([k, t]) => [k, t.dims]))
const TARGETS: readonly TargetKind[] = ['resnet', 'resunet', 'shared']

/** Decoder widths of a ResUNet-like source (decoder_i.1.conv out channels), or undefined. */
function sourceDecoderChannels(shapes: Map<string, number[]>): number[] | undefined {
  const w = [0, 1, 2, 3].map((i) => shapes.get(`decoder_${i}.1.conv.weight`)?.[0])
  return w.every((x) => x !== undefined) ? (w as number[]) : undefined
}

/** The target architecture: the source's encoder (depth, widths, stem) with the requested channels and classes. */
export function targetConfig(src: InferredResNet, opts: TransferOptions, decoderChannels?: number[], sourceSegClasses?: number): ArchitectureConfig {
  const inChannels = boundedInt('--in-channels', opts.inChannels ?? src.inChannels, 'channels')
  const classes = boundedInt('--classes', opts.classes, 'classes')
  if (classes < 2) throw new SegError('BAD_ARGUMENT', `--classes must be at least 2 (softmax over classes), got ${classes}`)
  if (opts.headCue !== undefined && opts.headCue !== 'none' && !HEAD_CUES.includes(opts.headCue)) {
    throw new SegError('BAD_ARGUMENT', `--head-cue must be none or ${HEAD_CUES.join(', ')}, got '${String(opts.headCue)}'`)
  }
  if (opts.headCue !== undefined && opts.headCue !== 'none' && opts.to !== 'shared') {
    throw new SegError('BAD_ARGUMENT', `--head-cue ${opts.headCue} needs --to shared (the cue reads the segmentation), got --to ${opts.to}`)
  }
  const base = {
    depth: src.depth as ResNetDepth, inChannels, baseWidth: src.baseWidth, stemChannels: src.stemChannels,
    deepStem: src.deepStem, seed: boundedInt('--seed', opts.seed ?? 0, 'seed', 0)
  }
  if (opts.to === 'resnet') return { ...base, kind: 'resnet', numClasses: classes }
  if (opts.to === 'resunet') return { ...base, kind: 'resunet', numClasses: classes, decoderChannels }
  const headClasses = boundedInt('--head-classes', opts.headClasses ?? src.numClasses ?? classes, 'classes')
  const headCue = opts.headCue === 'none' ? undefined : opts.headCue ?? inferHeadCue(src, sourceSegClasses)
  return { ...base, kind: 'shared', segClasses: classes, numClasses: headClasses, decoderChannels, ...(headCue ? { headCue } : {}) }
}

/**
 * Seed 000's `del src_state_dict['head_fc.*']`: remove every head (`head_fc.*`, `seg_head.*`) whose
 * class count differs from the target's — or whose inputs do (a head cue added, removed or resized) —
 * so it is reported missing and initialised anew.
 * Mutates `w`; returns the removed names.
 */
export function dropChangedHeads(w: StateDict, expected: ReadonlyMap<string, number[]>): { dropped: string[]; notes: string[] } {
  const dropped: string[] = []
  const notes: string[] = []
  for (const head of ['head_fc.', 'seg_head.']) {
    const s = w.get(`${head}weight`)
    const t = expected.get(`${head}weight`)
    if (!s || !t || (s.dims[0] === t[0] && s.dims[1] === t[1])) continue
    for (const k of [...w.keys()]) {
      if (k.startsWith(head)) {
        w.delete(k)
        dropped.push(k)
      }
    }
    notes.push(s.dims[0] !== t[0] ? `dropped ${head}* (${s.dims[0]} → ${t[0]} classes)` : `dropped ${head}* (its inputs change: ${s.dims[1]} → ${t[1]})`)
  }
  return { dropped, notes }
}

/** Run a transfer (see module comment). Nothing is written; the caller writes the bundle. */
export async function transfer(opts: TransferOptions): Promise<TransferResult> {
  if (!TARGETS.includes(opts.to)) throw new SegError('BAD_ARGUMENT', `--to must be resnet, resunet or shared, got '${String(opts.to)}'`)
  const policy = opts.channelPolicy ?? 'interpolate'
  const frozen = freezeStages(opts.freeze ?? [], opts.to)
  const ops: TransferOperation[] = []
  const ck = await readCheckpoint(opts.from)
  ops.push({ op: 'read', description: `${ck.format} ${opts.from} (sha256 ${ck.sha256.slice(0, 12)}…): ${ck.notes.join('; ')}` })
  const state = mapResUNetKeysToResNet(ck.state)
  const newNames = [...state.keys()]
  const renamed = [...ck.state.keys()].filter((k, i) => k !== newNames[i]).length
  if (renamed) ops.push({ op: 'map-names', description: `renamed ${renamed} ResUNet encoder keys (encoder_k.*) to ResNet names` })
  if (ck.family === 'medicalnet') {
    ops.push({ op: 'map-names', description: "MedicalNet names are ResNet names; its layer3/layer4 are dilated with stride 1 where the target strides them (same weight shapes, different receptive field); conv_seg.* has no counterpart" })
  }
  const src = inferResNetConfig(shapesOf(state), opts.from)
  const cfg = targetConfig(src, opts, sourceDecoderChannels(shapesOf(state)), state.get('seg_head.weight')?.dims[0])

  // 1. First convolution: adapt its input channels.
  const w = new Map(state)
  if (cfg.inChannels !== src.inChannels) {
    const before = w.get(src.firstConv)!
    const after = adaptInputConv(before, cfg.inChannels, policy)
    if (after.dims[1] !== cfg.inChannels) {
      throw new SegError('UNSUPPORTED', `channel policy '${policy}' turns ${src.inChannels} input channels into ${after.dims[1]}, not ${cfg.inChannels}; use --channel-policy interpolate`)
    }
    w.set(src.firstConv, after)
    ops.push({ op: 'adapt-input-conv', description: `${src.firstConv} [${before.dims.join(',')}] → [${after.dims.join(',')}] with policy '${policy}'` })
  }
  // 2. Heads whose class count changes are dropped.
  const expected = expectedParameters(cfg)
  const { dropped, notes } = dropChangedHeads(w, expected)
  for (const d of notes) ops.push({ op: 'drop-head', description: d })

  // 3. Compare and load. ONNX sources store no BN num_batches_tracked counters: do not compare them then.
  const counters = [...w.keys()].some((k) => k.endsWith('.num_batches_tracked'))
  const target = counters ? expected : new Map([...expected].filter(([k]) => !k.endsWith('.num_batches_tracked')))
  const load = compareShapes(shapesOf(w), target)
  const createdOnPurpose = (n: string): boolean =>
    dropped.includes(n) || (n.startsWith('head_fc.') && !state.has('head_fc.weight')) ||
    (/^(decoder_\d+|seg_head)\./.test(n) && !state.has('seg_head.weight'))
  checkLoadReport(load, w.keys(), target.keys(), { strict: opts.strict ?? false, allowMissing: createdOnPurpose, label: `${opts.from} → ${opts.to}` })
  const weights: StateDict = new Map(load.matched.filter((k) => w.get(k)!.data instanceof Float32Array).map((k) => [k, w.get(k)!]))
  const initialized = [...load.missing, ...load.mismatched.map((m) => m.name)].filter((k) => !k.endsWith('.num_batches_tracked'))
  ops.push({ op: 'load', description: `${load.matched.length} loaded, ${load.missing.length} missing, ${load.unexpected.length} unexpected, ${load.mismatched.length} shape mismatches` })
  if (initialized.length) {
    ops.push({ op: 'initialize', description: `${initialized.length} tensors get the default initialisation (seed ${cfg.seed}): ${initialized.slice(0, 4).join(', ')}${initialized.length > 4 ? ', …' : ''}` })
  }

  // 4. Build and record.
  const onnx = buildModel(cfg, weights)
  ops.push({ op: 'build', description: `${opts.to} ResNet-${src.depth} (${src.block}, ${src.deepStem ? 'deep' : 'plain'} stem, base width ${src.baseWidth}), ${cfg.inChannels} input channels${cfg.kind === 'shared' && cfg.headCue ? `, class head reads the ${cfg.headCue}` : ''}` })
  if (frozen.length) ops.push({ op: 'freeze', description: `frozen for training: ${frozen.join(', ')}` })
  const report: TransferReport = {
    source: { path: opts.from, sha256: ck.sha256, format: ck.format, family: ck.family, notes: ck.notes },
    sourceConfig: src, targetConfig: cfg, load, initialized, operations: ops, frozen
  }
  return { onnx, config: cfg, manifestPatch: manifestPatchOf(report, policy, opts.date ?? new Date()), report }
}

/** `architecture` facts and the provenance entry of a transfer. */
export function manifestPatchOf(r: TransferReport, policy: ChannelPolicy, date: Date): TransferResult['manifestPatch'] {
  const cfg = r.targetConfig
  const adapted = cfg.inChannels !== r.sourceConfig.inChannels
  const decoderChannels = cfg.kind === 'resunet' || cfg.kind === 'shared' ? resolveDecoderChannels(resolveEncoder(cfg), cfg.decoderChannels) : null
  const architecture: Record<string, unknown> = {
    family: 'resnet', ...cfg, kind: cfg.kind ?? 'resnet', block: r.sourceConfig.block, stageBlocks: r.sourceConfig.stageBlocks,
    decoderChannels, frozen: r.frozen, channelPolicy: adapted ? policy : null
  }
  const { load } = r
  const provenance: ProvenanceEntry = {
    date: date.toISOString(),
    operation: `transfer to ${cfg.kind ?? 'resnet'}`,
    source: r.source.path,
    tool: 'segtransfer transfer',
    details: {
      sha256: r.source.sha256, format: r.source.format, family: r.source.family, sourceConfig: r.sourceConfig,
      inChannels: [r.sourceConfig.inChannels, cfg.inChannels], channelPolicy: adapted ? policy : null,
      operations: r.operations.map((o) => `${o.op}: ${o.description}`),
      load: { matched: load.matched.length, missing: load.missing, unexpected: load.unexpected, mismatched: load.mismatched },
      initialized: r.initialized.length,
      frozen: r.frozen
    }
  }
  return { architecture, provenance: [provenance] }
}
