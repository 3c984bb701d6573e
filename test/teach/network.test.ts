/**
 * Network features for `teach`: taps on the shipped brain ResUNet's graph. The tap is checked against
 * the base model itself (its own 1×1×1 head on the tapped decoder map gives its seg_logits); a bundle
 * taught on network + filter features runs through `segtransfer segment` with exactly the labels of
 * the in-memory preview; a base without a decoder map is refused with one line.
 */
import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { REPO } from '../helpers/data'
import { BASE, CORD, T2, teachThenSegment, useTempDir } from './cord'
import { cli } from '../cli/run-cli'
import { readVolume } from '../../src/engine/volume/read'
import { normalize } from '../../src/engine/volume/intensity'
import { loadBundle, writeBundle } from '../../src/engine/bundle/bundle'
import { toModelSpace } from '../../src/engine/pipeline/segment'
import { volumeToTensor } from '../../src/engine/inference/layout'
import { decodeModel, initializersOf, GraphBuilder } from '../../src/engine/onnx'
import { TAPS_OUTPUT } from '../../src/engine/teach/network-taps'
import { checkTapMemory, networkTapsOf } from '../../src/engine/teach/network'
import { predictInMemory, taughtModelOf, teach } from '../../src/engine/teach/teach'

const DEMO = join(REPO, 'resources/models/demo-tissue')
const tmp = useTempDir()

/** The centre 64³ block of a 128³ [1,1,…] tensor (the ResUNet needs sizes divisible by 32). */
function centreBlock(t: Float32Array, n = 128, b = 64): Float32Array {
  const out = new Float32Array(b ** 3)
  const o = (n - b) / 2
  for (let z = 0; z < b; z++) for (let y = 0; y < b; y++) for (let x = 0; x < b; x++) out[(z * b + y) * b + x] = t[((z + o) * n + y + o) * n + x + o]
  return out
}

