/**
 * The Teach panel's worker (teach-worker.ts) on the real spine T2 with its cord mask: a cancel that
 * arrives while it predicts the scan after training (the preview step) ends the run with CANCELLED
 * and sends no result, as a cancel during features or training does.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { data, REPO } from '../helpers/data'
import { readVolume } from '../../src/engine/volume/read'
import { teachLabelsOf } from '../../src/app-core/teach-labels'
import type { FromTeachWorker, ToTeachWorker } from '../../src/engine/service/messages'

const BOOTSTRAP = join(REPO, 'src/engine/service/ts-worker-bootstrap.mjs')
const ENTRY = pathToFileURL(join(REPO, 'src/engine/service/teach-worker.ts')).href
let worker: Worker | undefined
afterEach(async () => {
  await worker?.terminate()
})

describe('the teach worker', () => {
  it('ends with CANCELLED and no result when cancelled during the preview of the scan', async () => {
    const [image, cord] = await Promise.all([readVolume(data('spine/t2.nii.gz')), readVolume(data('spine/t2_cord_seg.nii.gz'))])
    const given = teachLabelsOf(cord.data, [1], { plane: 'axial', every: 3 })
    const cancelFlag = new Int32Array(new SharedArrayBuffer(4))
    const job: ToTeachWorker = {
      type: 'teach', baseDir: join(REPO, 'resources/models/demo-tissue'), cancelFlag, head: 'linear', maxEpochs: 2,
      scans: [{ name: 't2.nii.gz', image, labels: { ...image, data: given.data }, labelledSlices: given.labelledSlices }],
      labelNames: [{ value: 0, name: 'background' }, { value: 1, name: 'cord' }]
    }
    const w = (worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY } }))
    const stages: string[] = []
    const end = new Promise<FromTeachWorker>((resolve, reject) => {
      w.on('error', reject)
      w.on('message', (m: FromTeachWorker) => {
        if (m.type !== 'progress') return resolve(m)
        stages.push(m.progress.stage)
        if (m.progress.message !== 'predicting the scan') return
        // The panel's Cancel: the shared flag and the message (run-in-worker.ts runTeachInWorker).
        Atomics.store(cancelFlag, 0, 1)
        w.postMessage({ type: 'cancel' } satisfies ToTeachWorker)
      })
    })
    w.postMessage(job)
    const m = await end
    expect(stages).toContain('train')
    expect(m.type === 'error' && `${m.code}: ${m.message}`).toBe('CANCELLED: teaching cancelled by the user')
  }, 60_000)
})
