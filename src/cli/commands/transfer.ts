/**
 * `segtransfer transfer`: ResNet ↔ ResUNet transfer learning from a checkpoint or bundle into a new
 * bundle, printing the load report (what was loaded, missing, unexpected, mismatched).
 */
import { promises as fs } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { loadBundle, parseJsonText, readBoundedFile, writeBundle } from '../../engine/bundle/bundle'
import { SegError } from '../../engine/errors'
import { checkFolderOutput } from '../../engine/fs/atomic'
import { CHANNEL_POLICIES, type ChannelPolicy, type TargetKind, type TransferOptions, transfer, transferManifest } from '../../engine/transfer/ops'
import type { CommandIO } from '../io'

export const usage = `segtransfer transfer --from <checkpoint|bundle> --to resnet|resunet|shared --classes K --out <bundle>
        [--in-channels N] [--channel-policy interpolate|timm|interpolate-scaled] [--head-classes M] [--head-cue none|tissue-means]
        [--freeze stem,layer1,layer2] [--name NAME] [--describe <manifest-part.json>] [--strict] [--seed S] [--json] [--overwrite]
    Transfer a ResNet-family checkpoint (.pth/.pt, .safetensors, .onnx or a bundle; the architecture is
    inferred from the weights) to a ResNet classifier, a ResUNet or a shared model with N input channels
    and K classes. Prints the load report; --strict fails unless every key is accounted for.
    --describe merges a JSON object over the generated manifest's top-level sections (name, description,
    channels, geometry, inference, output, classification, license, and model.axisOrder) — what the
    model card says about its input, preprocessing and labels; the result is validated like any manifest.
    --head-cue (shared models): tissue-means lets the classification head also read the mean intensity
    under each segmentation class; default: as the source's head.
    --out must be a new or empty folder; --overwrite replaces an existing bundle there as a whole
    (never the source, never a folder that is not a bundle).`

const list = (xs: string[], n = 8): string => (xs.length ? xs.slice(0, n).join(', ') + (xs.length > n ? `, … (${xs.length - n} more)` : '') : '(none)')

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n)) throw new SegError('BAD_ARGUMENT', `${flag} must be an integer, got '${v}'`)
  return n
}

/** Sections a user may describe; architecture, provenance, model and task stay the toolkit's. */
const DESCRIBABLE = ['name', 'description', 'channels', 'geometry', 'inference', 'output', 'classification', 'accepts', 'license'] as const

async function readDescription(path: string): Promise<Record<string, unknown>> {
  const text = (await readBoundedFile(path, 'a JSON description', 'manifestBytes')).toString('utf8')
  const raw = parseJsonText(text, `--describe ${path}`, 'BAD_ARGUMENT', 'a JSON description')
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SegError('BAD_ARGUMENT', `--describe ${path} must hold a JSON object`)
  const extra = Object.keys(raw).filter((k) => !(DESCRIBABLE as readonly string[]).includes(k) && k !== 'model')
  if (extra.length) throw new SegError('BAD_ARGUMENT', `--describe ${path} sets ${extra.join(', ')}; expected only ${DESCRIBABLE.join(', ')} and model.axisOrder`)
  // The graph (and so its tensor names) is the toolkit's; how voxels fill the tensor is the training's.
  const model = (raw as Record<string, unknown>).model
  if (model !== undefined && (typeof model !== 'object' || model === null || Object.keys(model).some((k) => k !== 'axisOrder'))) {
    throw new SegError('BAD_ARGUMENT', `--describe ${path}: of the model section only axisOrder may be set`)
  }
  return raw as Record<string, unknown>
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' }, to: { type: 'string' }, 'in-channels': { type: 'string' }, classes: { type: 'string' },
      'head-classes': { type: 'string' }, 'head-cue': { type: 'string' }, 'channel-policy': { type: 'string' }, freeze: { type: 'string' },
      name: { type: 'string' }, out: { type: 'string' }, describe: { type: 'string' }, strict: { type: 'boolean', default: false },
      seed: { type: 'string' }, json: { type: 'boolean', default: false }, overwrite: { type: 'boolean', default: false }
    },
    allowPositionals: false,
    strict: true
  })
  void positionals
  for (const req of ['from', 'to', 'classes', 'out'] as const) {
    if (!values[req]) throw new SegError('BAD_ARGUMENT', `transfer needs --${req}; see 'segtransfer transfer --help'`)
  }
  const to = values.to as TargetKind
  if (!['resnet', 'resunet', 'shared'].includes(to)) throw new SegError('BAD_ARGUMENT', `--to must be resnet, resunet or shared, got '${values.to}'`)
  const policy = (values['channel-policy'] ?? 'interpolate') as ChannelPolicy
  if (!CHANNEL_POLICIES.includes(policy)) throw new SegError('BAD_ARGUMENT', `--channel-policy must be one of ${CHANNEL_POLICIES.join(', ')}, got '${policy}'`)
  const from = values.from!
  const outRules = { overwrite: values.overwrite, inputs: [from, ...(values.describe ? [values.describe] : [])] }
  checkFolderOutput(values.out!, outRules) // before the transfer, not after it
  const result = await transfer({
    from, to, classes: int('--classes', values.classes)!, inChannels: int('--in-channels', values['in-channels']),
    headClasses: int('--head-classes', values['head-classes']), headCue: values['head-cue'] as TransferOptions['headCue'], channelPolicy: policy,
    freeze: values.freeze ? values.freeze.split(',') : [], strict: values.strict, seed: int('--seed', values.seed)
  })
  const fromIsBundle = (await fs.stat(from)).isDirectory()
  const previous = fromIsBundle ? (await loadBundle(from)).manifest.provenance : []
  const name = values.name ?? basename(values.out!)
  const generated = transferManifest(result, name, '', previous)
  const { model: modelPart, ...describe } = values.describe ? await readDescription(values.describe) : {}
  const model = modelPart ? { ...generated.model, ...(modelPart as object) } : generated.model
  const bundle = await writeBundle(values.out!, { ...generated, ...describe, model }, result.onnx, outRules)

  const r = result.report
  if (values.json) {
    io.out(JSON.stringify({ bundle: bundle.dir, config: result.config, report: r }, null, 2))
    return 0
  }
  const s = r.sourceConfig
  io.out(`source           ${r.source.path} (${r.source.format}, ${r.source.family}, sha256 ${r.source.sha256.slice(0, 16)}…)`)
  io.out(`                 ResNet-${s.depth} ${s.block}, ${s.deepStem ? 'deep' : 'plain'} stem, base width ${s.baseWidth}, ${s.inChannels} input channels, ${s.numClasses ?? 'no'} head classes`)
  for (const n of r.source.notes) io.out(`note             ${n}`)
  for (const o of r.operations.slice(1)) io.out(`${o.op.padEnd(16)} ${o.description}`)
  io.out(`matched          ${r.load.matched.length}`)
  io.out(`missing          ${r.load.missing.length}: ${list(r.load.missing)}`)
  io.out(`unexpected       ${r.load.unexpected.length}: ${list(r.load.unexpected)}`)
  io.out(`mismatched       ${r.load.mismatched.length}: ${list(r.load.mismatched.map((m) => `${m.name} [${m.source.join(',')}] vs [${m.target.join(',')}]`))}`)
  io.out(`bundle           ${bundle.dir} (${to}, ${result.config.inChannels} channels, ${to === 'resnet' ? 'classification' : 'segmentation'} into ${(result.config.kind === 'shared' ? result.config.segClasses : result.config.numClasses)} classes)`)
  return 0
}
