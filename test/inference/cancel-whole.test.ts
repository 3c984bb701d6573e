/**
 * A cancel that arrives while a whole-volume model call runs (onnxruntime-node runs it synchronously,
 * so the cancel is an event waiting behind it) is honoured as soon as the call returns: runModel
 * rejects with CANCELLED instead of returning the scores and letting post-processing go on.
 */
import { describe, expect, it } from 'vitest'
import { GraphBuilder } from '../../src/engine/onnx'
import { openSession } from '../../src/engine/inference/session'
import { runModel } from '../../src/engine/inference/run'
import { randomFloats } from '../helpers/models'
import { refusal } from '../volume/fixtures'

function convModel(): Uint8Array {
  const g = new GraphBuilder('conv')
  g.input('input', 'float32', ['N', 1, 'D', 'H', 'W'])
  g.initializer('w', { dims: [2, 1, 3, 3, 3], data: randomFloats(54, 3) })
  g.node('Conv', ['input', 'w'], ['output'], { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] })
  g.output('output', 'float32', ['N', 2, 'D', 'H', 'W'])
  return g.toModel({ opset: 17 })
}

describe('whole-volume cancel', () => {
  it('a cancel queued during the model call rejects with CANCELLED right after it', async () => {
    const { session } = await openSession(convModel(), { device: 'cpu', threads: 1 })
    try {
      const spatial: [number, number, number] = [32, 32, 32]
      const ctl = new AbortController()
      const run = runModel({
        session, inputName: 'input', outputName: 'output', input: randomFloats(32 ** 3, 1), spatial, channels: 1, outChannels: 2,
        settings: { mode: 'whole', divisibleBy: 1 }, signal: ctl.signal
      })
      // onnxruntime-node queued the native call (a setImmediate) synchronously inside runModel; this
      // abort is queued right behind it, so it is handled only once the call has returned, as a cancel
      // that arrives during the call is.
      setImmediate(() => ctl.abort())
      const e = await refusal(run)
      expect(e.code).toBe('CANCELLED')
    } finally {
      await session.release()
    }
  })
})
