import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import * as ort from 'onnxruntime-node'
import { decodeModel, initializersOf, relaxSpatialDims, spatialDimNames } from '../../src/engine/onnx'

const MESHNET = '/work/shared/data/meshnet-gwm/model.onnx'

describe('relaxSpatialDims', () => {
  it('names spatial dims D, H, W from the end', () => {
    expect(spatialDimNames(5)).toEqual(['D', 'H', 'W'])
    expect(spatialDimNames(4)).toEqual(['H', 'W'])
    expect(spatialDimNames(2)).toEqual([])
    expect(spatialDimNames(6)).toEqual(['S0', 'D', 'H', 'W'])
  })

  it('makes the fixed-256^3 MeshNet input/output symbolic and keeps batch, channels and weights', () => {
    const original = new Uint8Array(readFileSync(MESHNET))
    const relaxed = decodeModel(relaxSpatialDims(original))
    expect(relaxed.graph.inputs.find((v) => v.name === 'input')!.tensorType!.shape).toEqual(['batch_size', 1, 'D', 'H', 'W'])
    expect(relaxed.graph.outputs[0].tensorType!.shape).toEqual(['batch_size', 3, 'D', 'H', 'W'])
    const before = initializersOf(decodeModel(original).graph)
    const after = initializersOf(relaxed.graph)
    expect([...after.keys()]).toEqual([...before.keys()])
    for (const [k, t] of before) expect(after.get(k)!.data).toEqual(t.data)
  })

  it('lets onnxruntime run the relaxed MeshNet on a 64^3 input, giving [1,3,64,64,64]', async () => {
    const relaxed = relaxSpatialDims(new Uint8Array(readFileSync(MESHNET)))
    const session = await ort.InferenceSession.create(relaxed)
    const n = 64 ** 3
    const x = new Float32Array(n)
    for (let i = 0; i < n; i++) x[i] = ((i * 2654435761) % 1000) / 1000
    const out = (await session.run({ input: new ort.Tensor('float32', x, [1, 1, 64, 64, 64]) })).output
    expect(out.dims).toEqual([1, 3, 64, 64, 64])
    expect((out.data as Float32Array).every(Number.isFinite)).toBe(true)
  })
})
