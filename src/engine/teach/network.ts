/**
 * Network features for training: the base bundle's tap graph (network-taps.ts) run by onnxruntime on
 * each scan in the base's own model space, through the pipeline's inference path (runModelWithHeads:
 * the same padding and tensor layout segment() uses), then sampled at the wanted voxels. One scan's
 * taps at a time are held ([taps × model voxels], the size of the base's own upsampled output), and
 * only after estimating that they fit.
 */
import type * as ort from 'onnxruntime-node'
import { SegError } from '../errors'
import { readBoundedFile, type Bundle } from '../bundle/bundle'
import type { Manifest } from '../bundle/manifest'
import { decodeModel, type OnnxModel } from '../onnx'
import { inferShapes } from '../onnx/shapes'
import { peakActivationBytes } from '../inference/activation-memory'
import { openSession } from '../inference/session'
import { runModelWithHeads } from '../inference/run'
import { tensorSpatial, tensorToVolume, volumeToTensor } from '../inference/layout'
import { defaultMemoryBudget } from '../pipeline/memory'
import type { Volume } from '../volume/volume'
import { voxelCount } from '../volume/volume'
import { buildTapGraph, resolveTaps, TAPS_OUTPUT } from './network-taps'
import type { VoxelRef } from './split'

/** Opset of the graphs teach writes (the base's nodes are copied as they are; 17 has everything used). */
export const TEACH_OPSET = 17

export interface NetworkTaps {
  /** The base model, decoded. */
  base: OnnxModel
  /** The base's input name and its manifest (geometry, normalisation, inference, axis order). */
  input: string
  manifest: Manifest
  /** Resolved tap value names in the base graph. */
  taps: string[]
  /** Network features (channels of all taps together). */
  count: number
  /** The tap graph (training), encoded and decoded (the memory estimate walks it per scan). */
  onnx: Uint8Array
  graph: OnnxModel['graph']
}

/** The base's model-space size (conform: fixed; otherwise the first scan's model grid decides). */
function tapInputDims(m: Manifest, size: readonly number[]): number[] {
  const spatial = tensorSpatial(size as [number, number, number], m.model.axisOrder)
  const div = m.inference.mode === 'whole' ? m.inference.divisibleBy : 1
  return [1, 1, ...spatial.map((d) => Math.ceil(d / div) * div)]
}

/**
 * The taps of `base` (names as resolveTaps takes them) and their channel count, from the graph's
 * static shapes on a model-space grid of `size` voxels.
 * @param modelBytes the base's model.onnx when the caller has read it already; else it is read here,
 *   bounded by LIMITS.modelBytes.
 * @throws SegError UNSUPPORTED when the base has no tappable decoder map.
 */
export async function networkTapsOf(bundle: Bundle, taps: readonly string[], size: readonly number[], modelBytes?: Uint8Array): Promise<NetworkTaps> {
  const m = bundle.manifest
  const base = decodeModel(modelBytes ?? new Uint8Array(await readBoundedFile(bundle.modelPath, 'an ONNX model', 'modelBytes')))
  const resolved = resolveTaps(base.graph, m.model.output, taps, m.name)
  const onnx = buildTapGraph(base, m.model.input, m.channels.length, resolved, TEACH_OPSET)
  const graph = decodeModel(onnx).graph
  const shape = inferShapes(graph, { [m.model.input]: tapInputDims(m, size) }).shapes.get(TAPS_OUTPUT)
  if (!shape) throw new SegError('UNSUPPORTED', `the taps ${resolved.join(', ')} of '${m.name}' have no static channel count; expected feature maps of a convolutional graph`)
  return { base, input: m.model.input, manifest: m, taps: resolved, count: shape[1], onnx, graph }
}

/**
 * Bytes the taps of one scan need at once: the tap graph's own working memory plus the features in
 * tensor and in storage order.
 * @throws SegError TOO_LARGE above `budget`.
 */
export function checkTapMemory(net: NetworkTaps, size: readonly number[], budget = defaultMemoryBudget()): number {
  const dims = tapInputDims(net.manifest, size)
  const padded = dims.slice(2).reduce((a, b) => a * b, 1)
  const activations = peakActivationBytes(net.graph, net.input, dims) ?? 0
  const bytes = activations + 2 * net.count * padded * 4
  if (bytes > budget) {
    throw new SegError('TOO_LARGE', `network features of a ${size.join('×')} model grid need about ${(bytes / 2 ** 30).toFixed(1)} GiB; expected at most ${(budget / 2 ** 30).toFixed(1)} GiB (use --features filters)`)
  }
  return bytes
}

/**
 * The CPU session of the tap graph, opened once per teach run and given to every sampleTaps call
 * (creating it parses and optimises the whole base body); the caller releases it.
 */
export async function openTapSession(net: NetworkTaps, threads?: number): Promise<ort.InferenceSession> {
  return (await openSession(net.onnx, { device: 'cpu', threads })).session
}

/**
 * Network features of `rows` (refs of scan `scan`, one list per sample set) written into `out[set]`
 * ([refs × F] row-major) at columns `column`.. `column + count`. `image` is the scan's normalised
 * model-space image (the base's preprocessing, as segment() makes it); `session` is openTapSession's.
 */
export async function sampleTaps(
  net: NetworkTaps,
  session: ort.InferenceSession,
  image: Volume,
  scan: number,
  sets: { refs: VoxelRef[]; out: Float32Array; F: number }[],
  column: number,
  opts: { signal?: AbortSignal } = {}
): Promise<void> {
  const m = net.manifest
  checkTapMemory(net, image.size)
  const n = voxelCount(image)
  const { scores } = await runModelWithHeads({
    session, inputName: net.input, outputName: TAPS_OUTPUT, input: volumeToTensor(image.data as Float32Array, 1, image.size, m.model.axisOrder),
    spatial: tensorSpatial(image.size, m.model.axisOrder), channels: 1, outChannels: net.count, settings: m.inference, signal: opts.signal, extraOutputs: []
  })
  const features = tensorToVolume(scores, net.count, image.size, m.model.axisOrder)
  for (const { refs, out, F } of sets) {
    refs.forEach((ref, r) => {
      if (ref.scan !== scan) return
      for (let c = 0; c < net.count; c++) out[r * F + column + c] = features[c * n + ref.offset]
    })
  }
}
