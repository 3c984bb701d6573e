import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import * as ort from 'onnxruntime-node'
import {
  GraphBuilder, Reader, Writer, DataType, decodeModel, encodeModel, fromOnnxTensor, initializersOf, toOnnxTensor
} from '../../src/engine/onnx'
import type { Tensor } from '../../src/engine/tensor'
import { randomFloats } from '../helpers/models'

const MESHNET = '/work/shared/data/meshnet-gwm/model.onnx'

describe('protobuf wire format', () => {
  it('round-trips varints including negative int64 (10-byte) and values above 2^31', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 5, -1, -2, -(2 ** 33)]
    const w = new Writer()
    for (const v of values) w.varintRaw(v)
    const r = new Reader(w.finish())
    expect(values.map(() => r.varint())).toEqual(values)
    expect(r.done).toBe(true)
  })

  it('encodes -1 as the 10-byte two\'s complement varint protobuf uses for int64', () => {
    expect([...new Writer().varintRaw(-1).finish()]).toEqual([255, 255, 255, 255, 255, 255, 255, 255, 255, 1])
  })

  it('accepts packed and unpacked repeated floats alike', () => {
    const packed = new Writer().packedFloats(4, [1.5, -2]).finish()
    const unpacked = new Writer().float32(4, 1.5).float32(4, -2).finish()
    for (const bytes of [packed, unpacked]) {
      const r = new Reader(bytes)
      const got: number[] = []
      while (!r.done) r.repeatedFloat(r.tag()[1], got)
      expect(got).toEqual([1.5, -2])
    }
  })
})

