/**
 * The app runs segmentation off its main thread: the worker gives the same label map as an
 * in-process run, streams progress, and can be cancelled.
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../helpers/data'
import { runSegmentationInWorker } from '../../src/engine/service/run-in-worker'
import { segment, type SegmentProgress } from '../../src/engine/pipeline/segment'
import { loadBundle } from '../../src/engine/bundle/bundle'
import { SegError } from '../../src/engine/errors'
import { data, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'

const WORKER = join(REPO, 'src/engine/service/segment-worker.ts')
const BUNDLE = join(REPO, 'resources/models/demo-tissue')
const SAMPLE = join(REPO, 'resources/samples/colin27_t1_brain_2mm.nii.gz')

describe('segmentation in a worker thread', () => {
  it('returns the same labels as in-process, with progress up to 100 %', async () => {
    const progress: SegmentProgress[] = []
    const run = runSegmentationInWorker(WORKER, { bundleDir: BUNDLE, inputs: [SAMPLE], device: 'cpu' }, (p) => progress.push(p))
    const r = await run.result
    const direct = await segment({ bundle: await loadBundle(BUNDLE), inputs: [SAMPLE], device: 'cpu' })
    expect(r.labels.size).toEqual(direct.labels.size)
    expect(Buffer.from(r.labels.data.buffer).equals(Buffer.from(direct.labels.data.buffer))).toBe(true)
    expect(r.provider).toBe('cpu')
    expect(progress.at(-1)?.fraction).toBe(1)
    expect(r.reference.source?.niftiHeader?.length).toBe(348)
  })
  it('cancels with a CANCELLED error', async () => {
    const run = runSegmentationInWorker(WORKER, { bundleDir: BUNDLE, inputs: [SAMPLE], device: 'cpu' }, () => {})
    run.cancel()
    const e = await run.result.catch((x) => x)
    expect(e).toBeInstanceOf(SegError)
    expect((e as SegError).code).toBe('CANCELLED')
  })
  it('reports engine errors with their code and message', async () => {
    const run = runSegmentationInWorker(WORKER, { bundleDir: BUNDLE, inputs: ['/nonexistent/scan.nii.gz'], device: 'cpu' }, () => {})
    const e = await run.result.catch((x) => x)
    expect((e as SegError).code).toBe('FILE_NOT_FOUND')
    expect((e as SegError).message).toMatch(/scan\.nii\.gz/)
  })
  it('a cancel during a long onnxruntime run settles at once and never terminates the worker mid-run (that aborts the whole process)', async () => {
    // MeshNet at 256³ runs one ~7-second onnxruntime call: the old 2-second terminate fell inside it and
    // killed the test process with SIGABRT ("terminate called after throwing an instance of 'Napi::Error'").
    const tmp = tempDir('segtransfer-worker-cancel-')
    try {
      const bundle = join(tmp.dir, 'meshnet')
      const imp = await cli('import-model', data('meshnet-gwm/model.onnx'), '--labels', data('meshnet-gwm/labels.json'), '--name', 'MeshNet GWM',
        '--channels', 'T1:T1', '--conform', '256', '--conform-spacing', '1', '--conform-orientation', 'LIA', '--conform-uint8', '--norm', 'minmax', '--out', bundle)
      expect(imp.code).toBe(0)
      let asked = 0
      const run = runSegmentationInWorker(WORKER, { bundleDir: bundle, inputs: [data('mri/t1_crop.nii.gz')], device: 'cpu' }, (p) => {
        if (p.stage === 'inference' && !asked) {
          asked = Date.now()
          run.cancel()
        }
      })
      const e = await run.result.catch((x) => x)
      expect([(e as SegError).code, Date.now() - asked < 1000]).toEqual(['CANCELLED', true])
      await new Promise((r) => setTimeout(r, 4000)) // past the old grace period, while the worker's onnxruntime call still runs
    } finally {
      tmp.cleanup()
    }
  }, 60_000)
  it('speaks one typed protocol: both ends take their messages from messages.ts, and nothing in src/engine/service is `any`', () => {
    const dir = join(REPO, 'src/engine/service')
    for (const end of ['run-in-worker.ts', 'segment-worker.ts']) expect(readFileSync(join(dir, end), 'utf8'), end).toMatch(/from '\.\/messages'/)
    for (const f of readdirSync(dir).filter((n) => /\.(ts|mjs)$/.test(n))) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/:\s*any\b|\bas any\b|<any>/)
  })
})