describe('network features (taps on the base bundle graph)', () => {
  it("taps the ResUNet's decoder map: the base's own 1×1×1 head applied to the tap reproduces its seg_logits", async () => {
    const bundle = await loadBundle(BASE)
    const m = bundle.manifest
    const net = await networkTapsOf(bundle, ['decoder'], [64, 64, 64])
    expect(net.taps).toEqual(['decoder_0.1/Relu'])
    expect(net.count).toBe(8)
    // A real scan in the base's model space, with its preprocessing.
    const space = toModelSpace(await readVolume(T2), m.geometry)
    const x = centreBlock(volumeToTensor(normalize(space.data as Float32Array, m.channels[0].normalization), 1, space.size, 'xyz'))
    const feed = { [m.model.input]: new ort.Tensor('float32', x, [1, 1, 64, 64, 64]) }
    const tapSession = await ort.InferenceSession.create(net.onnx)
    const baseSession = await ort.InferenceSession.create(bundle.modelPath)
    const taps = (await tapSession.run(feed))[TAPS_OUTPUT].data as Float32Array
    const logits = (await baseSession.run(feed, [m.model.output]))[m.model.output].data as Float32Array
    const init = initializersOf(net.base.graph)
    const W = init.get('seg_head.weight')!.data as Float32Array
    const B = init.get('seg_head.bias')!.data as Float32Array
    const n = 64 ** 3
    let worst = 0
    let scale = 0
    for (let k = 0; k < 4; k++) {
      for (let v = 0; v < n; v += 7) {
        let y = B[k]
        for (let c = 0; c < 8; c++) y += W[k * 8 + c] * taps[c * n + v]
        worst = Math.max(worst, Math.abs(y - logits[k * n + v]))
        scale = Math.max(scale, Math.abs(logits[k * n + v]))
      }
    }
    expect(scale).toBeGreaterThan(1)
    expect(worst).toBeLessThanOrEqual(1e-4 * scale)
    await tapSession.release()
    await baseSession.release()
  }, 60_000)

  it('estimates the memory of a scan\'s taps before allocating them and refuses what exceeds the budget', async () => {
    const net = await networkTapsOf(await loadBundle(BASE), ['decoder'], [128, 128, 128])
    // 8 channels × 128³ voxels × 4 bytes, in tensor and in storage order, plus the body's own activations.
    expect(checkTapMemory(net, [128, 128, 128], 2 ** 40)).toBeGreaterThan(2 * 8 * 128 ** 3 * 4)
    expect(() => checkTapMemory(net, [128, 128, 128], 64 * 2 ** 20)).toThrow(/^network features of a 128×128×128 model grid need about \d+\.\d GiB; expected at most 0\.1 GiB/)
  })

  it('a cancel between two scans\' network taps (one tap session for the run) ends the teach with CANCELLED', async () => {
    const [image, labels] = [await readVolume(T2), await readVolume(CORD)]
    const scans = ['a', 'b'].map((name) => ({ name, image, labels, labelledSlices: 'axial:every:3' }))
    const stop = new AbortController()
    const stages: string[] = []
    const run = teach({ base: await loadBundle(BASE), scans, features: ['network'], threads: 1, signal: stop.signal, onProgress: (p) => {
      stages.push(p.stage)
      if (p.stage === 'features') stop.abort() // reported after the first scan's taps
    } })
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(stages.filter((s) => s === 'features')).toHaveLength(1)
  }, 60_000)

  it('bakes network + filter features into one graph: segment on the bundle equals the in-memory preview voxel for voxel', async () => {
    const { out, mask } = await teachThenSegment(tmp.dir, 'cord-net', ['--features', 'network,filters', '--head', 'linear'])
    const seg = await readVolume(mask)
    const bundle = await loadBundle(out)
    const preview = await predictInMemory(await taughtModelOf(bundle), await readVolume(T2))
    expect(Array.from(seg.data).filter((v) => v === 1).length).toBeGreaterThan(100)
    expect(Array.from(preview.data).filter((v, o) => v !== seg.data[o]).length).toBe(0)
    // The base's model space and provenance: its name and hash, the frozen taps.
    const m = bundle.manifest
    const base = (await loadBundle(BASE)).manifest
    expect(m.geometry).toEqual(base.geometry)
    expect(m.channels[0].normalization).toEqual(base.channels[0].normalization)
    expect(m.architecture).toMatchObject({ features: ['filters', 'network'], taps: ['decoder_0.1/Relu'], featureCount: 27 })
    const details = m.provenance.at(-1)!.details as Record<string, any>
    expect(details.base.name).toBe(base.name)
    expect(details.base.modelSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(details.frozen).toMatch(/decoder_0\.1\/Relu/)
  }, 120_000)

  it('refuses network features on a base whose graph has no decoder map to tap, with one line and no bundle', async () => {
    // A real bundle whose scores come straight from a 3×3×3 convolution of the image: no head on a feature map.
    const demo = await loadBundle(DEMO)
    const g = new GraphBuilder('plain')
    g.input('image', 'float32', ['N', 1, 'D', 'H', 'W'])
    g.initializer('w', { dims: [4, 1, 3, 3, 3], data: new Float32Array(4 * 27).fill(0.01) })
    g.node('Conv', ['image', 'w'], ['logits'], { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] })
    g.output('logits', 'float32', ['N', 4, 'D', 'H', 'W'])
    const plain = join(tmp.dir, 'plain-bundle')
    await writeBundle(plain, demo.manifest, g.toModel({ opset: 17 }))
    const out = join(tmp.dir, 'plain-net')
    const r = await cli('teach', '--model', plain, '--image', T2, '--labels', CORD, '--labelled-slices', 'axial:every:3', '--features', 'network', '--out', out, '--quiet')
    expect(r.code).toBe(2)
    const lines = r.err.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: base bundle .* has no decoder feature map to tap: its output 'logits' comes from a Conv with kernel 3×3×3; expected a segmentation head/)
    expect(existsSync(out)).toBe(false)
  }, 60_000)
})
