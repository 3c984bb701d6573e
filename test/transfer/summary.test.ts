/**
 * The summary's totals equal PyTorch's (test/fixtures/transfer/make_fixtures.py): parameters =
 * sum(p.numel() for p in model.parameters()) exactly, mult-adds = the script's forward-hook count.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GraphBuilder } from '../../src/engine/onnx'
import {
  type ArchitectureConfig, buildModel, buildResNet, expectedParameters, stateDictRole
} from '../../src/engine/transfer/architectures'
import { formatSummary, isFrozen, modulePathOf, summarizeModel } from '../../src/engine/transfer/summary'

const DIR = join(__dirname, '../fixtures/transfer')
const index = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8')) as {
  input: { shape: number[] }
  models: Record<string, { config: ArchitectureConfig; params_total: number; mult_adds: number; outputs: Record<string, { shape: number[] }> }>
}

describe('summary totals vs PyTorch (fixture script)', () => {
  for (const [name, fx] of Object.entries(index.models)) {
    it(`${name}: parameters = sum(p.numel()), mult-adds = the hook count, output shapes = PyTorch's`, () => {
      const s = summarizeModel(buildModel(fx.config), index.input.shape)
      console.log(`summary ${name}: params ${s.totalParams} (PyTorch ${fx.params_total}), mult-adds ${s.totalMultAdds} (script ${fx.mult_adds})`)
      expect(s.totalParams).toBe(fx.params_total)
      expect(s.totalMultAdds).toBe(fx.mult_adds)
      expect(Object.fromEntries(s.outputs.map((o) => [o.name, o.shape]))).toEqual(
        Object.fromEntries(Object.entries(fx.outputs).map(([k, v]) => [k, v.shape])))
    })
  }

  it('trainable/frozen split follows the frozen prefixes on parameter names (buffers excluded)', () => {
    const cfg = index.models.shared10.config
    const frozen = ['conv1', 'bn1', 'layer1']
    const s = summarizeModel(buildModel(cfg), index.input.shape, { frozen })
    let trainable = 0
    let all = 0
    for (const [k, dims] of expectedParameters(cfg)) {
      if (stateDictRole(k) !== 'parameter') continue
      const n = dims.reduce((a, b) => a * b, 1)
      all += n
      if (!isFrozen(k, frozen)) trainable += n
    }
    expect(s.totalParams).toBe(all)
    expect(s.trainableParams).toBe(trainable)
    expect(s.nonTrainableParams).toBe(all - trainable)
    const row = (p: string) => s.rows.find((r) => r.path === p)!
    expect(row('layer1').trainable).toBe('False')
    expect(row('layer2').trainable).toBe('True')
    expect(row('seg_head').trainable).toBe('True')
    expect(row('maxpool').trainable).toBe('--')
  })

  it('marks a layer with frozen and trainable parameters as Partial', () => {
    const s = summarizeModel(buildModel(index.models.resnet18.config), index.input.shape, { frozen: ['layer2.0.conv1'] })
    expect(s.rows.find((r) => r.path === 'layer2')!.trainable).toBe('Partial')
    expect(s.rows.find((r) => r.path === 'layer2.0.conv1')!.trainable).toBe('False')
  })
})

describe('summary layer tree', () => {
  it('gives the seed-000 ResNet-50 (in 2, 64^3) stage shapes and 46,226,116 parameters', () => {
    const s = summarizeModel(buildResNet({ depth: 50, inChannels: 2, numClasses: 4 }), [1, 2, 64, 64, 64])
    const shape = (p: string) => s.rows.find((r) => r.path === p)!.outputShape
    expect(shape('stem')).toEqual([1, 64, 32, 32, 32])
    expect(shape('maxpool')).toEqual([1, 64, 16, 16, 16])
    expect(shape('layer1')).toEqual([1, 256, 16, 16, 16])
    expect(shape('layer2')).toEqual([1, 512, 8, 8, 8])
    expect(shape('layer3')).toEqual([1, 1024, 4, 4, 4])
    expect(shape('layer4')).toEqual([1, 2048, 2, 2, 2])
    expect(shape('head_fc')).toEqual([1, 4])
    let expected = 0
    for (const [k, d] of expectedParameters({ depth: 50, inChannels: 2, numClasses: 4 })) {
      if (stateDictRole(k) === 'parameter') expected += d.reduce((a, b) => a * b, 1)
    }
    expect(s.totalParams).toBe(expected)
    expect(s.totalParams).toBe(46_226_116) // torch: sum(p.numel()) of reference.ResNet(50, 2, 4)
  }, 60_000)

  it('full-width seed ResUNet from a ResNet-50 (4 in, 8 classes) maps [1,4,64,64,64] to [1,8,64,64,64] (static shapes)', () => {
    const s = summarizeModel(buildModel({ kind: 'resunet', depth: 50, inChannels: 4, numClasses: 8 }), [1, 4, 64, 64, 64], { maxDepth: 1 })
    expect(s.outputs).toEqual([{ name: 'seg_logits', shape: [1, 8, 64, 64, 64] }])
    expect(s.rows.find((r) => r.path === 'layer4')!.outputShape).toEqual([1, 2048, 2, 2, 2])
    expect(s.rows.find((r) => r.path === 'decoder_0')!.outputShape).toEqual([1, 64, 32, 32, 32])
  }, 60_000)

  it('row parameters of a parent equal the sum of its children; kernel shown on single-conv rows', () => {
    const s = summarizeModel(buildModel(index.models.resnet50.config), index.input.shape, { maxDepth: 4 })
    const kids = s.rows.filter((r) => r.path.startsWith('layer3.0.') && r.depth === 2)
    expect(kids.reduce((a, r) => a + r.params, 0)).toBe(s.rows.find((r) => r.path === 'layer3.0')!.params)
    expect(s.rows.find((r) => r.path === 'layer3.0.conv2')!.kernelSize).toEqual([3, 3, 3])
    expect(s.rows.find((r) => r.path === 'layer3.0')!.kernelSize).toBeNull()
    expect(s.rows.find((r) => r.path === 'layer3.0.downsample.0')!.kernelSize).toEqual([1, 1, 1])
  })

  it('counts an initializer shared by two convs once and marks the reuse (recursive)', () => {
    const w = { dims: [2, 2, 1, 1, 1], data: new Float32Array(4).fill(0.5) }
    const g = new GraphBuilder()
    g.input('input', 'float32', ['N', 2, 'D', 'H', 'W']).initializer('enc.weight', w)
    g.node('Conv', ['input', 'enc.weight'], ['a'], { kernel_shape: [1, 1, 1] }, 'enc/Conv')
    g.node('Conv', ['a', 'enc.weight'], ['b'], { kernel_shape: [1, 1, 1] }, 'again/Conv')
    g.output('b', 'float32', ['N', 2, 'D', 'H', 'W'])
    const s = summarizeModel(g.toModel({ opset: 17 }), [1, 2, 4, 4, 4])
    expect(s.totalParams).toBe(4)
    expect(s.totalMultAdds).toBe(2 * 2 * 64 * 2)
    expect(s.rows.find((r) => r.path === 'again')!.recursive).toBe(true)
    expect(formatSummary(s)).toContain('(recursive)')
  })

  it('folds PyTorch-exported node names into module paths', () => {
    const node = (name: string) => ({ name, opType: 'Conv', inputs: [], outputs: [], domain: '', attributes: [], unknown: [] })
    expect(modulePathOf(node('/layer1/layer1.0/conv1/Conv'), [])).toBe('layer1.0.conv1')
    expect(modulePathOf(node('stem.0.conv/Conv'), [])).toBe('stem.0.conv')
    expect(modulePathOf(node(''), ['18.weight'])).toBe('18')
  })

  it('renders a torchinfo-style table with totals and sizes', () => {
    const text = formatSummary(summarizeModel(buildModel(index.models.resnet10.config), index.input.shape, { frozen: ['conv1'] }))
    for (const line of ['Total params: 59,204', 'Trainable params:', 'Non-trainable params: 2,744', 'Total mult-adds: 5.13 M',
      'Input size (MB): 0.11', 'Forward pass size (MB):', 'Params size (MB): 0.24', 'Estimated Total Size (MB):']) {
      expect(text).toContain(line)
    }
    expect(text).toMatch(/conv1: 1 .*\[1, 4, 12, 12, 12\]\s+\(2,744\)\s+\[7, 7, 7\]/)
  })
})
