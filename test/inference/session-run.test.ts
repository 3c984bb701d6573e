import { describe, expect, it } from 'vitest'
import type { Manifest } from '../../src/engine/bundle/manifest'
import { GraphBuilder } from '../../src/engine/onnx'
import { checkModelIO, openSession, providerOrder } from '../../src/engine/inference/session'
import { runModel } from '../../src/engine/inference/run'
import { tensorSpatial, tensorToVolume, volumeToTensor } from '../../src/engine/inference/layout'
import type { Vec3i } from '../../src/engine/inference/sliding-window'
import { randomFloats } from '../helpers/models'

/** [N, C, D, H, W] → [N, K, D, H, W] 1x1x1 Conv with given (or random) weights; spatial dims as given. */
function pointwiseModel(C: number, K: number, spatial: (number | string)[] = ['D', 'H', 'W'], names = ['input', 'output']): Uint8Array {
  const g = new GraphBuilder()
  g.input(names[0], 'float32', ['N', C, ...spatial])
  g.initializer('w', { dims: [K, C, 1, 1, 1], data: randomFloats(K * C, 5) })
  g.initializer('b', { dims: [K], data: randomFloats(K, 6) })
  g.node('Conv', [names[0], 'w', 'b'], [names[1]], { kernel_shape: [1, 1, 1] })
  g.output(names[1], 'float32', ['N', K, ...spatial])
  return g.toModel({ opset: 17, producer: 'segtransfer-test' })
}

/** Just what checkModelIO reads. */
function manifest(C: number, K: number, inference: Manifest['inference'] = { mode: 'whole', divisibleBy: 1 }) {
  return {
    model: { file: 'model.onnx', input: 'input', output: 'output', axisOrder: 'zyx' as const },
    channels: Array.from({ length: C }, (_, i) => ({ name: `T${i + 1}`, modality: 'MR', normalization: { kind: 'none' } })),
    output: {
      kind: 'softmax' as const,
      threshold: 0.5,
      labels: Array.from({ length: K }, (_, i) => ({ value: i, name: `c${i}`, color: [0, 0, 0] as [number, number, number] })),
      largestComponent: false
    },
    inference,
    classification: undefined
  } as unknown as Manifest
}

describe('providerOrder', () => {
  it('tries GPUs per platform and always ends on cpu', () => {
    expect(providerOrder('auto', 'linux')).toEqual(['cuda', 'cpu'])
    expect(providerOrder('auto', 'win32')).toEqual(['cuda', 'dml', 'cpu'])
    expect(providerOrder('auto', 'darwin')).toEqual(['coreml', 'cpu'])
    expect(providerOrder('cuda', 'darwin')).toEqual(['cuda', 'cpu'])
    expect(providerOrder('cpu')).toEqual(['cpu'])
    expect(() => providerOrder('tpu' as never)).toThrow('device must be one of')
  })
})

