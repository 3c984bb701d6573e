/**
 * Configurations of the 3D ResNet family (seed 000, ptimz/mmcv style) and the models built on it.
 * The PyTorch twin of every definition here is test/fixtures/transfer/reference.py.
 */
import { SegError } from '../../errors'
import { boundedInt } from '../../limits'

export type ResNetDepth = 10 | 18 | 34 | 50 | 101 | 152
export type BlockKind = 'basic' | 'bottleneck'

/** Depth → block type and blocks per stage (layer1..layer4), as torchvision/mmcv. */
export const RESNET_DEPTHS: Record<ResNetDepth, { block: BlockKind; blocks: [number, number, number, number] }> = {
  10: { block: 'basic', blocks: [1, 1, 1, 1] },
  18: { block: 'basic', blocks: [2, 2, 2, 2] },
  34: { block: 'basic', blocks: [3, 4, 6, 3] },
  50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
  152: { block: 'bottleneck', blocks: [3, 8, 36, 3] }
}

export const EXPANSION: Record<BlockKind, number> = { basic: 1, bottleneck: 4 }

/** The shared encoder: stem, max-pool, layer1..layer4. */
export interface EncoderConfig {
  depth: ResNetDepth
  inChannels: number
  /** Planes of layer1 (layer k has baseWidth·2^(k-1) planes, ×4 out for bottlenecks). Default 64. */
  baseWidth?: number
  /** Stem output channels. Default = baseWidth (mmcv: stem_channels = base_channels = 64). */
  stemChannels?: number
  /** true (default): three 3x3x3 conv-BN-ReLU `stem.{0,1,2}`; false: `conv1` 7x7x7 + `bn1`. */
  deepStem?: boolean
  /** Seed of the default initialisation of parameters absent from the given weights. Default 0. */
  seed?: number
}

/** ResNet classifier: encoder + global average pool + `head_fc`. Output 'class_logits' [N, numClasses]. */
export interface ResNetConfig extends EncoderConfig {
  kind?: 'resnet'
  numClasses: number
}

/** ResUNet (seed 000): encoder + UNet decoder. Output 'seg_logits' [N, numClasses, D, H, W]. */
export interface ResUNetConfig extends EncoderConfig {
  kind: 'resunet'
  numClasses: number
  /** Output channels of decoder_0..decoder_3; default `defaultDecoderChannels`. */
  decoderChannels?: number[]
}

/**
 * What the shared model's classification head reads besides the global average of layer4:
 * 'tissue-means' adds, per segmentation class, the mean input intensity (averaged over input channels)
 * weighted by the class probability to the fourth power (reference.py `tissue_means`), so head_fc has
 * layer4 width + segClasses inputs. A scan's contrast family is the order of its tissue intensities,
 * which these numbers carry directly (docs/model-card.md).
 */
export type HeadCue = 'tissue-means'
export const HEAD_CUES: readonly HeadCue[] = ['tissue-means']

/** One encoder pass, two heads: 'seg_logits' [N, segClasses, D, H, W] and 'class_logits' [N, numClasses]. */
export interface SharedModelConfig extends EncoderConfig {
  kind: 'shared'
  segClasses: number
  numClasses: number
  decoderChannels?: number[]
  /** Absent: head_fc reads the pooled encoder output only. */
  headCue?: HeadCue
}

export type ArchitectureConfig = ResNetConfig | ResUNetConfig | SharedModelConfig

/** An encoder config with every default filled in and every value checked. */
export interface ResolvedEncoder {
  depth: ResNetDepth
  block: BlockKind
  blocks: number[]
  inChannels: number
  baseWidth: number
  stemChannels: number
  deepStem: boolean
  seed: number
  /** Output channels of encoders 0..4: [stem, layer1, layer2, layer3, layer4]. */
  widths: number[]
}

/** The number of classes of each head of `cfg`, checked against LIMITS.classes. */
export function checkClasses(cfg: ArchitectureConfig): void {
  boundedInt('numClasses', cfg.numClasses, 'classes')
  if (cfg.kind === 'shared') boundedInt('segClasses', cfg.segClasses, 'classes')
}

export function resolveEncoder(cfg: EncoderConfig): ResolvedEncoder {
  const spec = RESNET_DEPTHS[cfg.depth]
  if (!spec) throw new SegError('BAD_ARGUMENT', `ResNet depth must be one of 10, 18, 34, 50, 101, 152, got ${cfg.depth}`)
  const baseWidth = boundedInt('baseWidth', cfg.baseWidth ?? 64, 'layerWidth')
  const stemChannels = boundedInt('stemChannels', cfg.stemChannels ?? baseWidth, 'layerWidth')
  const deepStem = cfg.deepStem ?? true
  if (deepStem && stemChannels % 2 !== 0) {
    throw new SegError('BAD_ARGUMENT', `a deep stem needs an even stemChannels (its first convs have stemChannels/2), got ${stemChannels}`)
  }
  const e = EXPANSION[spec.block]
  return {
    depth: cfg.depth, block: spec.block, blocks: [...spec.blocks],
    inChannels: boundedInt('inChannels', cfg.inChannels, 'channels'), baseWidth, stemChannels, deepStem,
    seed: cfg.seed ?? 0,
    widths: [stemChannels, baseWidth * e, baseWidth * 2 * e, baseWidth * 4 * e, baseWidth * 8 * e]
  }
}

/**
 * Default decoder widths for levels 0..3: [stem width, base, 2·base, 4·base] — the skip widths for
 * basic blocks, a quarter of them for bottlenecks (keeps a full-width ResNet-50 UNet near 73 M
 * parameters instead of ~200 M).
 */
export function defaultDecoderChannels(enc: ResolvedEncoder): number[] {
  return [enc.stemChannels, enc.baseWidth, enc.baseWidth * 2, enc.baseWidth * 4]
}

export function resolveDecoderChannels(enc: ResolvedEncoder, given?: number[]): number[] {
  if (!given) return defaultDecoderChannels(enc)
  if (given.length !== 4) throw new SegError('BAD_ARGUMENT', `decoderChannels needs 4 widths (levels 0..3), got ${given.length}`)
  return given.map((c, i) => boundedInt(`decoderChannels[${i}]`, c, 'layerWidth'))
}
