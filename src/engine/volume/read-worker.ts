/**
 * Worker-thread entry of the volume reader (started by read-in-worker.ts, reused between reads).
 * In: { path, maxBytes, volume? }. Out: { type: 'plan', decodedBytes } once the header passed, then
 * { type: 'result', volume } (voxels transferred, not copied) or { type: 'error', code, message }.
 * itk-wasm prints ITK's warnings, exceptions and matrix dumps through console.log/console.error
 * (its emscripten Module.print/printErr look them up at each call): here they print nothing.
 */
import { parentPort } from 'node:worker_threads'
import { isSegError } from '../errors'
import { readVolumeHere } from './read'

export interface ReadRequest {
  path: string
  maxBytes: number
  volume?: number
}

const port = parentPort
if (!port) throw new Error('read-worker must run in a worker thread')
const silent = (): void => {}
Object.assign(console, { log: silent, info: silent, warn: silent, error: silent, debug: silent })

port.on('message', async (req: ReadRequest) => {
  try {
    const volume = await readVolumeHere(req.path, req.maxBytes, (decodedBytes) => port.postMessage({ type: 'plan', decodedBytes }), req.volume)
    // A SharedArrayBuffer (what itk-wasm returns) is shared anyway; a plain one is moved.
    const buffer = volume.data.buffer
    port.postMessage({ type: 'result', volume }, buffer instanceof ArrayBuffer ? [buffer] : [])
  } catch (e) {
    port.postMessage(isSegError(e) ? { type: 'error', code: e.code, message: e.message } : { type: 'error', errno: (e as NodeJS.ErrnoException)?.code })
  }
})
