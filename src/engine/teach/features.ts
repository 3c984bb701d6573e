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
import type { FilterBankSpec } from './filter-bank'

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
 * Kept planes per slab: the slab input (with halo on both sides) holds about SLAB_VOXELS, and at
 * least as many planes are kept as the halos add, so no voxel's features are computed more than twice.
 */
export function slabPlanes(nxy: number, halo: number, slabVoxels = SLAB_VOXELS): number {
  return Math.max(1, 2 * halo, Math.floor(slabVoxels / nxy) - 2 * halo)
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
  opts: Pick<FeatureOptions, 'signal' | 'slabVoxels'> = {}
): Promise<void> {
  const data = image.data as Float32Array
  const nxy = image.size[0] * image.size[1]
  const nk = image.size[2]
  const planes = slabPlanes(nxy, graph.halo, opts.slabVoxels)
  for (let k0 = 0; k0 < nk; k0 += planes) {
    if (opts.signal?.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    const inStart = Math.max(0, k0 - graph.halo)
    const inEnd = Math.min(nk, k0 + planes + graph.halo)
    const result = await session.run({ [FEATURE_INPUT]: new ort.Tensor('float32', data.subarray(inStart * nxy, inEnd * nxy), [1, 1, inEnd - inStart, image.size[1], image.size[0]]) })
    const kEnd = Math.min(nk, k0 + planes)
    visit(result[FEATURE_OUTPUT].data as Float32Array, (inEnd - inStart) * nxy, (k0 - inStart) * nxy, k0 * nxy, (kEnd - k0) * nxy)
  }
}

/** A scan to take whole-slice features of: its normalised model-space image and the axis its labelled slices lie across. */
export interface SlicedImage {
  image: Volume
  /** Voxel axis (0 = i, 1 = j, 2 = k) the labelled slices are taken along. */
  splitAxis: number
}

/**
 * The filter bank's spec with the tensor dims reordered so that voxel axis `splitAxis` is d0, then
 * the other two slowest first. Every feature (smoothed intensity, gradient magnitude, LoG, sorted
 * Hessian eigenvalues) is invariant to reordering the axes, so this spec gives the same features.
 */
export function sliceSpec(spec: FilterBankSpec, splitAxis: number): FilterBankSpec {
  const voxelSpacing = [spec.spacing[2], spec.spacing[1], spec.spacing[0]]
  const [slow, fast] = inPlaneAxes(splitAxis)
  return { ...spec, spacing: [voxelSpacing[splitAxis], voxelSpacing[slow], voxelSpacing[fast]] }
}

/** The two voxel axes of a slice across `splitAxis`, the slower first. */
function inPlaneAxes(splitAxis: number): [number, number] {
  const [slow, fast] = [2, 1, 0].filter((a) => a !== splitAxis)
  return [slow, fast]
}

/**
 * Features of `refs` (row r = refs[r]) as a [refs.length × F] row-major matrix, computed slice by
 * slice across each scan's `splitAxis`: the `centred` feature graph of sliceSpec(spec, splitAxis)
 * gets the slice with `halo` planes either side (zeros beyond the volume, as the full graph's zero
 * padding) and returns that slice's features only. For labels on every 8th slice of a 256³ scan this
 * is an eighth of the whole-volume work. The same features as the whole-volume graph (`forEachSlab`) up to float rounding
 * (summation order), which training tolerates; the baked graph computes its own.
 * `sessions[s]` runs the centred graph of scan s's spec.
 */
export async function featuresOnSlices(sessions: ort.InferenceSession[], graph: Pick<FeatureGraph, 'count' | 'halo'>[], scans: SlicedImage[], refs: VoxelRef[], opts: Pick<FeatureOptions, 'signal' | 'onProgress'> = {}): Promise<Float32Array> {
  const out = new Float32Array(refs.length * (graph[0]?.count ?? 0))
  const groups = new Map<string, number[]>()
  refs.forEach((ref, r) => {
    const { image, splitAxis } = scans[ref.scan]
    const key = `${ref.scan}:${voxelOf(ref.offset, image.size)[splitAxis]}`
    const rows = groups.get(key)
    if (rows) rows.push(r)
    else groups.set(key, [r])
  })
  let done = 0
  for (const [key, rows] of groups) {
    if (opts.signal?.aborted) throw new SegError('CANCELLED', 'teaching cancelled by the user')
    const [s, slice] = key.split(':').map(Number)
    const { image, splitAxis } = scans[s]
    const { count: F, halo } = graph[s]
    const [slow, fast] = inPlaneAxes(splitAxis)
    const n = image.size
    const stride = [1, n[0], n[0] * n[1]]
    const plane = n[slow] * n[fast]
    const data = image.data as Float32Array
    const block = new Float32Array((2 * halo + 1) * plane)
    for (let p = 0; p <= 2 * halo; p++) {
      const at = slice - halo + p
      if (at < 0 || at >= n[splitAxis]) continue
      for (let u = 0; u < n[slow]; u++) {
        const src = at * stride[splitAxis] + u * stride[slow]
        const dst = p * plane + u * n[fast]
        for (let v = 0; v < n[fast]; v++) block[dst + v] = data[src + v * stride[fast]]
      }
    }
    const result = await sessions[s].run({ [FEATURE_INPUT]: new ort.Tensor('float32', block, [1, 1, 2 * halo + 1, n[slow], n[fast]]) })
    const f = result[FEATURE_OUTPUT].data as Float32Array
    for (const r of rows) {
      const ijk = voxelOf(refs[r].offset, n)
      const local = ijk[slow] * n[fast] + ijk[fast]
      for (let c = 0; c < F; c++) out[r * F + c] = f[c * plane + local]
    }
    opts.onProgress?.(++done / groups.size)
  }
  return out
}

/** Voxel indices (i, j, k) of a storage offset (i fastest). */
function voxelOf(offset: number, size: readonly number[]): [number, number, number] {
  const i = offset % size[0]
  const rest = (offset - i) / size[0]
  return [i, rest % size[1], Math.floor(rest / size[1])]
}
