/**
 * The TypeScript-built ONNX with weights imported from PyTorch's state_dict (.safetensors, read by
 * the checkpoint reader) matches PyTorch's outputs (fixtures made by
 * test/fixtures/transfer/make_fixtures.py) to max abs error ≤ 1e-4.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { readSafetensors } from '../../src/engine/checkpoint/safetensors'
import { decodeModel } from '../../src/engine/onnx'
import {
  type ArchitectureConfig, buildModel, buildResNet, buildResUNet, expectedParameters, mapResNetKeysToResUNet
} from '../../src/engine/transfer/architectures'

const DIR = join(__dirname, '../fixtures/transfer')
const index = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8')) as {
  input: { file: string; shape: number[] }
  models: Record<string, {
    config: ArchitectureConfig
    safetensors: string
    outputs: Record<string, { file: string; shape: number[] }>
    state_dict: [string, number[]][]
  }>
}

function readF32(file: string): Float32Array {
  const b = readFileSync(join(DIR, file))
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

const input = readF32(index.input.file)

/** Initializer name → its stored bytes (views into the model). */
function rawInitializers(model: Uint8Array): Map<string, Buffer> {
  const g = decodeModel(model).graph
  return new Map(g.initializers.map((t) => [t.name, Buffer.from(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength)]))
}

const bytesOf = (d: Float32Array | BigInt64Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)

describe('ONNX built in TypeScript vs PyTorch (fixtures)', () => {
  for (const [name, fx] of Object.entries(index.models)) {
    it(`${name}: every output within 1e-4 of PyTorch`, async () => {
      const weights = await readSafetensors(join(DIR, fx.safetensors))
      const bytes = buildModel(fx.config, weights)
      const session = await ort.InferenceSession.create(bytes)
      const result = await session.run({ input: new ort.Tensor('float32', input, index.input.shape) })
      for (const [out, ref] of Object.entries(fx.outputs)) {
        expect(result[out].dims).toEqual(ref.shape)
        const err = maxAbsDiff(result[out].data as Float32Array, readF32(ref.file))
        console.log(`parity ${name}.${out}: max abs error ${err.toExponential(3)}`)
        expect(err).toBeLessThanOrEqual(1e-4)
      }
    })

    it(`${name}: expectedParameters lists PyTorch's state_dict keys, order and shapes`, () => {
      let expected = expectedParameters(fx.config)
      if (fx.config.kind === 'resunet') expected = mapResNetKeysToResUNet(expected)
      expect([...expected.entries()]).toEqual(fx.state_dict)
    })
  }

  it('every imported weight lands in the ONNX byte-for-byte under its ResNet name', async () => {
    const weights = await readSafetensors(join(DIR, index.models.resnet18.safetensors))
    const inits = rawInitializers(buildModel(index.models.resnet18.config, weights))
    const differing = [...inits].filter(([k, raw]) => !raw.equals(bytesOf(weights.get(k)!.data))).map(([k]) => k)
    expect(differing).toEqual([])
    // Everything except the num_batches_tracked counters is an initializer.
    expect(inits.size).toBe([...weights.keys()].filter((k) => !k.endsWith('num_batches_tracked')).length)
  })
})

describe('seed 000 shapes: ResUNet from a ResNet-50 (4 in, 8 classes)', () => {
  const encoder = { depth: 50, inChannels: 4, baseWidth: 8, deepStem: true } as const

  it('maps [1,4,64,64,64] to [1,8,64,64,64] (slim width 8, random init)', async () => {
    const session = await ort.InferenceSession.create(buildResUNet({ kind: 'resunet', numClasses: 8, ...encoder }))
    const x = new Float32Array(4 * 64 ** 3).map((_, i) => Math.sin(i))
    const out = (await session.run({ input: new ort.Tensor('float32', x, [1, 4, 64, 64, 64]) })).seg_logits
    expect(out.dims).toEqual([1, 8, 64, 64, 64])
  })

  it('its encoder initializers are byte-identical to the ResNet-50\'s (same seed, same names)', () => {
    const resnet = rawInitializers(buildResNet({ numClasses: 8, ...encoder }))
    const unet = rawInitializers(buildResUNet({ kind: 'resunet', numClasses: 8, ...encoder }))
    const encoderKeys = [...resnet.keys()].filter((k) => !k.startsWith('head_fc.'))
    expect(encoderKeys.length).toBeGreaterThan(100)
    expect(encoderKeys.filter((k) => !unet.get(k)?.equals(resnet.get(k)!))).toEqual([])
  })

  it('the full-width seed ResNet-50 (in 2) has the seed\'s first and last weight shapes', () => {
    const p = expectedParameters({ depth: 50, inChannels: 2, numClasses: 4 })
    expect(p.get('stem.0.conv.weight')).toEqual([32, 2, 3, 3, 3])
    expect(p.get('head_fc.weight')).toEqual([4, 2048])
    expect([...p.keys()].slice(0, 6)).toEqual(['stem.0.conv.weight', 'stem.0.bn.weight', 'stem.0.bn.bias',
      'stem.0.bn.running_mean', 'stem.0.bn.running_var', 'stem.0.bn.num_batches_tracked'])
  })
})

