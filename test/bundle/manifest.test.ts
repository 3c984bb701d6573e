/** Bundle manifests: what is accepted, and the one-line errors for what is not. */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { writeFileSync, mkdirSync, truncateSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { tempDir } from '../helpers/data'
import { testManifest } from '../helpers/models'
import { loadBundle, parseManifest } from '../../src/engine/bundle/bundle'
import { parseLabels } from '../../src/engine/bundle/import-model'
import { parseNorm } from '../../src/cli/commands/import-model'
import { SegError } from '../../src/engine/errors'
import { LIMITS, atMost } from '../../src/engine/limits'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

function errorOf(fn: () => unknown): SegError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(SegError)
    return e as SegError
  }
  throw new Error('expected a SegError')
}

describe('manifest validation', () => {
  it('accepts a complete manifest and fills the documented defaults', () => {
    const m = parseManifest(testManifest({ inference: { mode: 'sliding-window', patchSize: [64, 64, 64] } }))
    expect(m.inference).toEqual({ mode: 'sliding-window', patchSize: [64, 64, 64], overlap: 0.5, batchSize: 1, blend: 'gaussian', sigmaScale: 0.125 })
    expect(m.output.largestComponent).toBe(false)
  })
  it('bounds the sliding-window work: overlap at most 0.95 (0.9999999 meant a 1-voxel step) and sigmaScale at least 0.05 (1e-300 gave NaN weights)', () => {
    const sw = (extra: object) => testManifest({ inference: { mode: 'sliding-window', patchSize: [8, 8, 8], ...extra } })
    expect(errorOf(() => parseManifest(sw({ overlap: 0.9999999 }))).message).toMatch(/inference\.overlap: at most 0\.95 \(LIMITS\.overlap\)/)
    expect(errorOf(() => parseManifest(sw({ sigmaScale: 1e-300 }))).message).toMatch(/inference\.sigmaScale: at least 0\.05 \(LIMITS\.minSigmaScale\)/)
    expect(parseManifest(sw({ overlap: 0.95, sigmaScale: 0.05 })).inference).toMatchObject({ overlap: 0.95, sigmaScale: 0.05 })
  })
  it('names the first invalid field', () => {
    const e = errorOf(() => parseManifest({ ...testManifest({}), channels: [] }, 'x/manifest.json'))
    expect(e.code).toBe('BAD_MANIFEST')
    expect(e.message).toMatch(/^x\/manifest\.json is not a valid SegTransfer manifest: channels: /)
  })
  it('refuses a bundle or label name with a control character (it would break one-line messages) or past LIMITS.nameChars', () => {
    expect(errorOf(() => parseManifest({ ...testManifest({}), name: 'spleen\nerror: forged' })).message).toMatch(/^.*: name: printable characters on one line/)
    const label = testManifest({})
    label.output.labels = [{ ...label.output.labels[0], name: 'a\u0007b' }, ...label.output.labels.slice(1)]
    expect(errorOf(() => parseManifest(label)).message).toMatch(/output\.labels\.0\.name: printable characters on one line/)
    expect(errorOf(() => parseManifest({ ...testManifest({}), name: 'x'.repeat(256) })).message).toMatch(/name: .*at most 255 \(LIMITS\.nameChars\)/)
  })
  it('refuses bad axis codes, overlaps and duplicate labels', () => {
    expect(errorOf(() => parseManifest(testManifest({ geometry: { mode: 'reorient', orientation: 'RRS' } }))).message).toMatch(/geometry\.orientation: three letters/)
    expect(errorOf(() => parseManifest(testManifest({ inference: { mode: 'sliding-window', patchSize: [8, 8, 8], overlap: 1 } }))).message).toMatch(/inference\.overlap/)
    const dup = testManifest({})
    dup.output.labels = [dup.output.labels[0], dup.output.labels[0]]
    expect(errorOf(() => parseManifest(dup)).message).toMatch(/duplicate values/)
  })
  it('output.refinement: defaults filled; sigmoid outputs, unknown labels and missing channels refused', () => {
    const labels = [0, 1, 2].map((v) => ({ value: v, name: `c${v}`, color: [v, v, v] as [number, number, number] }))
    const ok = parseManifest(testManifest({ output: { kind: 'softmax', labels, refinement: { kind: 'intensity-em', labels: [1, 2] } } }))
    expect(ok.output.refinement).toEqual({ kind: 'intensity-em', labels: [1, 2], channel: 0, minProbability: 0.01, maxIterations: 50, tolerance: 1e-5, biasFieldOrder: 2 })
    const bad = (output: object) => errorOf(() => parseManifest(testManifest({ output: { kind: 'softmax', labels, ...output } as never }), 'm.json')).message
    expect(bad({ kind: 'sigmoid', refinement: { kind: 'intensity-em', labels: [1, 2] } })).toBe('m.json: output.refinement needs a softmax output (class probabilities), but output.kind is sigmoid')
    expect(bad({ refinement: { kind: 'intensity-em', labels: [1, 5] } })).toBe('m.json: output.refinement.labels must be distinct values of output.labels (0, 1, 2), got [1, 5]')
    expect(bad({ refinement: { kind: 'intensity-em', labels: [1, 2], channel: 1 } })).toBe('m.json: output.refinement.channel 1 does not exist; the model has 1 input channel(s)')
    expect(bad({ refinement: { kind: 'intensity-em', labels: [1] } })).toMatch(/output\.refinement\.labels/)
    expect(bad({ refinement: { kind: 'gmm', labels: [1, 2] } })).toMatch(/output\.refinement\.kind/)
    expect(bad({ refinement: { kind: 'intensity-em', labels: [1, 2], biasFieldOrder: 7 } })).toMatch(/output\.refinement\.biasFieldOrder/)
  })
  it('refuses unknown fields (a typo must not be silently ignored)', () => {
    expect(errorOf(() => parseManifest({ ...testManifest({}), labels: [] })).message).toMatch(/labels|Unrecognized/)
  })
  it('loadBundle: missing folder, a file, no manifest, broken JSON, missing model', async () => {
    await expect(loadBundle(join(tmp.dir, 'none'))).rejects.toThrow(/does not exist/)
    writeFileSync(join(tmp.dir, 'model.onnx'), 'x')
    await expect(loadBundle(join(tmp.dir, 'model.onnx'))).rejects.toThrow(/is a file, not a model bundle.*import-model/)
    mkdirSync(join(tmp.dir, 'empty'))
    await expect(loadBundle(join(tmp.dir, 'empty'))).rejects.toThrow(/has no manifest\.json/)
    mkdirSync(join(tmp.dir, 'broken'))
    writeFileSync(join(tmp.dir, 'broken', 'manifest.json'), '{ "format": ')
    await expect(loadBundle(join(tmp.dir, 'broken'))).rejects.toThrow(/not valid JSON/)
    mkdirSync(join(tmp.dir, 'nomodel'))
    writeFileSync(join(tmp.dir, 'nomodel', 'manifest.json'), JSON.stringify(testManifest({})))
    await expect(loadBundle(join(tmp.dir, 'nomodel'))).rejects.toThrow(/declares model file model\.onnx but it is missing/)
  })
  it('loadBundle refuses a model file that is a FIFO or larger than LIMITS.modelBytes, saying which', async () => {
    const bundle = (name: string, model: (file: string) => void): string => {
      const dir = join(tmp.dir, name)
      mkdirSync(dir)
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(testManifest({})))
      model(join(dir, 'model.onnx'))
      return dir
    }
    const fifo = bundle('fifomodel', (file) => execFileSync('mkfifo', [file]))
    await expect(loadBundle(fifo)).rejects.toThrow(/model\.onnx is a named pipe \(FIFO\); expected an \.onnx model file$/)
    const huge = bundle('hugemodel', (file) => {
      writeFileSync(file, '')
      truncateSync(file, LIMITS.modelBytes + 1)
    }) // sparse: no disk used
    const e = await loadBundle(huge).catch((x: SegError) => x)
    expect([(e as SegError).code, (e as SegError).message]).toEqual(['BAD_MANIFEST', `${join(huge, 'model.onnx')} is ${LIMITS.modelBytes + 1} bytes; expected an .onnx model file of ${atMost('modelBytes')} bytes`])
  })
})

