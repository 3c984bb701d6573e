/**
 * `transfer`: turn a checkpoint (or bundle) of the ResNet family into a new ResNet, ResUNet or shared
 * model with a different number of input channels and classes — the seed-000 recipe:
 * read safely → map names → infer the source architecture → adapt the first conv → drop heads whose
 * class count changes → load non-strictly with a full report → build the ONNX (T1's builders give
 * every parameter not loaded its documented default initialisation) → architecture facts + provenance.
 */
import { readCheckpoint } from '../../checkpoint'
import { SegError } from '../../errors'
import type { StateDict } from '../../tensor'
import type { ProvenanceEntry } from '../../bundle/manifest'
import { type ArchitectureConfig, type ResNetDepth, buildModel, expectedParameters, mapResUNetKeysToResNet } from '../architectures'
import { adaptInputConv, type ChannelPolicy } from './adapt-input-conv'
import { inferResNetConfig, type InferredResNet } from './infer-config'
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
const isNew = (name: string): ((n: string) => boolean) => (n) => n === name || n.startsWith(name)
const positive = (what: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) throw new SegError('BAD_ARGUMENT', `${what} must be a positive integer, got ${v}`)
  return v
}

/** Decoder widths of a ResUNet-like source (decoder_i.1.conv out channels), or undefined. */
function sourceDecoderChannels(shapes: Map<string, number[]>): number[] | undefined {
  const w = [0, 1, 2, 3].map((i) => shapes.get(`decoder_${i}.1.conv.weight`)?.[0])
  return w.every((x) => x !== undefined) ? (w as number[]) : undefined
}

