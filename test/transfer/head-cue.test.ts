/**
 * The shared model's 'tissue-means' head cue through the app's own import path (`transfer`): a
 * PyTorch checkpoint whose head_fc reads [pooled layer4, tissue means] (reference.py SharedModel with
 * head_cue='tissue-means', as training/fit_head.py writes) is recognised by its head's input width,
 * loads strictly and gives PyTorch's class logits; changing the cue drops the head on purpose.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { SegError } from '../../src/engine/errors'
import { transfer } from '../../src/engine/transfer/ops'
import { cli } from '../cli/run-cli'

const DIR = join(__dirname, '../fixtures/transfer')
const index = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'))
const fx = index.models.shared10cue
const SOURCE = join(DIR, fx.pth)

function readF32(file: string): Float32Array {
  const b = readFileSync(join(DIR, file))
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

async function classLogits(onnx: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx)
  const out = await session.run({ input: new ort.Tensor('float32', readF32(index.input.file), index.input.shape) })
  return out.class_logits.data as Float32Array
}

describe("shared model with the 'tissue-means' head cue", () => {
  it('is inferred from head_fc\'s input width (layer4 + seg classes), loads strictly and matches PyTorch\'s class logits to 1e-5', async () => {
    const r = await transfer({ from: SOURCE, to: 'shared', classes: fx.config.segClasses, strict: true })
    expect(r.config).toMatchObject({ kind: 'shared', headCue: 'tissue-means', segClasses: 3, numClasses: 4 })
    expect(r.report.sourceConfig.headInFeatures).toBe(r.report.sourceConfig.widths[4] + 3)
    expect(r.report.load.missing).toEqual([])
    expect(r.report.load.mismatched).toEqual([])
    const got = await classLogits(r.onnx)
    const want = readF32(fx.outputs.class_logits.file)
    const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])))
    console.log(`head cue: class_logits max abs error vs PyTorch ${err.toExponential(3)}`)
    expect(err).toBeLessThanOrEqual(1e-5)
  })

  it('--head-cue none drops head_fc (its inputs change) and initialises a plain head; the logits then differ', async () => {
    const r = await transfer({ from: SOURCE, to: 'shared', classes: 3, headCue: 'none' })
    expect(r.config).not.toHaveProperty('headCue')
    expect(r.report.operations.find((o) => o.op === 'drop-head')?.description).toBe(`dropped head_fc.* (its inputs change: ${r.report.sourceConfig.widths[4] + 3} → ${r.report.sourceConfig.widths[4]})`)
    expect(r.report.load.missing).toEqual(['head_fc.weight', 'head_fc.bias'])
    const got = await classLogits(r.onnx)
    const want = readF32(fx.outputs.class_logits.file)
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])))).toBeGreaterThan(1e-3)
  })

  it('a plain shared checkpoint gets the cue only when asked, and then its head is re-initialised (strict names it)', async () => {
    const plain = join(DIR, index.models.shared10.pth)
    const kept = await transfer({ from: plain, to: 'shared', classes: 3 })
    expect(kept.config).not.toHaveProperty('headCue')
    const cued = await transfer({ from: plain, to: 'shared', classes: 3, headCue: 'tissue-means' })
    expect(cued.config).toMatchObject({ headCue: 'tissue-means' })
    expect(cued.report.load.missing).toEqual(['head_fc.weight', 'head_fc.bias'])
  })

  it('an unknown --head-cue, or a cue for a model without a segmentation, is a one-line error', async () => {
    for (const to of ['shared', 'resnet'] as const) {
      const err = await transfer({ from: SOURCE, to, classes: 3, headCue: 'edges' as never }).catch((e) => e)
      expect(err).toBeInstanceOf(SegError)
      expect(err.message).toBe("--head-cue must be none or tissue-means, got 'edges'")
    }
    for (const to of ['resnet', 'resunet'] as const) {
      const err = await transfer({ from: SOURCE, to, classes: 3, headCue: 'tissue-means' }).catch((e) => e)
      expect(err.message).toBe(`--head-cue tissue-means needs --to shared (the cue reads the segmentation), got --to ${to}`)
    }
  })

  it('segtransfer summary reads a cue checkpoint: the head counts layer4 width + seg classes inputs', async () => {
    const r = await cli('summary', SOURCE, '--json')
    expect(r.code, r.err).toBe(0)
    expect(JSON.parse(r.out).totalParams).toBe(fx.params_total)
  })
})
