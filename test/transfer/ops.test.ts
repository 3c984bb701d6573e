import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { adaptInputConv, linearResizeWeights, type ChannelPolicy } from '../../src/engine/transfer/ops/adapt-input-conv'
import { checkLoadReport, compareShapes, summarizeReport } from '../../src/engine/transfer/ops/load-report'
import { inferResNetConfig } from '../../src/engine/transfer/ops/infer-config'
import type { Tensor } from '../../src/engine/tensor'

const FIX = join(__dirname, '../fixtures/checkpoints')
interface Golden { policy: ChannelPolicy; inChannels: number; weight: { dims: number[]; data: number[] }; expected: { dims: number[]; data: number[] } }
const goldens = JSON.parse(readFileSync(join(FIX, 'adapt-goldens.json'), 'utf8')) as Golden[]

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

describe('adaptInputConv matches PyTorch (goldens from make_fixtures.py, torch 1.13)', () => {
  for (const g of goldens) {
    const c = g.weight.dims[1]
    it(`${g.policy} ${c} → ${g.inChannels} on a [${g.weight.dims.join(',')}] weight equals PyTorch to 1e-6`, () => {
      const w: Tensor = { dims: g.weight.dims, data: Float32Array.from(g.weight.data) }
      const r = adaptInputConv(w, g.inChannels, g.policy)
      expect(r.dims).toEqual(g.expected.dims)
      const err = maxAbsDiff(r.data as Float32Array, g.expected.data)
      console.log(`adapt ${g.policy} ${c}->${g.inChannels}: max |error| vs PyTorch = ${err}`)
      expect(err).toBeLessThanOrEqual(1e-6)
    })
  }

  it("'interpolate' mixes channels as F.interpolate(mode='linear', align_corners=False): 2→4, 3→4, 3→1, 1→3", () => {
    // Effective coefficient of each source channel in each output channel.
    const mix = (c: number, n: number) => linearResizeWeights(c, n).map(({ i0, i1, w0, w1 }) => {
      const coef = new Array<number>(c).fill(0)
      coef[i0] += w0
      coef[i1] += w1
      return coef
    })
    expect(mix(2, 4)).toEqual([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    expect(mix(3, 4)).toEqual([[1, 0, 0], [0.375, 0.625, 0], [0, 0.625, 0.375], [0, 0, 1]])
    expect(mix(3, 1)).toEqual([[0, 1, 0]])
    expect(mix(1, 3)).toEqual([[1], [1], [1]])
  })

  it("'interpolate-scaled' is 'interpolate' × C/N", () => {
    const w: Tensor = { dims: [2, 2, 1, 1, 1], data: Float32Array.from([1, 3, -2, 5]) }
    const a = adaptInputConv(w, 4, 'interpolate').data as Float32Array
    const s = adaptInputConv(w, 4, 'interpolate-scaled').data as Float32Array
    expect(Array.from(s)).toEqual(Array.from(a, (v) => Math.fround(v * 0.5)))
  })

  it("'timm' refuses what timm cannot do (2 → 4, 5 → 1) naming the policy that works", () => {
    const w = (c: number): Tensor => ({ dims: [1, c, 1, 1, 1], data: new Float32Array(c) })
    expect(() => adaptInputConv(w(2), 4, 'timm')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringMatching(/--channel-policy interpolate/) }))
    expect(() => adaptInputConv(w(5), 1, 'timm')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }))
  })

  it('the same channel count is an unchanged copy for every policy', () => {
    const w: Tensor = { dims: [1, 2, 1, 1, 1], data: Float32Array.from([0.1, 0.2]) }
    for (const p of ['interpolate', 'timm', 'interpolate-scaled'] as const) {
      const r = adaptInputConv(w, 2, p)
      expect(Array.from(r.data as Float32Array)).toEqual(Array.from(w.data as Float32Array))
      expect(r.data).not.toBe(w.data)
    }
  })
})

