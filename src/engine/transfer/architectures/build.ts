/**
 * ONNX builders for the ResNet family (opset 17, IR 8). Input 'input' [N, C, D, H, W] with
 * symbolic N, D, H, W: every op is size-agnostic (the decoder resizes to each skip's actual
 * size), so any spatial size works for which the encoder's strided steps leave ≥ 1 voxel.
 * Outputs: ResNet 'class_logits' [N, M]; ResUNet 'seg_logits' [N, K, D, H, W]; shared model both,
 * from one encoder pass whose initializers are stored once.
 *
 * `weights` (optional) may use ResNet names or the seed ResUNet's `encoder_k.*` names; entries the
 * architecture has are used (shape must match, else MODEL_MISMATCH), the rest get the default
 * initialisation (net.ts), extra entries are ignored. Reporting what was loaded is the load
 * report's job (transfer/ops).
 */
import type { StateDict } from '../../tensor'
import {
  type ArchitectureConfig, type ResNetConfig, type ResUNetConfig, type SharedModelConfig,
  checkClasses, resolveDecoderChannels, resolveEncoder
} from './config'
import { emitClassHead, emitDecoder, emitEncoder } from './encoder'
import { hasResUNetKeys, mapResUNetKeysToResNet } from './keys'
import { Net } from './net'

export const OPSET = 17
const PRODUCER = 'segtransfer'

function describe(net: Net, cfg: ArchitectureConfig): void {
  const enc = resolveEncoder(cfg)
  checkClasses(cfg)
  const input = 'input'
  net.g?.input(input, 'float32', ['N', enc.inChannels, 'D', 'H', 'W'])
  const skips = emitEncoder(net, enc, input)
  const kind = cfg.kind ?? 'resnet'
  if (kind === 'resnet' || kind === 'shared') {
    // Shared model: seg head first, so the state_dict order matches reference.py's SharedModel.
    if (kind === 'shared') {
      const c = cfg as SharedModelConfig
      const seg = emitDecoder(net, enc, resolveDecoderChannels(enc, c.decoderChannels), skips, input, c.segClasses)
      rename(net, seg, 'seg_logits')
      net.g?.output('seg_logits', 'float32', ['N', c.segClasses, 'D', 'H', 'W'])
    }
    const cue = kind === 'shared' && (cfg as SharedModelConfig).headCue === 'tissue-means'
      ? { segLogits: 'seg_logits', input, segClasses: (cfg as SharedModelConfig).segClasses }
      : undefined
    const cls = emitClassHead(net, enc, skips[4], cfg.numClasses, cue)
    rename(net, cls, 'class_logits')
    net.g?.output('class_logits', 'float32', ['N', cfg.numClasses])
  } else {
    const c = cfg as ResUNetConfig
    const seg = emitDecoder(net, enc, resolveDecoderChannels(enc, c.decoderChannels), skips, input, c.numClasses)
    rename(net, seg, 'seg_logits')
    net.g?.output('seg_logits', 'float32', ['N', c.numClasses, 'D', 'H', 'W'])
  }
}

/** Renames the output of the node that produced `value` (always the last node emitted). */
function rename(net: Net, value: string, to: string): void {
  const nodes = net.g?.graph.nodes
  const last = nodes?.[nodes.length - 1]
  if (last && last.outputs[0] === value) last.outputs[0] = to
}

function toResNetNames(weights?: StateDict): StateDict | undefined {
  return weights && hasResUNetKeys(weights) ? mapResUNetKeysToResNet(weights) : weights
}

/** Serialized ONNX for any architecture config. */
export function buildModel(cfg: ArchitectureConfig, weights?: StateDict): Uint8Array {
  const net = new Net({ weights: toResNetNames(weights), seed: cfg.seed ?? 0, emit: true })
  describe(net, cfg)
  return net.g!.toModel({
    opset: OPSET, producer: PRODUCER,
    docString: `SegTransfer ${cfg.kind ?? 'resnet'} ResNet-${cfg.depth}`,
    metadata: { 'segtransfer.architecture': JSON.stringify({ ...cfg, kind: cfg.kind ?? 'resnet' }) }
  })
}

export const buildResNet = (cfg: ResNetConfig, weights?: StateDict): Uint8Array => buildModel({ ...cfg, kind: 'resnet' }, weights)
export const buildResUNet = (cfg: ResUNetConfig, weights?: StateDict): Uint8Array => buildModel(cfg, weights)
export const buildSharedModel = (cfg: SharedModelConfig, weights?: StateDict): Uint8Array => buildModel(cfg, weights)

/**
 * Every state_dict entry of the architecture (parameters and buffers, incl. BN
 * num_batches_tracked with dims []) in PyTorch's order, with ResNet names for the encoder
 * (use mapResNetKeysToResUNet for the seed ResUNet's names). No tensors are allocated.
 */
export function expectedParameters(cfg: ArchitectureConfig): Map<string, number[]> {
  const net = new Net({ seed: 0, emit: false })
  describe(net, cfg)
  return net.expected
}
