/**
 * Every number a user gives the CLI has an upper bound (src/engine/limits.ts): beyond it the command
 * exits 2 with one line naming the limit, before any work (today `--classes 1e7` aborted V8 and
 * `--threads 100000` hung at 4.2 GB).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { REPO, data, tempDir } from '../helpers/data'
import { cli } from './run-cli'
import { buildModel } from '../../src/engine/transfer/architectures'
import { SegError } from '../../src/engine/errors'

const RESNET10 = join(REPO, 'test/fixtures/transfer/resnet10.pth')
const DEMO = join(REPO, 'resources/models/demo-tissue')

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

async function refused(argv: string[], message: RegExp): Promise<void> {
  const r = await cli(...argv)
  expect(r.code, r.err).toBe(2)
  expect(r.err.trim().split('\n')).toHaveLength(1)
  expect(r.err).toMatch(message)
}

describe('CLI numeric flags have upper bounds', () => {
  it('segment --threads 100000 names LIMITS.threads', async () => {
    await refused(['segment', '--model', DEMO, '--input', data('mri/FLAIR.nii.gz'), '--out', join(tmp.dir, 'mask.nii.gz'), '--threads', '100000'],
      /--threads must be an integer from 1 to 256 \(LIMITS\.threads\), got 100000/)
  })
  it('transfer --classes 1e7, --in-channels 1e6, --head-classes 1e9 and --seed 1e20 name their limits', async () => {
    const base = ['transfer', '--from', RESNET10, '--to', 'resunet', '--out', join(tmp.dir, 'bundle')]
    await refused([...base, '--classes', '1e7'], /--classes must be an integer from 1 to 1024 \(LIMITS\.classes\), got 10000000/)
    await refused([...base, '--classes', '3', '--in-channels', '1e6'], /--in-channels must be an integer from 1 to 64 \(LIMITS\.channels\)/)
    await refused([...base.map((a) => (a === 'resunet' ? 'shared' : a)), '--classes', '3', '--head-classes', '1e9'], /--head-classes must be an integer from 1 to 1024/)
    await refused([...base, '--classes', '3', '--seed', '1e20'], /--seed must be an integer from 0 to 4294967295 \(LIMITS\.seed\)/)
  })
  it('import-model --divisible-by 1e9 and --conform 100000 name their limits', async () => {
    const base = ['import-model', join(DEMO, 'model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--out', join(tmp.dir, 'bundle')]
    await refused([...base, '--divisible-by', '1e9'], /inference\.divisibleBy: at most 1024 \(LIMITS\.divisibleBy\)/)
    await refused([...base, '--conform', '100000'], /geometry\.size\.0: at most 2048 \(LIMITS\.axisVoxels\)/)
  })
  it('writes nothing when refusing', () => {
    expect(existsSync(join(tmp.dir, 'bundle'))).toBe(false)
    expect(existsSync(join(tmp.dir, 'mask.nii.gz'))).toBe(false)
  })
  it('summary --input-size and --depth are bounded', async () => {
    await refused(['summary', RESNET10, '--input-size', '1,1,100000,64,64'], /--input-size must be five positive integers N,C,D,H,W of at most 1024,64,2048,2048,2048/)
    await refused(['summary', RESNET10, '--depth', '1e9'], /--depth must be an integer from 0 to 64 \(LIMITS\.summaryDepth\)/)
  })
  it('the architecture builder refuses 1e7 classes and 1e6-wide layers with one line', () => {
    for (const cfg of [
      { depth: 10, inChannels: 1, numClasses: 1e7 },
      { depth: 10, inChannels: 1, numClasses: 2, baseWidth: 1e6 },
      { kind: 'shared', depth: 10, inChannels: 1, numClasses: 2, segClasses: 5000 }
    ] as const) {
      expect(() => buildModel(cfg as never)).toThrow(SegError)
      expect(() => buildModel(cfg as never)).toThrow(/LIMITS\.(classes|layerWidth)/)
    }
  })
})
