/**
 * Small real ONNX models built in the tests (through the project's own GraphBuilder) and wrapped in
 * bundles, for exercising the pipeline's geometry without a large network.
 */
import { GraphBuilder } from '../../src/engine/onnx'
import { writeBundle, type Bundle } from '../../src/engine/bundle/bundle'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'
import type { ManifestInput } from '../../src/engine/bundle/manifest'

/** Deterministic pseudo-random floats in [-1, 1) (LCG), so the tests need no fixtures. */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

/**
 * A 3x3x3 convolution (zero padded) from C channels to K logits: orientation-sensitive (its kernel is
 * not symmetric), so a wrong reorientation would change its output.
 */
export function conv3Model(C: number, K: number, seed = 1): Uint8Array {
  const rnd = mulberry32(seed)
  const w = Float32Array.from({ length: K * C * 27 }, () => rnd() * 2 - 1)
  const b = Float32Array.from({ length: K }, () => rnd() * 0.2 - 0.1)
  const g = new GraphBuilder('conv3')
  g.input('image', 'float32', ['N', C, 'D', 'H', 'W'])
  g.initializer('w', { dims: [K, C, 3, 3, 3], data: w })
  g.initializer('b', { dims: [K], data: b })
  g.node('Conv', ['image', 'w', 'b'], ['logits'], { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] })
  g.output('logits', 'float32', ['N', K, 'D', 'H', 'W'])
  return g.toModel({ opset: 17 })
}

export type ManifestOverrides = Omit<Partial<ManifestInput>, 'channels'> & {
  /** A channel count (z-scored channels) or the channel list itself. */
  channels?: number | ManifestInput['channels']
  classes?: number
}

export function testManifest(over: ManifestOverrides): ManifestInput {
  const C = typeof over.channels === 'number' ? over.channels : (over.channels?.length ?? 1)
  const K = over.classes ?? 2
  const { channels, classes: _k, ...rest } = over
  return {
    format: 'segtransfer-bundle',
    version: 1,
    name: 'test conv3',
    model: { file: 'model.onnx', input: 'image', output: 'logits', axisOrder: 'zyx' },
    channels: Array.isArray(channels) ? channels : Array.from({ length: C }, (_, i) => ({ name: `ch${i}`, modality: 'other', normalization: { kind: 'zscore' as const } })),
    geometry: { mode: 'native' },
    inference: { mode: 'whole', divisibleBy: 1 },
    output: { kind: 'softmax', labels: Array.from({ length: K }, (_, i) => ({ value: i, name: `class ${i}`, color: [i * 60, 100, 200] as [number, number, number] })) },
    ...rest
  }
}

export async function conv3Bundle(dir: string, over: ManifestOverrides = {}, modelChannels?: number): Promise<Bundle> {
  const m = testManifest(over)
  return writeBundle(dir, m, conv3Model(modelChannels ?? m.channels.length, m.output.labels.length))
}