describe('ONNX ModelProto codec', () => {
  it('decodes the MeshNet model: symbolic batch dim, fixed 256^3 spatial dims, 9 3x3x3 convs + 1x1x1 classifier', () => {
    const m = decodeModel(readFileSync(MESHNET))
    const input = m.graph.inputs.find((v) => v.name === 'input')!
    expect(input.tensorType!.shape).toEqual(['batch_size', 1, 256, 256, 256])
    expect(m.graph.outputs[0].tensorType!.shape).toEqual(['batch_size', 3, 256, 256, 256])
    const convs = m.graph.nodes.filter((n) => n.opType === 'Conv')
    const kernel = (i: number) => convs[i].attributes.find((a) => a.name === 'kernel_shape')?.ints
    expect(convs.length).toBe(10)
    expect(convs.slice(0, 9).map((_, i) => kernel(i))).toEqual(Array(9).fill([3, 3, 3]))
    expect(kernel(9)).toEqual([1, 1, 1])
    const dilations = convs.map((n) => n.attributes.find((a) => a.name === 'dilations')?.ints?.[0])
    expect(dilations).toEqual([1, 2, 4, 8, 16, 8, 4, 2, 1, 1])
    const weights = initializersOf(m.graph)
    const w0 = weights.get(convs[0].inputs[1])!
    expect(w0.dims.length).toBe(5)
    expect(w0.data.length).toBe(w0.dims.reduce((a, b) => a * b, 1))
  })

  it('re-encodes MeshNet to a model that decodes to the same structure', () => {
    const bytes = new Uint8Array(readFileSync(MESHNET))
    const once = encodeModel(decodeModel(bytes))
    const a = decodeModel(bytes)
    const b = decodeModel(once)
    expect(b.graph.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual(a.graph.nodes.map((n) => [n.opType, n.inputs, n.outputs]))
    expect([...initializersOf(b.graph).keys()]).toEqual([...initializersOf(a.graph).keys()])
    for (const [k, t] of initializersOf(a.graph)) expect(initializersOf(b.graph).get(k)!.data).toEqual(t.data)
    expect(encodeModel(b)).toEqual(once) // encoding is a fixed point after one pass
  })

  it('keeps unknown fields at model and node level untouched through decode → encode', () => {
    const g = new GraphBuilder()
    g.input('x', 'float32', ['N', 2]).node('Relu', ['x'], ['y']).output('y', 'float32', ['N', 2])
    const model = g.toModelProto({ opset: 17 })
    const nodeDoc = new Writer().string(6, 'node doc string').finish() // NodeProto.doc_string: not modelled
    model.graph.nodes[0].unknown.push(nodeDoc)
    const future = new Writer().string(1000, 'a field from a future ONNX version').finish()
    const bytes = Buffer.concat([encodeModel(model), future])
    const decoded = decodeModel(bytes)
    expect(decoded.unknown.map((u) => Buffer.from(u).toString('latin1'))).toEqual([Buffer.from(future).toString('latin1')])
    expect(Buffer.from(decoded.graph.nodes[0].unknown[0])).toEqual(Buffer.from(nodeDoc))
    expect(Buffer.from(encodeModel(decoded))).toEqual(Buffer.from(bytes))
  })

  it('reads initializers stored as raw_data, float_data or int64_data', () => {
    const t: Tensor = { dims: [2, 3], data: randomFloats(6, 7) }
    expect(fromOnnxTensor(toOnnxTensor('a', t)).data).toEqual(t.data)
    const viaFloatData = fromOnnxTensor({ name: 'b', dims: [2, 3], dataType: DataType.FLOAT, floatData: Array.from(t.data as Float32Array), unknown: [] })
    expect(viaFloatData.data).toEqual(t.data)
    const ints = fromOnnxTensor({ name: 'c', dims: [2], dataType: DataType.INT64, int64Data: [-3, 5], unknown: [] })
    expect([...ints.data]).toEqual([-3n, 5n])
  })

  it('refuses, with a clear message, an initializer whose data lives in an external file', () => {
    const external = new Writer().message(13, new Writer().string(1, 'location').string(2, 'weights.bin')).finish()
    const t = { name: 'w', dims: [2], dataType: DataType.FLOAT, unknown: [external] }
    expect(() => fromOnnxTensor(t)).toThrow(/external file/)
  })
})

describe('GraphBuilder', () => {
  it('builds a pointwise (1x1x1) Conv that onnxruntime runs and that equals a hand computation', async () => {
    const [cin, cout, d, h, w] = [3, 2, 2, 3, 4]
    const weight: Tensor = { dims: [cout, cin, 1, 1, 1], data: randomFloats(cout * cin, 11) }
    const bias: Tensor = { dims: [cout], data: randomFloats(cout, 12) }
    const g = new GraphBuilder()
    g.input('input', 'float32', ['N', cin, 'D', 'H', 'W'])
    g.initializer('w', weight).initializer('b', bias)
    g.node('Conv', ['input', 'w', 'b'], ['output'], { kernel_shape: [1, 1, 1] })
    g.output('output', 'float32', ['N', cout, 'D', 'H', 'W'])
    const bytes = g.toModel({ opset: 17, producer: 'segtransfer' })

    const vox = d * h * w
    const x = randomFloats(cin * vox, 13)
    const session = await ort.InferenceSession.create(bytes)
    const out = (await session.run({ input: new ort.Tensor('float32', x, [1, cin, d, h, w]) })).output
    expect(out.dims).toEqual([1, cout, d, h, w])
    const y = out.data as Float32Array
    let maxErr = 0
    for (let o = 0; o < cout; o++) {
      for (let v = 0; v < vox; v++) {
        let acc = bias.data[o] as number
        for (let c = 0; c < cin; c++) acc += (weight.data[o * cin + c] as number) * x[c * vox + v]
        maxErr = Math.max(maxErr, Math.abs(acc - y[o * vox + v]))
      }
    }
    expect(maxErr).toBeLessThan(1e-6)
  })

  it('rejects a value name defined twice', () => {
    const g = new GraphBuilder().input('x', 'float32', [1])
    expect(() => g.node('Relu', ['x'], ['x'])).toThrow(/defined twice/)
  })
})
