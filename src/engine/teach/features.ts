/**
 * Features of chosen voxels, computed by the feature graph (the same ONNX nodes the baked bundle
 * holds) through onnxruntime-node, slab by slab along the slowest axis so that the features of a
 * whole large volume are never in memory at once. A slab carries a halo as wide as the widest
 * kernel, so every kept voxel sees exactly the neighbourhood it sees in the whole-volume graph.
 */
import * as ort from 'onnxruntime-node'
import { SegError } from '../errors'
import type { Volume } from '../volume/volume'
import type { VoxelRef } from './split'

export interface FeatureGraph {
  /** Serialized ONNX model: input `image` [1,1,d0,d1,d2] → output `features` [1,F,d0,d1,d2]. */
  onnx: Uint8Array
  /** F. */
  count: number
  /** Halo (voxels along d0) a slab needs for exact features. */
  halo: number
}

export const FEATURE_INPUT = 'image'
export const FEATURE_OUTPUT = 'features'

/** Voxels per slab input (with halo): ~4 M keeps a 19-feature slab and its intermediates near 1.5 GB. */
const SLAB_VOXELS = 4_000_000

export interface FeatureOptions {
  signal?: AbortSignal
  /** Called after each slab with the fraction of slabs done. */
  onProgress?: (fraction: number) => void
  threads?: number
  /** Voxels per slab input (default SLAB_VOXELS); tests set it small to prove slabs change nothing. */
  slabVoxels?: number
}

/**
 * A session on the feature graph (CPU: the features must be bit-identical to the baked bundle's).
 * Without the memory arena: on a 256x256x61 slab it ran in half the time (arena growth per slab).
 */
export async function openFeatureSession(graph: FeatureGraph, threads?: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(graph.onnx, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableCpuMemArena: false, ...(threads ? { intraOpNumThreads: threads } : {}) })
}

/**
 * Features of `refs` (row r = refs[r]) as a [refs.length × F] row-major matrix. `images` are the
 * normalised model-space volumes (Float32Array, zyx tensor order = storage order).
 */
export async function featuresAt(session: ort.InferenceSession, graph: FeatureGraph, images: Volume[], refs: VoxelRef[], opts: FeatureOptions = {}): Promise<Float32Array> {
  const F = graph.count
  const out = new Float32Array(refs.length * F)
  const plans = images.map((image, s) => slabPlan(image, refs, s, graph.halo, opts.slabVoxels))
  const total = plans.reduce((a, p) => a + p.length, 0)
  let done = 0
  for (let s = 0; s < images.length; s++) {
    const image = images[s]
    const data = image.data as Float32Array
    const nxy = image.size[0] * image.size[1]
    for (const slab of plans[s]) {
      if (opts.signal?.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
      const input = new ort.Tensor('float32', data.subarray(slab.inStart * nxy, slab.inEnd * nxy), [1, 1, slab.inEnd - slab.inStart, image.size[1], image.size[0]])
      const result = await session.run({ [FEATURE_INPUT]: input })
      const f = result[FEATURE_OUTPUT].data as Float32Array
      const plane = (slab.inEnd - slab.inStart) * nxy
      for (const r of slab.rows) {
        const local = refs[r].offset - slab.inStart * nxy
        for (let c = 0; c < F; c++) out[r * F + c] = f[c * plane + local]
      }
      opts.onProgress?.(++done / total)
    }
  }
  return out
}

/**
 * Kept planes per slab: the slab input (with halo on both sides) holds about SLAB_VOXELS, and at
 * least as many planes are kept as the halos add, so no voxel's features are computed more than twice.
 */
export function slabPlanes(nxy: number, halo: number, slabVoxels = SLAB_VOXELS): number {
  return Math.max(1, 2 * halo, Math.floor(slabVoxels / nxy) - 2 * halo)
}

interface Slab {
  inStart: number
  inEnd: number
  /** Rows of `refs` whose voxel lies in this slab's kept planes. */
  rows: number[]
}

/** Slabs of scan `s` along k (the slowest axis) that hold at least one wanted voxel. */
function slabPlan(image: Volume, refs: VoxelRef[], s: number, halo: number, slabVoxels?: number): Slab[] {
  const nxy = image.size[0] * image.size[1]
  const nk = image.size[2]
  const planes = slabPlanes(nxy, halo, slabVoxels)
  const slabs: Slab[] = []
  for (let k0 = 0; k0 < nk; k0 += planes) {
    slabs.push({ inStart: Math.max(0, k0 - halo), inEnd: Math.min(nk, k0 + planes + halo), rows: [] })
  }
  refs.forEach((ref, r) => {
    if (ref.scan === s) slabs[Math.floor(Math.floor(ref.offset / nxy) / planes)].rows.push(r)
  })
  return slabs.filter((slab) => slab.rows.length)
}

/**
 * Runs the feature graph over every slab of `image` and hands each slab's kept planes to `visit`:
 * `features` is [F × plane] for the slab's input (with halo), `first` the local offset of the first
 * kept voxel, `offset0` its offset in the volume and `count` the kept voxels.
 */
export async function forEachSlab(
  session: ort.InferenceSession,
  graph: FeatureGraph,
  image: Volume,
  visit: (features: Float32Array, plane: number, first: number, offset0: number, count: number) => void,
  signal?: AbortSignal
): Promise<void> {
  const data = image.data as Float32Array
  const nxy = image.size[0] * image.size[1]
  const nk = image.size[2]
  const planes = slabPlanes(nxy, graph.halo)
  for (let k0 = 0; k0 < nk; k0 += planes) {
    if (signal?.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    const inStart = Math.max(0, k0 - graph.halo)
    const inEnd = Math.min(nk, k0 + planes + graph.halo)
    const result = await session.run({ [FEATURE_INPUT]: new ort.Tensor('float32', data.subarray(inStart * nxy, inEnd * nxy), [1, 1, inEnd - inStart, image.size[1], image.size[0]]) })
    const kEnd = Math.min(nk, k0 + planes)
    visit(result[FEATURE_OUTPUT].data as Float32Array, (inEnd - inStart) * nxy, (k0 - inStart) * nxy, k0 * nxy, (kEnd - k0) * nxy)
  }
}
