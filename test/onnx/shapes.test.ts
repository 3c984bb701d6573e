import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { GraphBuilder, decodeModel, floatAttr } from '../../src/engine/onnx'
import { inferShapes } from '../../src/engine/onnx/shapes'

const ones = (dims: number[]) => ({ dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.1) })
const i64 = (v: number[]) => ({ dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) })

/** Runs the model in onnxruntime and checks every output's inferred shape against the real one. */
async function checkAgainstOnnxruntime(g: GraphBuilder, input: number[], outputs: string[]): Promise<void> {
  for (const o of outputs) g.output(o, 'float32', null)
  const bytes = g.toModel({ opset: 17 })
  const { shapes } = inferShapes(decodeModel(bytes).graph, { x: input })
  const session = await ort.InferenceSession.create(bytes)
  const n = input.reduce((a, b) => a * b, 1)
  const res = await session.run({ x: new ort.Tensor('float32', new Float32Array(n).fill(1), input) })
  for (const o of outputs) expect([o, shapes.get(o)]).toEqual([o, res[o].dims])
}

describe('inferShapes agrees with onnxruntime', () => {
  it('for strided/dilated/padded convs, transposed convs, pools with ceil_mode and global pooling', async () => {
    const g = new GraphBuilder().input('x', 'float32', ['N', 2, 'D', 'H', 'W'])
    g.initializer('w', ones([3, 2, 3, 3, 3])).initializer('wt', ones([3, 4, 2, 2, 2]))
    g.node('Conv', ['x', 'w'], ['c'], { strides: [2, 1, 3], pads: [1, 0, 2, 1, 0, 2], dilations: [1, 2, 1] })
    g.node('ConvTranspose', ['c', 'wt'], ['t'], { strides: [2, 2, 2], pads: [0, 1, 0, 0, 0, 1], output_padding: [1, 0, 0] })
    g.node('MaxPool', ['t'], ['p'], { kernel_shape: [3, 3, 3], strides: [2, 2, 2], ceil_mode: 1 })
    g.node('AveragePool', ['x'], ['a'], { kernel_shape: [2, 2, 2], strides: [2, 2, 2], pads: [1, 1, 1, 0, 0, 0] })
    g.node('GlobalAveragePool', ['p'], ['gap'])
    await checkAgainstOnnxruntime(g, [2, 2, 11, 13, 17], ['c', 't', 'p', 'a', 'gap'])
  })

  it('for Resize by scales and by Shape-derived sizes, Concat, Reshape, Flatten, Gemm and broadcasting', async () => {
    const g = new GraphBuilder().input('x', 'float32', ['N', 2, 'D', 'H', 'W'])
    g.initializer('scales', { dims: [5], data: new Float32Array([1, 1, 1.5, 2, 0.5]) })
    g.initializer('shape', i64([0, -1])).initializer('fc', ones([5, 2])).initializer('row', ones([1, 2, 1, 1, 1]))
    g.node('Resize', ['x', '', 'scales'], ['r'], { mode: 'linear' })
    g.node('Shape', ['x'], ['s0'], { end: 2 }).node('Shape', ['r'], ['s1'], { start: 2 })
    g.node('Concat', ['s0', 's1'], ['sz'], { axis: 0 })
    g.node('Resize', ['x', '', '', 'sz'], ['r2'], { mode: 'nearest' })
    g.node('Concat', ['r', 'r2'], ['cat'], { axis: 1 })
    g.node('Reshape', ['cat', 'shape'], ['flat'])
    g.node('GlobalMaxPool', ['x'], ['gmp']).node('Flatten', ['gmp'], ['f'], { axis: 1 })
    g.node('Gemm', ['f', 'fc'], ['y'], { transB: 1, alpha: floatAttr(1) })
    g.node('Mul', ['x', 'row'], ['m'])
    await checkAgainstOnnxruntime(g, [1, 2, 6, 5, 9], ['r', 'r2', 'cat', 'flat', 'y', 'm'])
  })
})
