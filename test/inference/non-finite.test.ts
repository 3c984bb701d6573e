/**
 * A model whose scores hold NaN is refused with a count (MODEL_MISMATCH, one line, no mask), instead
 * of an argmax that looks like a plausible segmentation. The model is real ONNX built here with the
 * project's GraphBuilder and wrapped by `import-model`.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { GraphBuilder } from '../../src/engine/onnx'
import { data, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

/** logits = [sqrt(x), -sqrt(x)]: NaN wherever the z-scored intensity x is negative, finite elsewhere. */
function sqrtModel(): Uint8Array {
  const g = new GraphBuilder('nan')
  g.input('image', 'float32', ['N', 1, 'D', 'H', 'W'])
  g.node('Sqrt', ['image'], ['s'])
  g.node('Neg', ['s'], ['n'])
  g.node('Concat', ['s', 'n'], ['logits'], { axis: 1 })
  g.output('logits', 'float32', ['N', 2, 'D', 'H', 'W'])
  return g.toModel({ opset: 17 })
}

describe('non-finite model output', () => {
  it('segment refuses a model whose output holds NaN, naming how many values, and writes nothing', async () => {
    const onnx = join(tmp.dir, 'nan.onnx')
    writeFileSync(onnx, sqrtModel())
    const labels = join(tmp.dir, 'labels.json')
    writeFileSync(labels, JSON.stringify({ labels: ['background', 'tissue'] }))
    const bundle = join(tmp.dir, 'bundle')
    const imp = await cli('import-model', onnx, '--labels', labels, '--norm', 'zscore', '--out', bundle)
    expect(imp.code, imp.err).toBe(0)
    const outDir = join(tmp.dir, 'out')
    mkdirSync(outDir)
    const r = await cli('segment', '--model', bundle, '--input', data('spine/t2.nii.gz'), '--out', join(outDir, 'mask.nii.gz'), '--quiet', '--device', 'cpu')
    expect(r.code).toBe(2)
    expect(r.err.trim().split('\n')).toHaveLength(1)
    // spine/t2 is 60x55x52 = 171,600 voxels; about half are below the mean, each giving 2 NaN scores.
    const m = /holds (\d+) non-finite value\(s\) \(NaN or Infinity\) of 343200/.exec(r.err)
    expect(m, r.err).not.toBeNull()
    expect(Number(m![1]) % 2).toBe(0)
    expect(Number(m![1])).toBeGreaterThan(10_000)
    expect(readdirSync(outDir)).toEqual([])
  })
})
