// Worker entry for read-under-deadline.ts: reads each path it is sent with readVolume and answers
// with the outcome (never the voxels), so the test's own thread never runs the reader.
import { parentPort } from 'node:worker_threads'
import { readVolume } from '../../src/engine/volume/read'
import { SegError } from '../../src/engine/errors'

parentPort!.on('message', async (req: { path: string; deadlineMs?: number }) => {
  try {
    const v = await readVolume(req.path, req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs })
    parentPort!.postMessage({ kind: 'ok', size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, voxels: v.data.length })
  } catch (e) {
    if (e instanceof SegError) parentPort!.postMessage({ kind: 'refused', code: e.code, message: e.message })
    else parentPort!.postMessage({ kind: 'raw', message: String(e) })
  }
})
