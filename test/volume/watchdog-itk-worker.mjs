// A reader worker that hands the file straight to itk-wasm, with none of our header checks: lets
// watchdog.test.ts show that the reader's deadline ends a real itk-wasm hang.
import { parentPort } from 'node:worker_threads'
import { readImageNode } from '@itk-wasm/image-io'

parentPort.on('message', async (req) => {
  const image = await readImageNode(req.path)
  parentPort.postMessage({ type: 'result', volume: { size: image.size } })
})
