/**
 * Inferring a ResNet's configuration from its parameter names and shapes (ptimz/mmcv names, after
 * checkpoint/names.ts mapping), so that a user only passes a file:
 * - stem: `stem.0/1/2.conv.weight` → deep stem (width = stem.2's out channels); `conv1.weight` → plain stem
 * - in channels: the first conv's dim 1
 * - block: `layer1.0.conv3.weight` present → bottleneck, else basic
 * - blocks per stage: the distinct block indices of `layerN.<j>.`; depth from the standard table
 * - base width: `layer1.0.conv1.weight` out channels (planes)
 * - classes: `head_fc.weight` rows (absent → no classification head); its columns: what the head reads
 *   (layer4 width: the pooled encoder alone; more: a head cue, see SharedModelConfig.headCue)
 */
import { SegError } from '../../errors'
import { type BlockKind, type HeadCue, RESNET_DEPTHS } from '../architectures'

export interface InferredResNet {
  depth: number
  block: BlockKind
  stageBlocks: number[]
  deepStem: boolean
  /** Output channels of the stem. */
  stemChannels: number
  /** Planes of layer1 (64 in the standard ResNets). */
  baseWidth: number
  inChannels: number
  /** Rows of head_fc.weight; null when the checkpoint has no classification head. */
  numClasses: number | null
  /** Columns of head_fc.weight (its input width); null without a classification head. */
  headInFeatures: number | null
  /** Output channels of [stem, layer1, layer2, layer3, layer4]. */
  widths: number[]
  /** Name of the first convolution's weight (the one channel adaptation changes). */
  firstConv: string
}

/** Infer the ResNet configuration from name → dims (ResNet names). */
export function inferResNetConfig(shapes: ReadonlyMap<string, readonly number[]>, label = 'checkpoint'): InferredResNet {
  const dims = (k: string): readonly number[] | undefined => shapes.get(k)
  const fail = (why: string): SegError => new SegError('UNSUPPORTED', `${label}: cannot infer a ResNet from its parameters (${why}); expected ptimz/mmcv, MedicalNet or ResUNet-encoder names`)
  const deepStem = dims('stem.0.conv.weight') !== undefined
  const firstConv = deepStem ? 'stem.0.conv.weight' : 'conv1.weight'
  const first = dims(firstConv)
  if (!first || first.length !== 5) throw fail(`no 3D first convolution (stem.0.conv.weight or conv1.weight)`)
  const stemOut = deepStem ? dims('stem.2.conv.weight')?.[0] : first[0]
  if (stemOut === undefined) throw fail('the deep stem has no stem.2')
  const bottleneck = dims('layer1.0.conv3.weight') !== undefined
  const stageBlocks: number[] = []
  for (let s = 1; s <= 4; s++) {
    const idx = new Set<number>()
    for (const k of shapes.keys()) {
      const m = new RegExp(`^layer${s}\\.(\\d+)\\.`).exec(k)
      if (m) idx.add(Number(m[1]))
    }
    if (idx.size === 0) throw fail(`layer${s} is missing`)
    if (Math.max(...idx) !== idx.size - 1) throw fail(`layer${s} has gaps in its block numbering`)
    stageBlocks.push(idx.size)
  }
  const block: BlockKind = bottleneck ? 'bottleneck' : 'basic'
  const depth = Object.entries(RESNET_DEPTHS).find(([, d]) => d.block === block && d.blocks.every((b, i) => b === stageBlocks[i]))?.[0]
  if (!depth) throw fail(`${block} blocks per stage [${stageBlocks.join(', ')}] match no standard depth (10, 18, 34, 50, 101, 152)`)
  const base = dims('layer1.0.conv1.weight')?.[0]
  if (!base) throw fail('layer1.0.conv1.weight is missing')
  const last = bottleneck ? 'conv3' : 'conv2'
  const widths = [stemOut, ...stageBlocks.map((n, s) => dims(`layer${s + 1}.${n - 1}.${last}.weight`)?.[0] ?? NaN)]
  if (widths.some((w) => !Number.isFinite(w))) throw fail('a stage has no last convolution')
  const head = dims('head_fc.weight')
  return {
    depth: Number(depth), block, stageBlocks, deepStem, stemChannels: stemOut, baseWidth: base,
    inChannels: first[1], numClasses: head ? head[0] : null, headInFeatures: head?.[1] ?? null, widths, firstConv
  }
}

/**
 * The cue a checkpoint's classification head reads, from its input width: layer4 width + the
 * checkpoint's segmentation classes (`seg_head.weight` rows) → 'tissue-means'; else none.
 */
export function inferHeadCue(src: InferredResNet, segClasses: number | undefined): HeadCue | undefined {
  return segClasses !== undefined && src.headInFeatures === src.widths[4] + segClasses ? 'tissue-means' : undefined
}
