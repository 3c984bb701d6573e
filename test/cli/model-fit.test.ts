/**
 * `segment` checks the scan against what the bundle accepts: the shipped brain-MRI bundle refuses an
 * abdominal CT without --force (one line, nothing written), runs it with --force printing warnings
 * (the misfit and the refinement that did not converge); a bundle without `accepts` runs as before.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { data, freshSubdir, tempDir, REPO } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { cli } from './run-cli'

const BRAIN = join(REPO, 'resources/models/brain-tissue-resunet')
const CT = data('ct/spleen_ct.nii.gz')
let tmp: ReturnType<typeof tempDir>
beforeAll(() => {
  tmp = tempDir()
})
afterAll(() => tmp.cleanup())

const segment = (model: string, input: string, dir: string, ...extra: string[]) =>
  cli('segment', '--model', model, '--input', input, '--out', join(dir, 'mask.nii.gz'), '--stats', join(dir, 'stats.csv'), '--quiet', '--device', 'cpu', ...extra)

describe('segment: model-fit check', () => {
  it('refuses spleen_ct with the brain-MRI bundle without --force: exit 2, one line naming CT and MRI, nothing written', async () => {
    const dir = freshSubdir(tmp.dir)
    const r = await segment(BRAIN, CT, dir)
    expect(r.code).toBe(2)
    const lines = r.err.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: spleen_ct\.nii\.gz looks like CT \(.*\); the model accepts MRI \(model 'Brain tissue ResUNet.*--force/)
    expect(r.out).toBe('')
    expect(readdirSync(dir)).toEqual([])
  })

  it('runs spleen_ct with --force, writing the mask and printing the misfit and the unconverged refinement as warning lines', async () => {
    const dir = freshSubdir(tmp.dir)
    const r = await segment(BRAIN, CT, dir, '--force')
    expect(r.code, r.err).toBe(0)
    expect(existsSync(join(dir, 'mask.nii.gz'))).toBe(true)
    const warnings = r.err.split('\n').filter((l) => l.startsWith('warning: '))
    expect(warnings.some((w) => /^warning: spleen_ct\.nii\.gz looks like CT .*the model accepts MRI$/.test(w))).toBe(true)
    expect(warnings.some((w) => w.includes('has voxels of 0.79 × 0.79 × 5.00 mm; the model expects 0.2 to 3 mm'))).toBe(true)
    expect(warnings.some((w) => w.startsWith('warning: intensity refinement (stopped after 50 iterations without converging)'))).toBe(true)
    expect(r.err).not.toMatch(/^note: intensity refinement/m)
  })

  it('runs the head MRI t1_RAS with the brain-MRI bundle printing no warning', async () => {
    const r = await segment(BRAIN, data('geometry/t1_RAS.nii.gz'), freshSubdir(tmp.dir))
    expect(r.code, r.err).toBe(0)
    expect(r.err).not.toContain('warning:')
  })

  it('runs spleen_ct with a bundle that declares no accepts, as before: no refusal, no warning', async () => {
    const bundle = await conv3Bundle(join(tmp.dir, 'plain-bundle'))
    const r = await segment(bundle.dir, CT, freshSubdir(tmp.dir))
    expect(r.code, r.err).toBe(0)
    expect(r.err).not.toContain('warning:')
  })
})