describe('label files in circulation', () => {
  it('brainchop colormap', () => {
    expect(parseLabels({ R: [0, 255], G: [0, 10], B: [0, 20], labels: ['bg', 'wm'] }, 'l.json')).toEqual([
      { value: 0, name: 'bg', color: [0, 0, 0] },
      { value: 1, name: 'wm', color: [255, 10, 20] }
    ])
  })
  it('MONAI value→name and nnU-Net name→value maps', () => {
    expect(parseLabels({ '0': 'background', '1': 'spleen' }, 'l.json').map((l) => [l.value, l.name])).toEqual([[0, 'background'], [1, 'spleen']])
    expect(parseLabels({ background: 0, liver: 1, tumour: 2 }, 'l.json').map((l) => [l.value, l.name])).toEqual([[0, 'background'], [1, 'liver'], [2, 'tumour']])
  })
  it('refuses what it cannot read, saying what it expected', () => {
    expect(() => parseLabels(42, 'l.json')).toThrow(/l\.json: .*expected a brainchop colormap/)
  })
})

describe('--norm specs', () => {
  it('parses every normalisation and refuses nonsense', () => {
    expect(parseNorm('window:-57,164')).toEqual({ kind: 'window', lower: -57, upper: 164 })
    expect(parseNorm('percentile:0.5,99.5,zscore')).toEqual({ kind: 'percentile', lower: 0.5, upper: 99.5, then: 'zscore' })
    expect(parseNorm('zscore-nonzero')).toEqual({ kind: 'zscore', nonzeroOnly: true })
    expect(() => parseNorm('window:5,1')).toThrow(/--norm window:5,1 is not valid/)
  })
})