describe('openSession on this CPU-only machine', () => {
  const model = pointwiseModel(1, 2)
  it("'auto' ends on cpu", async () => {
    const s = await openSession(model, { device: 'auto', threads: 1 })
    expect(s.provider).toBe('cpu')
    expect(s.session.inputNames).toEqual(['input'])
    if (process.platform === 'linux' && process.arch === 'x64') {
      // CUDA is built into the linux/x64 package but its provider libraries are downloaded at install time
      expect(s.notes).toHaveLength(1)
      expect(s.notes[0]).toMatch(/^CUDA execution provider could not be loaded \(.+\); ran on CPU$/)
    }
  })
  it("an explicit 'cuda' falls back to cpu with a one-line note, not a crash", async () => {
    const s = await openSession(model, { device: 'cuda', threads: 1 })
    expect(s.provider).toBe('cpu')
    expect(s.notes).toHaveLength(1)
    expect(s.notes[0]).toMatch(/^CUDA execution provider could not be loaded \(.+\); ran on CPU \(requested with device 'cuda'\)$/)
    expect(s.notes[0]).not.toContain('\n')
    console.log('cuda note:', s.notes[0])
  })
  it("'dml' and 'coreml' fall back too", async () => {
    for (const device of ['dml', 'coreml'] as const) {
      const s = await openSession(model, { device, threads: 1 })
      expect(s.provider).toBe('cpu')
      expect(s.notes[0]).toMatch(/execution provider could not be loaded .*; ran on CPU/)
      console.log(`${device} note:`, s.notes[0])
    }
  })
  it('reports a missing file and a model CPU cannot load as SegErrors', async () => {
    await expect(openSession('/nonexistent/model.onnx', { device: 'cpu' })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' })
    await expect(openSession(new Uint8Array([1, 2, 3, 4]), { device: 'cpu' })).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' })
  })
})

describe('checkModelIO', () => {
  it('accepts a matching model and reports its dims', async () => {
    const { session } = await openSession(pointwiseModel(2, 3), { device: 'cpu', threads: 1 })
    expect(checkModelIO(session, manifest(2, 3))).toEqual({ input: ['N', 2, 'D', 'H', 'W'], output: ['N', 3, 'D', 'H', 'W'] })
  })
  it('names both sides of a mismatch', async () => {
    const { session } = await openSession(pointwiseModel(2, 3), { device: 'cpu', threads: 1 })
    expect(() => checkModelIO(session, manifest(1, 3))).toThrow(
      "model.onnx takes input 'input' [N,2,D,H,W] but the manifest declares 1 channel (T1)"
    )
    expect(() => checkModelIO(session, manifest(2, 2))).toThrow("model.onnx gives output 'output' [N,3,D,H,W] but the manifest declares 2 labels")
    const m = manifest(2, 3)
    m.model.input = 'x'
    expect(() => checkModelIO(session, m)).toThrow("model.onnx has no input 'x' (its inputs: 'input')")
    const fixed = (await openSession(pointwiseModel(2, 3, [96, 96, 96]), { device: 'cpu', threads: 1 })).session
    const sw = manifest(2, 3, { mode: 'sliding-window', patchSize: [64, 64, 64], overlap: 0.5, batchSize: 1, blend: 'gaussian', sigmaScale: 0.125 })
    expect(() => checkModelIO(fixed, sw)).toThrow("patchSize is [64,64,64]")
    try {
      checkModelIO(session, manifest(1, 3))
    } catch (e) {
      expect(e).toMatchObject({ code: 'MODEL_MISMATCH' })
    }
  })
})

describe('runModel with a pointwise Conv', () => {
  const C = 2
  const K = 3
  const spatial: Vec3i = [9, 7, 10]
  const voxels = spatial[0] * spatial[1] * spatial[2]
  const input = randomFloats(C * voxels, 42)
  const sessionP = openSession(pointwiseModel(C, K), { device: 'cpu', threads: 1 })
  const base = { inputName: 'input', outputName: 'output', input, spatial, channels: C, outChannels: K }

  it('whole mode pads to divisibleBy and crops back; sliding windows agree to 1e-5', async () => {
    const { session } = await sessionP
    const whole = await runModel({ ...base, session, settings: { mode: 'whole', divisibleBy: 1 } })
    const padded = await runModel({ ...base, session, settings: { mode: 'whole', divisibleBy: 8 } })
    expect(padded.length).toBe(K * voxels)
    let m = 0
    for (let i = 0; i < whole.length; i++) m = Math.max(m, Math.abs(whole[i] - padded[i]))
    expect(m).toBeLessThan(1e-6)
    const progress: number[][] = []
    const sw = await runModel({
      ...base,
      session,
      settings: { mode: 'sliding-window', patchSize: [4, 16, 3], overlap: 0.3, batchSize: 3, blend: 'gaussian', sigmaScale: 0.125 },
      onProgress: (d, t) => progress.push([d, t])
    })
    m = 0
    for (let i = 0; i < whole.length; i++) m = Math.max(m, Math.abs(whole[i] - sw[i]))
    expect(m).toBeLessThan(1e-5)
    expect(progress.at(-1)).toEqual([progress.at(-1)![1], progress.at(-1)![1]])
  })

  it('turns a model failure or a wrong output shape into MODEL_MISMATCH, and honours a pre-aborted signal', async () => {
    const { session } = await sessionP
    await expect(runModel({ ...base, session, channels: 1, input: input.subarray(0, voxels), settings: { mode: 'whole', divisibleBy: 1 } })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH'
    })
    await expect(runModel({ ...base, session, outChannels: 2, settings: { mode: 'whole', divisibleBy: 1 } })).rejects.toThrow(
      "model.onnx output 'output' is float32 [1,3,9,7,10], expected float32 [1,2,9,7,10]"
    )
    const ac = new AbortController()
    ac.abort()
    await expect(runModel({ ...base, session, signal: ac.signal, settings: { mode: 'whole', divisibleBy: 1 } })).rejects.toMatchObject({ code: 'CANCELLED' })
  })
})

describe('layout', () => {
  it("'zyx' is the volume's own memory; 'xyz' transposes and back", () => {
    const size: [number, number, number] = [2, 3, 4]
    const data = Float32Array.from({ length: 2 * 24 }, (_, v) => v)
    expect(volumeToTensor(data, 2, size, 'zyx')).toBe(data)
    expect(tensorSpatial(size, 'zyx')).toEqual([4, 3, 2])
    expect(tensorSpatial(size, 'xyz')).toEqual([2, 3, 4])
    const t = volumeToTensor(data, 2, size, 'xyz')
    // tensor [c, i, j, k] = volume value at i + 2·(j + 3·k)
    expect(t[24 + (1 * 3 + 2) * 4 + 3]).toBe(24 + 1 + 2 * (2 + 3 * 3))
    expect(tensorToVolume(t, 2, size, 'xyz')).toEqual(data)
  })
})
