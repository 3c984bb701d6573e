/**
 * Ctrl-C during a whole-volume run (a synchronous onnxruntime call) or during post-processing ends the
 * real CLI within a second, with status 130 and no output file (not even a temp file).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { data, tempDir, REPO } from '../helpers/data'
import { cli, spawnCli } from './run-cli'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

/** Starts a segmentation, sends SIGINT once stderr shows `stage`, and returns status, delay and leftovers. */
async function interrupt(bundle: string, stage: string, outDir: string) {
  const run = spawnCli(['segment', '--model', bundle, '--input', data('mri/t1_crop.nii.gz'), '--out', join(outDir, 'mask.nii.gz'), '--stats', join(outDir, 'stats.csv'), '--device', 'cpu'])
  await run.stderrShows(stage)
  const sent = Date.now()
  run.child.kill('SIGINT')
  const r = await run.done
  return { status: r.status, delayMs: r.at - sent, left: readdirSync(outDir), err: r.err }
}

describe('Ctrl-C cancels segment', () => {
  it('during the whole-volume MeshNet inference: status 130 within 1 s, nothing written', async () => {
    const bundle = join(tmp.dir, 'meshnet')
    const imp = await cli('import-model', data('meshnet-gwm/model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--name', 'MeshNet GWM',
      '--channels', 'T1:T1', '--conform', '256', '--conform-spacing', '1', '--conform-orientation', 'LIA', '--conform-uint8', '--norm', 'minmax', '--out', bundle)
    expect(imp.code, imp.err).toBe(0)
    const outDir = join(tmp.dir, 'out-meshnet')
    await import('node:fs/promises').then((fs) => fs.mkdir(outDir))
    const r = await interrupt(bundle, 'inference 0/1', outDir)
    console.log(`MeshNet whole-volume run: SIGINT -> exit in ${r.delayMs} ms, status ${r.status}`)
    expect(r.status).toBe(130)
    expect(r.delayMs).toBeLessThan(1000)
    expect(r.left).toEqual([])
  }, 60_000)

  it('during post-processing (the shipped bundle\'s intensity refinement): status 130 within 1 s, nothing written', async () => {
    const outDir = join(tmp.dir, 'out-shipped')
    await import('node:fs/promises').then((fs) => fs.mkdir(outDir))
    const r = await interrupt(join(REPO, 'resources/models/brain-tissue-resunet'), 'inference 1/1', outDir)
    console.log(`shipped bundle post-processing: SIGINT -> exit in ${r.delayMs} ms, status ${r.status}`)
    expect(r.status).toBe(130)
    expect(r.delayMs).toBeLessThan(1000)
    expect(r.left).toEqual([])
  }, 60_000)
})
