/**
 * `segtransfer summary`: a torchinfo-like table of a bundle, an ONNX model or a checkpoint (whose
 * ResNet-family architecture is inferred from its weights and built with them).
 */
import { promises as fs } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadBundle } from '../../engine/bundle/bundle'
import { readCheckpoint, readCheckpointBytes } from '../../engine/checkpoint'
import { SegError } from '../../engine/errors'
import { LIMITS, boundedInt } from '../../engine/limits'
import { type ArchitectureConfig, type ResNetDepth, buildModel, mapResUNetKeysToResNet } from '../../engine/transfer/architectures'
import { freezeStages, inferHeadCue, inferResNetConfig, stagePrefixes } from '../../engine/transfer/ops'
import { formatSummary, summarizeModel } from '../../engine/transfer/summary'
import type { StateDict } from '../../engine/tensor'
import type { CommandIO } from '../io'

export const usage = `segtransfer summary <bundle|model.onnx|checkpoint> [--input-size 1,C,64,64,64] [--freeze stem,layer1,layer2] [--depth 3] [--json]
    Layer table (output shapes, parameters, kernel sizes, mult-adds, trainable), totals and memory.
    A checkpoint's architecture is inferred from its weights. --freeze defaults to the bundle's frozen stages.`

/** Build the ONNX of a checkpoint's inferred architecture, with its weights. */
function modelOfCheckpoint(state: StateDict, label: string): { onnx: Uint8Array; inChannels: number; note?: string } {
  const w = mapResUNetKeysToResNet(state)
  const c = inferResNetConfig(new Map([...w].map(([k, t]) => [k, t.dims])), label)
  const base = { depth: c.depth as ResNetDepth, inChannels: c.inChannels, baseWidth: c.baseWidth, stemChannels: c.stemChannels, deepStem: c.deepStem }
  const seg = w.get('seg_head.weight')?.dims[0]
  const dec = [0, 1, 2, 3].map((i) => w.get(`decoder_${i}.1.conv.weight`)?.dims[0])
  const decoderChannels = dec.every((d) => d !== undefined) ? (dec as number[]) : undefined
  const cfg: ArchitectureConfig = seg
    ? c.numClasses
      ? { ...base, kind: 'shared', segClasses: seg, numClasses: c.numClasses, decoderChannels, headCue: inferHeadCue(c, seg) }
      : { ...base, kind: 'resunet', numClasses: seg, decoderChannels }
    : { ...base, kind: 'resnet', numClasses: c.numClasses ?? 2 }
  const weights: StateDict = new Map([...w].filter(([, t]) => t.data instanceof Float32Array))
  const note = !seg && !c.numClasses ? `${label} has no head_fc; the table shows a default-initialised 2-class head` : undefined
  return { onnx: buildModel(cfg, weights), inChannels: c.inChannels, note }
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'input-size': { type: 'string' }, freeze: { type: 'string' }, depth: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true
  })
  if (positionals.length !== 1) throw new SegError('BAD_ARGUMENT', 'summary takes exactly one path: a bundle folder, an .onnx model or a checkpoint')
  const target = positionals[0]
  const stat = await fs.stat(target).catch(() => undefined)
  if (!stat) throw new SegError('FILE_NOT_FOUND', `${target} does not exist`)
  let onnx: Uint8Array
  let frozenStages: string[] = []
  let kind: 'resnet' | 'resunet' | 'shared' = 'shared'
  let inChannels: number | undefined
  if (stat.isDirectory()) {
    const b = await loadBundle(target)
    onnx = await readCheckpointBytes(b.modelPath)
    const arch = b.manifest.architecture ?? {}
    if (Array.isArray(arch.frozen)) frozenStages = arch.frozen.map(String)
    if (arch.kind === 'resnet' || arch.kind === 'resunet') kind = arch.kind
    inChannels = b.manifest.channels.length
  } else if (/\.onnx$/i.test(target)) {
    onnx = await readCheckpointBytes(target)
  } else {
    const ck = await readCheckpoint(target)
    const built = modelOfCheckpoint(ck.state, target)
    onnx = built.onnx
    inChannels = built.inChannels
    if (built.note) io.err(`note: ${built.note}`)
  }
  if (values.freeze !== undefined) frozenStages = values.freeze.split(',')
  const frozen = freezeStages(frozenStages, kind).flatMap(stagePrefixes)
  const inputSize = values['input-size'] ? values['input-size'].split(',').map(Number) : [1, inChannels ?? 1, 64, 64, 64]
  const limits = [LIMITS.summaryBatch, LIMITS.channels, LIMITS.axisVoxels, LIMITS.axisVoxels, LIMITS.axisVoxels]
  if (inputSize.length !== 5 || !inputSize.every((d, i) => Number.isInteger(d) && d > 0 && d <= limits[i])) {
    throw new SegError('BAD_ARGUMENT', `--input-size must be five positive integers N,C,D,H,W of at most ${limits.join(',')} (LIMITS.summaryBatch, channels, axisVoxels), got '${values['input-size']}'`)
  }
  const maxDepth = values.depth ? boundedInt('--depth', Number(values.depth), 'summaryDepth', 0) : undefined
  const s = summarizeModel(onnx, inputSize, { frozen, maxDepth })
  io.out(values.json ? JSON.stringify(s, null, 2) : formatSummary(s))
  return 0
}
