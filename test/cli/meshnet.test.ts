/**
 * The independently trained MeshNet grey/white-matter model, wrapped by `import-model` following its
 * model card, reproduces its reference output exactly through `segtransfer segment`.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { data, tempDir } from '../helpers/data'
import { cli } from './run-cli'
import { readVolume } from '../../src/engine/volume/read'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

describe('MeshNet through the CLI', () => {
  it('import-model + segment reproduce t1_crop_reference exactly on CPU', async () => {
    const bundle = join(tmp.dir, 'meshnet')
    const imp = await cli('import-model', data('meshnet-gwm/model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--name', 'MeshNet GWM',
      '--channels', 'T1:T1', '--conform', '256', '--conform-spacing', '1', '--conform-orientation', 'LIA', '--conform-uint8', '--norm', 'minmax', '--out', bundle)
    expect(imp.err).toBe('')
    expect(imp.code).toBe(0)
    // the recipe declares FreeSurfer's centre (index size/2), the convention the model was trained with
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'))
    expect(manifest.geometry).toMatchObject({ mode: 'conform', orientation: 'LIA', centre: 'freesurfer', uint8: true })
    const out = join(tmp.dir, 'mask.nii.gz')
    const stats = join(tmp.dir, 'stats.csv')
    const seg = await cli('segment', '--model', bundle, '--input', data('mri/t1_crop.nii.gz'), '--out', out, '--device', 'cpu', '--stats', stats, '--quiet')
    expect(seg.code, seg.err).toBe(0)
    expect(seg.out).toContain('White Matter')
    const mask = await readVolume(out)
    const ref = await readVolume(data('meshnet-gwm/t1_crop_reference.nii.gz'))
    expect(mask.size).toEqual(ref.size)
    let differ = 0
    for (let i = 0; i < ref.data.length; i++) if (mask.data[i] !== ref.data[i]) differ++
    console.log(`MeshNet via CLI: ${differ} of ${ref.data.length} voxels differ from the reference`)
    expect(differ).toBe(0)
    const input = await readVolume(data('mri/t1_crop.nii.gz'))
    for (let i = 0; i < 3; i++) expect(mask.origin[i]).toBeCloseTo(input.origin[i], 6)
    for (let i = 0; i < 9; i++) expect(mask.direction[i]).toBeCloseTo(input.direction[i], 6)
  })
})

describe('import-model --conform-centre', () => {
  const importWith = (out: string, ...centre: string[]) =>
    cli('import-model', data('meshnet-gwm/model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--conform', '64', '--conform-uint8', ...centre, '--out', join(tmp.dir, out))
  it('writes the world centre when asked, and refuses an unknown convention in one line', async () => {
    const ok = await importWith('world', '--conform-centre', 'world')
    expect(ok.code, ok.err).toBe(0)
    expect(JSON.parse(readFileSync(join(tmp.dir, 'world', 'manifest.json'), 'utf8')).geometry.centre).toBe('world')
    const bad = await importWith('bad', '--conform-centre', 'middle')
    expect(bad.code).toBe(2)
    expect(bad.err.trim()).toBe('error: --conform-centre middle is not valid; expected freesurfer or world')
  })
})