/** Run a transfer (see module comment). Nothing is written; the caller writes the bundle. */
export async function transfer(opts: TransferOptions): Promise<TransferResult> {
  const ops: TransferOperation[] = []
  const frozen = freezeStages(opts.freeze ?? [], opts.to)
  const ck = await readCheckpoint(opts.from)
  ops.push({ op: 'read', description: `${ck.format} ${opts.from} (sha256 ${ck.sha256.slice(0, 12)}…): ${ck.notes.join('; ')}` })
  const state = mapResUNetKeysToResNet(ck.state)
  const newNames = [...state.keys()]
  const renamed = [...ck.state.keys()].filter((k, i) => k !== newNames[i]).length
  if (renamed) ops.push({ op: 'map-names', description: `renamed ${renamed} ResUNet encoder keys (encoder_k.*) to ResNet names` })
  const src = inferResNetConfig(shapesOf(state), opts.from)

  const inChannels = positive('--in-channels', opts.inChannels ?? src.inChannels)
  const classes = positive('--classes', opts.classes)
  if (classes < 2) throw new SegError('BAD_ARGUMENT', `--classes must be at least 2 (softmax over classes), got ${classes}`)
  const policy = opts.channelPolicy ?? 'interpolate'
  const seed = opts.seed ?? 0
  const base = { depth: src.depth as ResNetDepth, inChannels, baseWidth: src.baseWidth, stemChannels: src.stemChannels, deepStem: src.deepStem, seed }
  const decoderChannels = sourceDecoderChannels(shapesOf(state))
  const headClasses = positive('--head-classes', opts.headClasses ?? src.numClasses ?? classes)
  const cfg: ArchitectureConfig =
    opts.to === 'resnet' ? { ...base, kind: 'resnet', numClasses: classes }
      : opts.to === 'resunet' ? { ...base, kind: 'resunet', numClasses: classes, decoderChannels }
        : opts.to === 'shared' ? { ...base, kind: 'shared', segClasses: classes, numClasses: headClasses, decoderChannels }
          : (() => { throw new SegError('BAD_ARGUMENT', `--to must be resnet, resunet or shared, got '${String(opts.to)}'`) })()

  // 1. First convolution: adapt its input channels.
  const w = new Map(state)
  if (inChannels !== src.inChannels) {
    const before = w.get(src.firstConv)!
    const after = adaptInputConv(before, inChannels, policy)
    if (after.dims[1] !== inChannels) {
      throw new SegError('UNSUPPORTED', `channel policy '${policy}' turns ${src.inChannels} input channels into ${after.dims[1]}, not ${inChannels}; use --channel-policy interpolate`)
    }
    w.set(src.firstConv, after)
    ops.push({ op: 'adapt-input-conv', description: `${src.firstConv} [${before.dims.join(',')}] → [${after.dims.join(',')}] with policy '${policy}'` })
  }
  // 2. Heads whose class count changes are dropped (seed 000: del head_fc.*), so they are re-initialised.
  const expected = expectedParameters(cfg)
  const dropped: string[] = []
  for (const head of ['head_fc.', 'seg_head.']) {
    const weightName = `${head}weight`
    const s = w.get(weightName)
    const t = expected.get(weightName)
    if (s && t && s.dims[0] !== t[0]) {
      for (const k of [...w.keys()]) if (k.startsWith(head)) { w.delete(k); dropped.push(k) }
      ops.push({ op: 'drop-head', description: `dropped ${head}* (${s.dims[0]} → ${t[0]} classes)` })
    }
  }
  // 3. Compare and load. ONNX sources store no BN num_batches_tracked counters: do not compare them then.
  const counters = [...w.keys()].some((k) => k.endsWith('.num_batches_tracked'))
  const target = counters ? expected : new Map([...expected].filter(([k]) => !k.endsWith('.num_batches_tracked')))
  const load = compareShapes(shapesOf(w), target)
  const createdOnPurpose = (n: string): boolean =>
    dropped.includes(n) || (isNew('head_fc.')(n) && !state.has('head_fc.weight')) ||
    ((isNew('decoder_')(n) || isNew('seg_head.')(n)) && !state.has('seg_head.weight'))
  checkLoadReport(load, w.keys(), target.keys(), { strict: opts.strict ?? false, allowMissing: createdOnPurpose, label: `${opts.from} → ${opts.to}` })
  const weights: StateDict = new Map(load.matched.filter((k) => w.get(k)!.data instanceof Float32Array).map((k) => [k, w.get(k)!]))
  const initialized = [...load.missing, ...load.mismatched.map((m) => m.name)].filter((k) => !k.endsWith('.num_batches_tracked'))
  ops.push({ op: 'load', description: `${load.matched.length} loaded, ${load.missing.length} missing, ${load.unexpected.length} unexpected, ${load.mismatched.length} shape mismatches` })
  if (initialized.length) ops.push({ op: 'initialize', description: `${initialized.length} tensors get the default initialisation (seed ${seed}): ${initialized.slice(0, 4).join(', ')}${initialized.length > 4 ? ', …' : ''}` })

  // 4. Build, freeze, record.
  const onnx = buildModel(cfg, weights)
  ops.push({ op: 'build', description: `${opts.to} ResNet-${src.depth} (${src.block}, ${src.deepStem ? 'deep' : 'plain'} stem, base width ${src.baseWidth}), ${inChannels} input channels` })
  if (frozen.length) ops.push({ op: 'freeze', description: `frozen for training: ${frozen.join(', ')}` })

  const report: TransferReport = {
    source: { path: opts.from, sha256: ck.sha256, format: ck.format, family: ck.family, notes: ck.notes },
    sourceConfig: src, targetConfig: cfg, load, initialized, operations: ops, frozen
  }
  const architecture: Record<string, unknown> = {
    family: 'resnet', ...cfg, block: src.block, stageBlocks: src.stageBlocks,
    decoderChannels: 'decoderChannels' in cfg ? cfg.decoderChannels ?? null : null,
    frozen, channelPolicy: inChannels !== src.inChannels ? policy : null
  }
  const provenance: ProvenanceEntry = {
    date: (opts.date ?? new Date()).toISOString(),
    operation: `transfer to ${opts.to}`,
    source: opts.from,
    tool: 'segtransfer transfer',
    details: {
      sha256: ck.sha256, format: ck.format, family: ck.family,
      sourceConfig: src, inChannels: [src.inChannels, inChannels], channelPolicy: policy,
      operations: ops.map((o) => `${o.op}: ${o.description}`),
      load: {
        matched: load.matched.length, missing: load.missing, unexpected: load.unexpected, mismatched: load.mismatched
      },
      frozen
    }
  }
  return { onnx, config: cfg, manifestPatch: { architecture, provenance: [provenance] }, report }
}
