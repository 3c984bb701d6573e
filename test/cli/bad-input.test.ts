/**
 * Bad input through `segtransfer segment`: a non-zero exit, one specific line on stderr saying what
 * was wrong and what was expected, and no output file. Never a crash or a partial file.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { conv3Bundle, conv3Model, testManifest } from '../helpers/models'
import { writeCrafted } from '../volume/fixtures'
import { writeBundle } from '../../src/engine/bundle/bundle'
import { cli, expectRefusal } from './run-cli'

let tmp: ReturnType<typeof tempDir>
let bundle1: string
let bundle2: string
beforeAll(async () => {
  tmp = tempDir()
  bundle1 = (await conv3Bundle(join(tmp.dir, 'one'))).dir
  bundle2 = (await conv3Bundle(join(tmp.dir, 'two'), { channels: 2 })).dir
})
afterAll(() => tmp.cleanup())

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer)

async function expectRefused(args: { model?: string; inputs: string[] }, pattern: RegExp): Promise<string> {
  const out = join(tmp.dir, `out_${Math.random().toString(36).slice(2)}.nii.gz`)
  return expectRefusal(['segment', '--model', args.model ?? bundle1, ...args.inputs.flatMap((i) => ['--input', i]), '--out', out, '--quiet', '--device', 'cpu'], out, pattern)
}

describe('segment refuses bad input with one line and no output', () => {
  it('a missing file', async () => {
    await expectRefused({ inputs: [join(tmp.dir, 'nope.nii.gz')] }, /nope\.nii\.gz.*(not exist|not found)/i)
  })
  it('a non-image file', async () => {
    const p = join(tmp.dir, 'notes.nii.gz')
    writeFileSync(p, 'these are my notes, not an image\n')
    await expectRefused({ inputs: [p] }, /notes\.nii\.gz.*(not a|image)/i)
  })
  it('a truncated .nii.gz', async () => {
    const src = readFileSync(data('spine/t2.nii.gz'))
    const p = join(tmp.dir, 'truncated.nii.gz')
    writeFileSync(p, src.subarray(0, Math.floor(src.length / 2)))
    await expectRefused({ inputs: [p] }, /truncated\.nii\.gz.*(truncated|corrupt|incomplete)/i)
  })
  it('a 2D image where 3D is expected', async () => {
    const p = writeCrafted(join(tmp.dir, 'flat.nii'), { dim: [2, 8, 8], datatype: 16, bitpix: 32, voxels: f32(Array(64).fill(1)) })
    await expectRefused({ inputs: [p] }, /flat\.nii.*2D|3D/i)
  })
  it('a 4D series where 3D is expected', async () => {
    const p = writeCrafted(join(tmp.dir, 'series.nii'), { dim: [4, 4, 4, 4, 3], datatype: 16, bitpix: 32, voxels: f32(Array(192).fill(1)) })
    await expectRefused({ inputs: [p] }, /series\.nii.*(4D|3 (time|volumes)|3D)/i)
  })
  it('a volume mostly NaN/Inf (a few are no data, more than half is refused)', async () => {
    const values = Array(64).fill(1).fill(NaN, 0, 39)
    values[50] = Infinity
    const p = writeCrafted(join(tmp.dir, 'nan.nii'), { dim: [3, 4, 4, 4], datatype: 16, bitpix: 32, voxels: f32(values) })
    await expectRefused({ inputs: [p] }, /nan\.nii has 40 NaN\/Inf voxels \(62\.5 % of 64\); expected at most 50 %/)
  })
  it('a 4D series without --volume is refused with the list of its volumes', async () => {
    const p = writeCrafted(join(tmp.dir, 'series4.nii'), { dim: [4, 4, 4, 4, 3], datatype: 16, bitpix: 32, voxels: f32(Array(192).fill(1)) })
    await expectRefused({ inputs: [p] }, /^error: series4\.nii has 3 volumes; choose one with --volume 0\.\.2$/)
  })
  it('channel volumes on different grids', async () => {
    await expectRefused({ model: bundle2, inputs: [data('spine/t2.nii.gz'), data('geometry/t1_RAS.nii.gz')] }, /grid|size|spacing/i)
  })
  it('a volume that would not fit in memory, before allocating', async () => {
    const p = writeCrafted(join(tmp.dir, 'huge.nii'), { dim: [3, 4000, 4000, 4000], datatype: 16, bitpix: 32 })
    await expectRefused({ inputs: [p] }, /huge\.nii.*needs .*GB/i)
  })
  it('a bundle whose manifest is invalid', async () => {
    const dir = join(tmp.dir, 'badmanifest')
    await writeBundle(dir, testManifest({}), conv3Model(1, 2))
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
    m.inference = { mode: 'sliding-window', patchSize: [64, 64, 64], overlap: 1.5 }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m))
    await expectRefused({ model: dir, inputs: [data('spine/t2.nii.gz')] }, /manifest.*inference\.overlap/i)
  })
  it('a bundle whose ONNX input does not match its manifest', async () => {
    const dir = join(tmp.dir, 'mismatch')
    await writeBundle(dir, testManifest({ channels: 2 }), conv3Model(1, 2))
    await expectRefused({ model: dir, inputs: [data('spine/t2.nii.gz'), data('spine/t2.nii.gz')] }, /model\.onnx|input.*channel/i)
  })
  it('a classification-only bundle (it has no voxel-wise output)', async () => {
    const dir = join(tmp.dir, 'classifier')
    await writeBundle(dir, { ...testManifest({}), task: 'classification' }, conv3Model(1, 2))
    await expectRefused({ model: dir, inputs: [data('spine/t2.nii.gz')] }, /classification model .*expected a segmentation bundle/)
  })
  it('the wrong number of inputs for the model', async () => {
    await expectRefused({ model: bundle2, inputs: [data('spine/t2.nii.gz')] }, /needs 2 input volume/)
  })
  it('an output path that is one of the inputs (inputs are never touched)', async () => {
    const src = readFileSync(data('spine/t2.nii.gz'))
    const p = join(tmp.dir, 'precious.nii.gz')
    writeFileSync(p, src)
    const r = await cli('segment', '--model', bundle1, '--input', p, '--out', p, '--quiet', '--device', 'cpu')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^error: .*input/i)
    expect(readFileSync(p).equals(src)).toBe(true)
  })
  it('an unknown option', async () => {
    const r = await cli('segment', '--modle', bundle1)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^error: .*--modle/)
  })
})

describe('special and system files as models, labels and bundles: one line, never a hang, never their contents', () => {
  it('import-model of /dev/zero, --labels a FIFO, --labels a link to /etc/passwd', async () => {
    const fifo = join(tmp.dir, 'labels-fifo.json')
    execFileSync('mkfifo', [fifo])
    const passwd = join(tmp.dir, 'labels-passwd.json')
    symlinkSync('/etc/passwd', passwd)
    const model = join(bundle1, 'model.onnx')
    const cases: [string[], string][] = [
      [['/dev/zero', '--labels', data('meshnet-gwm/labels.json')], 'error: /dev/zero is a character device; expected an .onnx file'],
      [[model, '--labels', fifo], `error: ${fifo} is a named pipe (FIFO); expected a labels JSON file`],
      [[model, '--labels', passwd], `error: labels file ${passwd} is not valid JSON (syntax error at line 1, column 1); expected a labels JSON file`]
    ]
    for (const [args, line] of cases) {
      const r = await cli('import-model', ...args, '--out', join(tmp.dir, 'special-out'))
      expect([r.code, r.err.trim()]).toEqual([2, line])
    }
  })

  it('a bundle whose model.onnx is a FIFO is refused before segmenting (it hung)', async () => {
    const b = join(tmp.dir, 'fifo-bundle')
    mkdirSync(b)
    copyFileSync(join(bundle1, 'manifest.json'), join(b, 'manifest.json'))
    execFileSync('mkfifo', [join(b, 'model.onnx')])
    await expectRefused({ model: b, inputs: [data('spine/t2.nii.gz')] }, /model\.onnx is a named pipe \(FIFO\); expected an \.onnx model file$/)
  })
})

describe('--volume with a negative number is our one line, not the argument parser\'s', () => {
  it('segment --volume -0 and info --volume -1 ("argument is ambiguous" before)', async () => {
    const seg = await cli('segment', '--model', bundle1, '--input', data('spine/t2.nii.gz'), '--out', join(tmp.dir, 'neg.nii.gz'), '--volume', '-0', '--quiet')
    expect([seg.code, seg.err.trim()]).toEqual([2, 'error: --volume -0 is not a volume number; expected an integer from 0 (the first volume)'])
    const info = await cli('info', data('spine/t2.nii.gz'), '--volume', '-1')
    expect([info.code, info.err.trim()]).toEqual([2, 'error: --volume -1 is not a volume number; expected an integer from 0 (the first volume)'])
  })
})

describe('import-model refuses a bad option value with one line and no bundle', () => {
  it('an unknown --resampling', async () => {
    const out = join(tmp.dir, 'bad-resampling')
    const r = await cli('import-model', join(bundle1, 'model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--resampling', 'nearest', '--out', out)
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe('error: --resampling nearest is not valid; expected probabilities or labels')
    expect(existsSync(out)).toBe(false)
  })
})
