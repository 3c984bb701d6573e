/**
 * A bundle with a classification head next to its segmentation output (the encoder-sharing model):
 * segment() returns the class probabilities of the whole volume from the same model call, equal to a
 * direct onnxruntime run, and still the label map on the input grid.
 */
import { describe, expect, it, afterAll } from 'vitest'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { data, tempDir } from '../helpers/data'
import { testManifest } from '../helpers/models'
import { buildSharedModel } from '../../src/engine/transfer/architectures'
import { writeBundle } from '../../src/engine/bundle/bundle'
import { segment } from '../../src/engine/pipeline/segment'
import { readVolume } from '../../src/engine/volume/read'
import { normalize } from '../../src/engine/volume/intensity'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('segmentation + classification heads', () => {
  it('gives the classification of the whole volume from the same run, as onnxruntime does', async () => {
    const onnx = buildSharedModel({ kind: 'shared', depth: 10, inChannels: 1, baseWidth: 4, segClasses: 3, numClasses: 4, seed: 3 })
    const manifest = {
      ...testManifest({ classes: 3 }),
      model: { file: 'model.onnx', input: 'input', output: 'seg_logits', axisOrder: 'zyx' as const },
      inference: { mode: 'whole' as const, divisibleBy: 32 },
      classification: { output: 'class_logits', classes: ['T1-like', 'T2-like', 'PD-like', 'FLAIR-like'] }
    }
    const bundle = await writeBundle(join(tmp.dir, 'shared'), manifest, onnx)
    const input = data('spine/t2.nii.gz')
    const r = await segment({ bundle, inputs: [input], device: 'cpu' })
    expect(r.classification?.classes).toEqual(['T1-like', 'T2-like', 'PD-like', 'FLAIR-like'])
    const p = r.classification!.probabilities
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)

    // Independent path: pad to multiples of 32 as the manifest says, run ORT directly, softmax.
    const v = await readVolume(input)
    const x = normalize(Float32Array.from(v.data), { kind: 'zscore' })
    const [ni, nj, nk] = v.size
    const q = [nk, nj, ni].map((d) => Math.ceil(d / 32) * 32)
    const before = [nk, nj, ni].map((d, a) => Math.floor((q[a] - d) / 2))
    const padded = new Float32Array(q[0] * q[1] * q[2])
    for (let k = 0; k < nk; k++)
      for (let j = 0; j < nj; j++)
        for (let i = 0; i < ni; i++) padded[((k + before[0]) * q[1] + j + before[1]) * q[2] + i + before[2]] = x[i + ni * (j + nj * k)]
    const session = await ort.InferenceSession.create(onnx)
    const out = await session.run({ input: new ort.Tensor('float32', padded, [1, 1, ...q]) }, ['class_logits'])
    const logits = Array.from(out.class_logits.data as Float32Array)
    const e = logits.map((l) => Math.exp(l - Math.max(...logits)))
    const expected = e.map((y) => y / e.reduce((a, b) => a + b, 0))
    for (let c = 0; c < 4; c++) expect(p[c]).toBeCloseTo(expected[c], 6)
    expect(r.labels.size).toEqual(v.size)
  })
})
