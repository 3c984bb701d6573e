/**
 * Memory bounds of segment() from first principles (pipeline/memory.ts): a small file declaring a
 * huge grid is refused from its header before any voxel is decoded, and the estimate of a real run
 * is an upper bound of the peak actually measured (Linux VmHWM, reset before the run).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { REPO, data, tempDir } from '../helpers/data'
import { segment, toModelSpace } from '../../src/engine/pipeline/segment'
import { loadBundle, parseManifest } from '../../src/engine/bundle/bundle'
import { readVolume } from '../../src/engine/volume/read'
import { readHeaderInfo } from '../../src/engine/volume/header-info'
import { estimateSegmentMemory, modelGridSize } from '../../src/engine/pipeline/memory'
import { peakActivationBytes } from '../../src/engine/inference/activation-memory'
import { decodeModel } from '../../src/engine/onnx'
import { testManifest } from '../helpers/models'
import { SegError } from '../../src/engine/errors'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

const SHIPPED = join(REPO, 'resources/models/brain-tissue-resunet')

/**
 * A complete, valid .nii.gz of `n`³ uint8 zeros, about 1 kB per 1 MB of voxels: gzip members may be
 * concatenated, so one compressed member of n² zeros is repeated n times after the header's member.
 */
function hugeNifti(path: string, n: number): void {
  const h = Buffer.alloc(352)
  h.writeInt32LE(348, 0)
  h.writeInt16LE(3, 40)
  for (let d = 1; d <= 3; d++) h.writeInt16LE(n, 40 + 2 * d)
  h.writeInt16LE(2, 70) // DT_UINT8
  h.writeInt16LE(8, 72) // bitpix
  h.writeFloatLE(1, 76)
  for (let d = 1; d <= 3; d++) h.writeFloatLE(1, 76 + 4 * d)
  h.writeFloatLE(352, 108) // vox_offset
  h.writeFloatLE(1, 112) // scl_slope
  h.write('n+1\0', 344, 'latin1')
  const slab = gzipSync(Buffer.alloc(n * n), { level: 9 })
  writeFileSync(path, Buffer.concat([gzipSync(h), ...Array<Buffer>(n).fill(slab)]))
}

/** Peak resident bytes of the process since the last reset (Linux /proc), for measuring a real run. */
const highWater = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024
/** Linux lets a process reset its own peak (VmHWM) by writing 5 to clear_refs; elsewhere the measurement is skipped. */
function resetHighWater(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}
const canMeasure = existsSync('/proc/self/status') && resetHighWater()

describe('segment() memory bounds', () => {
  it('refuses a 1.7 MB .nii.gz declaring 1200³ voxels from its header, naming the memory needed and available, without allocating', async () => {
    const path = join(tmp.dir, 'huge.nii.gz')
    hugeNifti(path, 1200)
    expect(statSync(path).size).toBeLessThan(2_000_000)
    const bundle = await loadBundle(SHIPPED)
    const before = process.memoryUsage().arrayBuffers
    const err = await segment({ bundle, inputs: [path], device: 'cpu', memoryBudget: 16 * 2 ** 30 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SegError)
    expect((err as SegError).code).toBe('TOO_LARGE')
    expect((err as SegError).message).toMatch(/^segmenting huge\.nii\.gz needs about [\d.]+ GB of memory \(peak while [a-z -]+\), but 17\.2 GB is available/)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 2 ** 20)
  })

  it('counts the model grid of every geometry mode as toModelSpace makes it', async () => {
    const v = await readVolume(data('geometry/t1_LAS.nii.gz'))
    const modes = [
      { mode: 'native' },
      { mode: 'reorient', orientation: 'PSR' },
      { mode: 'resample', orientation: 'SPR', spacing: [1.5, 2, 3] },
      { mode: 'resample', spacing: [0.7, 2, 2.5] },
      { mode: 'conform', orientation: 'LIA', size: [40, 50, 60], spacing: [3, 3, 3], uint8: true }
    ] as const
    for (const g of modes) {
      const geometry = parseManifest(testManifest({ geometry: g as never })).geometry
      expect(modelGridSize(v, geometry), g.mode).toEqual(toModelSpace(v, geometry).size)
    }
  })

  it.skipIf(!canMeasure)('estimates at least the peak measured while the shipped model segments the oblique FLAIR, and at most 2.5× it', async () => {
    const bundle = await loadBundle(SHIPPED)
    const file = data('mri/FLAIR.nii.gz')
    const header = (await readHeaderInfo(file))!
    const graph = decodeModel(new Uint8Array(readFileSync(bundle.modelPath))).graph
    const estimate = estimateSegmentMemory({
      inputs: [header], manifest: bundle.manifest, refinement: true, modelFileBytes: statSync(bundle.modelPath).size,
      activationBytes: (dims) => peakActivationBytes(graph, bundle.manifest.model.input, dims)
    })
    resetHighWater()
    const start = process.memoryUsage().rss
    await segment({ bundle, inputs: [file], device: 'cpu' })
    const measured = highWater() - start
    console.log(`FLAIR, shipped bundle: estimate ${(estimate.bytes / 1e6).toFixed(0)} MB, measured peak ${(measured / 1e6).toFixed(0)} MB`)
    expect(estimate.bytes).toBeGreaterThanOrEqual(measured)
    expect(estimate.bytes).toBeLessThanOrEqual(2.5 * measured)
  })
})