describe('encoder sharing', () => {
  it('the two-head model stores each encoder initializer once and runs the encoder once', () => {
    const cfg = index.models.shared10.config
    const g = decodeModel(buildModel(cfg)).graph
    const names = g.initializers.map((t) => t.name)
    expect(new Set(names).size).toBe(names.length)
    const stored = [...expectedParameters(cfg).keys()].filter((k) => !k.endsWith('num_batches_tracked'))
    expect(names).toEqual(stored)
    for (const w of names.filter((n) => /^(conv1|layer\d)\./.test(n))) {
      expect(g.nodes.filter((n) => n.inputs.includes(w)).length).toBe(1)
    }
  })
})

describe('dynamic batch and spatial size', () => {
  it('shared model: a batch of two copies of the fixture input gives PyTorch\'s outputs twice', async () => {
    const fx = index.models.shared10
    const session = await ort.InferenceSession.create(buildModel(fx.config, await readSafetensors(join(DIR, fx.safetensors))))
    const twice = new Float32Array(input.length * 2)
    twice.set(input)
    twice.set(input, input.length)
    const [, ...rest] = index.input.shape
    const result = await session.run({ input: new ort.Tensor('float32', twice, [2, ...rest]) })
    for (const [out, ref] of Object.entries(fx.outputs)) {
      const expected = readF32(ref.file)
      const both = new Float32Array(expected.length * 2)
      both.set(expected)
      both.set(expected, expected.length)
      expect(result[out].dims).toEqual([2, ...ref.shape.slice(1)])
      expect(maxAbsDiff(result[out].data as Float32Array, both)).toBeLessThanOrEqual(1e-4)
    }
  })

  it('ResUNet runs on a non-cubic size that is not a multiple of 32 ([1,2,20,28,36])', async () => {
    const session = await ort.InferenceSession.create(buildModel(index.models.resunet10.config))
    const x = new Float32Array(2 * 20 * 28 * 36).map((_, i) => Math.cos(i))
    const out = (await session.run({ input: new ort.Tensor('float32', x, [1, 2, 20, 28, 36]) })).seg_logits
    expect(out.dims).toEqual([1, 3, 20, 28, 36])
  })
})

describe('default initialisation', () => {
  const cfg = { depth: 10, inChannels: 2, numClasses: 4, baseWidth: 8 } as const

  it('is reproducible for a seed and differs between seeds', () => {
    const a = rawInitializers(buildResNet(cfg)).get('layer2.0.conv1.weight')!
    expect(a.equals(rawInitializers(buildResNet(cfg)).get('layer2.0.conv1.weight')!)).toBe(true)
    expect(a.equals(rawInitializers(buildResNet({ ...cfg, seed: 1 })).get('layer2.0.conv1.weight')!)).toBe(false)
  })

  it('draws convs Kaiming-normal (fan_out) and sets BN to the identity (1, 0, 0, 1)', () => {
    const inits = rawInitializers(buildResNet({ ...cfg, baseWidth: 32 }))
    const f32 = (k: string) => { const b = inits.get(k)!; return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) }
    const w = f32('layer3.0.conv2.weight') // [128, 128, 3, 3, 3]
    const mean = w.reduce((a, v) => a + v, 0) / w.length
    const std = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length)
    const target = Math.sqrt(2 / (128 * 27))
    expect(Math.abs(mean)).toBeLessThan(0.01 * target * 10)
    expect(Math.abs(std / target - 1)).toBeLessThan(0.01)
    expect([...f32('layer3.0.bn2.weight')].every((v) => v === 1)).toBe(true)
    expect([...f32('layer3.0.bn2.bias')].every((v) => v === 0)).toBe(true)
    expect([...f32('layer3.0.bn2.running_mean')].every((v) => v === 0)).toBe(true)
    expect([...f32('layer3.0.bn2.running_var')].every((v) => v === 1)).toBe(true)
  })

  it('uses a given weight and rejects one whose shape differs', () => {
    const w = { dims: [4, 32], data: new Float32Array(128).fill(0.25) }
    const inits = rawInitializers(buildResNet({ ...cfg, baseWidth: 4 }, new Map([['head_fc.weight', w]])))
    expect(inits.get('head_fc.weight')!.equals(bytesOf(w.data))).toBe(true)
    expect(() => buildResNet(cfg, new Map([['head_fc.weight', w]]))).toThrow(/head_fc.weight.*\[4,32\].*\[4,64\]/)
  })
})
