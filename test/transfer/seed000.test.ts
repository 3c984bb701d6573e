/**
 * Seed 000 end to end: a ResNet-50 (2 channels, 4 classes, deep stem; slim widths) → 4 channels,
 * 8 classes; ResNet → ResUNet (encoder shared byte for byte); ResUNet bundle → ResNet again.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { decodeModel } from '../../src/engine/onnx'
import { fromOnnxTensor } from '../../src/engine/onnx/graph'
import { transfer, transferManifest, type TransferResult } from '../../src/engine/transfer/ops'
import { writeBundle, parseManifest } from '../../src/engine/bundle/bundle'

const FIX = join(__dirname, '../fixtures/checkpoints')
const SOURCE = join(FIX, 'seed000-resnet50-slim.pth')
const expected = JSON.parse(readFileSync(join(FIX, 'seed000-expected.json'), 'utf8'))
const sourceKeys: string[] = expected.keys

/** name → raw initializer bytes of an ONNX model. */
function initializerBytes(onnx: Uint8Array): Map<string, Uint8Array> {
  return new Map(decodeModel(onnx).graph.initializers.map((t) => [t.name, t.rawData ?? new Uint8Array(0)]))
}
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

describe('seed 000: ResNet-50 (2 ch, 4 classes) → 4 channels, 8 classes', () => {
  let resnet: TransferResult
  let resunet: TransferResult

  it("adapts stem.0.conv.weight exactly as the seed's adapt_input_conv (F.interpolate linear) and reports only head_fc missing", async () => {
    resnet = await transfer({ from: SOURCE, to: 'resnet', inChannels: 4, classes: 8, date: new Date('2026-01-01T00:00:00Z') })
    const stem = fromOnnxTensor(decodeModel(resnet.onnx).graph.initializers.find((t) => t.name === 'stem.0.conv.weight')!)
    const gold = expected.stem_weight_adapted_to_4
    expect(stem.dims).toEqual(gold.dims)
    let err = 0
    for (let i = 0; i < gold.data.length; i++) err = Math.max(err, Math.abs((stem.data as Float32Array)[i] - gold.data[i]))
    console.log(`seed000 stem.0.conv.weight ${JSON.stringify(stem.dims)}: max |error| vs PyTorch = ${err}`)
    expect(err).toBeLessThanOrEqual(1e-6)

    const load = resnet.report.load
    expect(load.missing).toEqual(['head_fc.weight', 'head_fc.bias'])
    expect(load.unexpected).toEqual([])
    expect(load.mismatched).toEqual([])
    expect(load.matched).toEqual(sourceKeys.filter((k) => !k.startsWith('head_fc.')))
    console.log(`seed000 resnet load report: ${load.matched.length} matched, missing ${JSON.stringify(load.missing)}, unexpected ${JSON.stringify(load.unexpected)}`)
    expect(resnet.report.operations.map((o) => o.op)).toEqual(['read', 'adapt-input-conv', 'drop-head', 'load', 'initialize', 'build'])
    expect(resnet.config).toMatchObject({ kind: 'resnet', depth: 50, inChannels: 4, numClasses: 8, baseWidth: 4, deepStem: true })
  })

  it('builds the ResUNet from it: [1,4,64,64,64] → [1,8,64,64,64] in onnxruntime, encoder initializers byte-identical to the ResNet', async () => {
    resunet = await transfer({ from: SOURCE, to: 'resunet', inChannels: 4, classes: 8, freeze: ['stem', 'layer1', 'layer2'] })
    const session = await ort.InferenceSession.create(resunet.onnx)
    const n = 64 ** 3 * 4
    const x = new Float32Array(n)
    for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.001)
    const out = (await session.run({ input: new ort.Tensor('float32', x, [1, 4, 64, 64, 64]) })).seg_logits
    expect(out.dims).toEqual([1, 8, 64, 64, 64])
    expect((out.data as Float32Array).every(Number.isFinite)).toBe(true)

    const a = initializerBytes(resnet.onnx)
    const b = initializerBytes(resunet.onnx)
    const encoder = [...a.keys()].filter((k) => !k.startsWith('head_fc.'))
    expect(encoder.length).toBe(sourceKeys.filter((k) => !k.startsWith('head_fc.') && !k.endsWith('num_batches_tracked')).length)
    for (const k of encoder) expect(equalBytes(a.get(k)!, b.get(k)!), k).toBe(true)

    const load = resunet.report.load
    expect(load.unexpected).toEqual(['head_fc.weight', 'head_fc.bias'])
    expect(load.missing.every((k) => /^(decoder_\d|seg_head)\./.test(k))).toBe(true)
    expect(load.mismatched).toEqual([])
    expect(resunet.manifestPatch.architecture.frozen).toEqual(['stem', 'layer1', 'layer2'])
  })

  it('ResUNet bundle → ResNet: the encoder comes back unchanged, with a new 8-class head and provenance of both steps', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'seed000-')), 'resunet')
    await writeBundle(dir, transferManifest(resunet, 'seed000 resunet'), resunet.onnx)
    const back = await transfer({ from: dir, to: 'resnet', classes: 8 })
    expect(back.report.source.format).toBe('bundle')
    expect(back.report.load.missing).toEqual(['head_fc.weight', 'head_fc.bias'])
    expect(back.report.load.unexpected.every((k) => /^(decoder_\d|seg_head)\./.test(k))).toBe(true)
    expect(back.report.load.mismatched).toEqual([])
    const a = initializerBytes(resunet.onnx)
    const c = initializerBytes(back.onnx)
    for (const k of c.keys()) if (!k.startsWith('head_fc.')) expect(equalBytes(a.get(k)!, c.get(k)!), k).toBe(true)

    const m = parseManifest(transferManifest(back, 'seed000 resnet again'))
    expect(m.classification).toEqual({ output: 'class_logits', classes: Array.from({ length: 8 }, (_, i) => `class ${i}`) })
    expect(m.model.output).toBe('class_logits')
    const p = m.provenance.at(-1)!
    expect(p.operation).toBe('transfer to resnet')
    expect(p.details?.sha256).toBe(createHash('sha256').update(readFileSync(join(dir, 'model.onnx'))).digest('hex'))
    expect(p.details?.load).toMatchObject({ missing: ['head_fc.weight', 'head_fc.bias'] })
  })

  it('to a shared model: one encoder, the source 4-class head kept (matched), the decoder new', async () => {
    const shared = await transfer({ from: SOURCE, to: 'shared', inChannels: 4, classes: 8 })
    expect(shared.config).toMatchObject({ kind: 'shared', segClasses: 8, numClasses: 4 })
    expect(shared.report.load.matched).toEqual(expect.arrayContaining(['head_fc.weight', 'head_fc.bias']))
    expect(shared.report.load.unexpected).toEqual([])
    expect(shared.report.load.missing.every((k) => /^(decoder_\d|seg_head)\./.test(k))).toBe(true)
    const m = parseManifest(transferManifest(shared, 'shared'))
    expect(m.model.output).toBe('seg_logits')
    expect(m.classification?.classes).toHaveLength(4)
  })

  it('the transfer manifest validates: 4 z-scored channels, whole-volume inference padded to 32, 8 softmax labels, provenance with the source sha256', () => {
    const m = parseManifest(transferManifest(resunet, 'seed000'))
    expect(m.channels.map((c) => c.name)).toEqual(['channel 0', 'channel 1', 'channel 2', 'channel 3'])
    expect(m.inference).toEqual({ mode: 'whole', divisibleBy: 32 })
    expect(m.output.labels.map((l) => l.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(m.classification).toBeUndefined()
    expect(m.provenance[0].details?.sha256).toBe(createHash('sha256').update(readFileSync(SOURCE)).digest('hex'))
  })
})