describe('load report', () => {
  const target = new Map<string, number[]>([['stem.0.conv.weight', [4, 4, 3, 3, 3]], ['layer1.0.conv1.weight', [4, 4, 1, 1, 1]], ['head_fc.weight', [8, 16]], ['head_fc.bias', [8]]])

  it('sorts names into matched, missing, unexpected and shape mismatches', () => {
    const source = new Map<string, number[]>([['stem.0.conv.weight', [4, 2, 3, 3, 3]], ['layer1.0.conv1.weight', [4, 4, 1, 1, 1]], ['conv_seg.0.weight', [16, 8, 2, 2, 2]]])
    const r = compareShapes(source, target)
    expect(r).toEqual({
      matched: ['layer1.0.conv1.weight'],
      missing: ['head_fc.weight', 'head_fc.bias'],
      unexpected: ['conv_seg.0.weight'],
      mismatched: [{ name: 'stem.0.conv.weight', source: [4, 2, 3, 3, 3], target: [4, 4, 3, 3, 3] }]
    })
    expect(summarizeReport(r)).toBe('1 matched, 2 missing (head_fc.weight, head_fc.bias), 1 unexpected (conv_seg.0.weight), 1 shape mismatch (stem.0.conv.weight [4,2,3,3,3] vs [4,4,3,3,3])')
    // non-strict returns; strict throws one line with the counts and first names
    expect(() => checkLoadReport(r, source.keys(), target.keys(), { strict: false, label: 'a → b' })).not.toThrow()
    expect(() => checkLoadReport(r, source.keys(), target.keys(), { strict: true, label: 'a → b' })).toThrow(
      expect.objectContaining({ code: 'MODEL_MISMATCH', message: expect.stringMatching(/^a → b: strict load failed: 1 matched, 2 missing \(head_fc\.weight, head_fc\.bias\)/) }))
  })

  it('zero matched keys is an error even non-strict, naming the prefixes seen on both sides (MedicalNet failure mode)', () => {
    const source = new Map<string, number[]>([['module.stem.0.conv.weight', [4, 4, 3, 3, 3]], ['module.layer1.0.conv1.weight', [4, 4, 1, 1, 1]]])
    const r = compareShapes(source, target)
    expect(r.matched).toEqual([])
    expect(() => checkLoadReport(r, source.keys(), target.keys(), { strict: false, label: 'ck.pth → resnet' })).toThrow(
      expect.objectContaining({ code: 'MODEL_MISMATCH', message: expect.stringMatching(/no parameter matched .* start with module\. .* start with stem\. layer1\. head_fc\./) }))
  })

  it('strict mode tolerates names the operation re-initialises on purpose', () => {
    const source = new Map<string, number[]>([['stem.0.conv.weight', [4, 4, 3, 3, 3]], ['layer1.0.conv1.weight', [4, 4, 1, 1, 1]]])
    const r = compareShapes(source, target)
    expect(() => checkLoadReport(r, source.keys(), target.keys(), { strict: true, label: 'x', allowMissing: (n) => n.startsWith('head_fc.') })).not.toThrow()
  })
})

describe('inferResNetConfig', () => {
  it('infers depth 50, deep stem, widths and classes of the slim seed-000 ResNet from its shapes', () => {
    const exp = JSON.parse(readFileSync(join(FIX, 'seed000-expected.json'), 'utf8'))
    const cfg = inferResNetConfig(new Map(Object.entries(exp.shapes as Record<string, number[]>)))
    expect(cfg).toEqual({
      depth: 50, block: 'bottleneck', stageBlocks: [3, 4, 6, 3], deepStem: true, stemChannels: 4, baseWidth: 4,
      inChannels: 2, numClasses: 4, headInFeatures: 128, widths: [4, 16, 32, 64, 128], firstConv: 'stem.0.conv.weight'
    })
  })

  it('infers depth 10 with a plain stem and no head from MedicalNet names', () => {
    const exp = JSON.parse(readFileSync(join(FIX, 'medicalnet-expected.json'), 'utf8'))
    const shapes = new Map(Object.entries(exp.shapes as Record<string, number[]>).map(([k, v]) => [k.replace(/^module\./, ''), v]))
    const cfg = inferResNetConfig(shapes)
    expect(cfg).toMatchObject({ depth: 10, block: 'basic', deepStem: false, inChannels: 1, numClasses: null, baseWidth: 4, widths: [4, 4, 8, 16, 32], firstConv: 'conv1.weight' })
  })
})
