/**
 * Running a segmentation model over a whole volume, per the manifest's `inference` section:
 * - whole: one call on the volume, zero-padded (symmetrically) up to a multiple of `divisibleBy`, cropped back;
 * - sliding-window: `slidingWindowInference` with an ONNX Runtime predictor that runs n windows as
 *   one [n, C, ...patch] tensor.
 * Layouts: input [C, d0, d1, d2] and result [K, d0, d1, d2], float32, C order (see layout.ts for the
 * volume ↔ tensor conversion by `model.axisOrder`).
 */
import * as ort from 'onnxruntime-node'
import type { InferenceSettings } from '../bundle/manifest'
import { SegError } from '../errors'
import { slidingWindowInference, type PatchPredictor, type Vec3i } from './sliding-window'

export interface RunModelParams {
  session: ort.InferenceSession
  /** Name of the model input fed with [N, C, d0, d1, d2] float32. */
  inputName: string
  /** Name of the model output read as [N, K, d0, d1, d2] float32 scores. */
  outputName: string
  /** [C, d0, d1, d2] float32, C order; not modified. */
  input: Float32Array
  /** [d0, d1, d2] voxels. */
  spatial: Vec3i
  /** C. */
  channels: number
  /** K: output channels expected. */
  outChannels: number
  /** The manifest's `inference` section. */
  settings: InferenceSettings
  /** Windows (sliding) or calls (whole: 0 of 1, then 1 of 1) done so far. */
  onProgress?: (done: number, total: number) => void
  /** Checked before and after each model call, after the events that came during it were handled (a running ORT call is not interrupted). */
  signal?: AbortSignal
}

/**
 * Resolves after one turn of the event loop. onnxruntime-node runs a model call synchronously on this
 * thread, so a cancel that arrived meanwhile (a worker message, a signal) is only an event waiting to
 * be handled; without this turn the check after a whole-volume call would run before it.
 */
const eventsHandled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function cancelled(): SegError {
  return new SegError('CANCELLED', 'inference cancelled')
}

/**
 * Feed one [n, C, ...spatial] tensor, return the output's data after checking it is
 * [n, K, ...spatial] float32, plus the float32 data of any `extra` outputs (e.g. a classification head).
 */
async function runOnce(
  session: ort.InferenceSession,
  inputName: string,
  outputName: string,
  data: Float32Array,
  dims: number[],
  K: number,
  extra: readonly string[] = []
): Promise<{ scores: Float32Array; extras: Record<string, Float32Array> }> {
  let result: ort.InferenceSession.OnnxValueMapType
  try {
    result = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [outputName, ...extra])
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300)
    throw new SegError('MODEL_MISMATCH', `model.onnx failed on input '${inputName}' [${dims.join(',')}]: ${msg}`)
  }
  const out = result[outputName] as ort.Tensor | undefined
  const expected = [dims[0], K, ...dims.slice(2)]
  if (!out || out.type !== 'float32' || out.dims.join(',') !== expected.join(',')) {
    const got = out ? `${out.type} [${out.dims.join(',')}]` : 'nothing'
    throw new SegError('MODEL_MISMATCH', `model.onnx output '${outputName}' is ${got}, expected float32 [${expected.join(',')}]`)
  }
  const asF32 = (t: ort.Tensor): Float32Array => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>))
  const extras: Record<string, Float32Array> = {}
  for (const name of extra) {
    const t = result[name] as ort.Tensor | undefined
    if (!t || t.type !== 'float32') throw new SegError('MODEL_MISMATCH', `model.onnx output '${name}' is ${t ? t.type : 'missing'}, expected float32`)
    extras[name] = asF32(t)
  }
  return { scores: asF32(out), extras }
}

/** Pad [C, ...spatial] with zeros to `padded`, `before` voxels before on each axis. */
function pad(input: Float32Array, C: number, spatial: Vec3i, padded: Vec3i, before: Vec3i): Float32Array {
  const [d0, d1, d2] = spatial
  const [q0, q1, q2] = padded
  const out = new Float32Array(C * q0 * q1 * q2)
  for (let c = 0; c < C; c++)
    for (let i = 0; i < d0; i++)
      for (let j = 0; j < d1; j++) {
        const src = ((c * d0 + i) * d1 + j) * d2
        out.set(input.subarray(src, src + d2), ((c * q0 + i + before[0]) * q1 + j + before[1]) * q2 + before[2])
      }
  return out
}

/** Crop [K, ...padded] back to [K, ...spatial] starting at `before`. */
function crop(data: Float32Array, K: number, spatial: Vec3i, padded: Vec3i, before: Vec3i): Float32Array {
  const [d0, d1, d2] = spatial
  const [q0, q1, q2] = padded
  const out = new Float32Array(K * d0 * d1 * d2)
  for (let k = 0; k < K; k++)
    for (let i = 0; i < d0; i++)
      for (let j = 0; j < d1; j++) {
        const src = ((k * q0 + i + before[0]) * q1 + j + before[1]) * q2 + before[2]
        out.set(data.subarray(src, src + d2), ((k * d0 + i) * d1 + j) * d2)
      }
  return out
}

/**
 * Run the model on the whole volume or by sliding windows, per `settings`. Returns [K, d0, d1, d2]
 * float32 scores (whatever the model outputs: logits or probabilities).
 * @throws SegError BAD_ARGUMENT (inconsistent sizes), MODEL_MISMATCH (the model rejects the input or
 *         returns another shape), CANCELLED
 */
export async function runModel(p: RunModelParams): Promise<Float32Array> {
  return (await runModelWithHeads(p)).scores
}

/**
 * runModel, also returning whole-volume outputs such as a classification head's [N, M] logits
 * (`extraOutputs`). In whole mode they come from the same model call; in sliding-window mode a
 * patch says nothing about the whole volume, so they come from one extra whole-volume call.
 */
export async function runModelWithHeads(
  p: RunModelParams & { extraOutputs?: readonly string[] }
): Promise<{ scores: Float32Array; extras: Record<string, Float32Array> }> {
  const extra = p.extraOutputs ?? []
  const { session, inputName, outputName, input, spatial, channels: C, outChannels: K, settings } = p
  if (spatial.length !== 3 || !spatial.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new SegError('BAD_ARGUMENT', `spatial must be 3 positive integers, got [${spatial.join(', ')}]`)
  }
  for (const [name, x] of [['channels', C], ['outChannels', K]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new SegError('BAD_ARGUMENT', `${name} must be a positive integer, got ${x}`)
  }
  const voxels = spatial[0] * spatial[1] * spatial[2]
  if (input.length !== C * voxels) {
    throw new SegError('BAD_ARGUMENT', `input holds ${input.length} values but [C, d0, d1, d2] = [${C}, ${spatial.join(', ')}] needs ${C * voxels}`)
  }
  if (p.signal?.aborted) throw cancelled()

  if (settings.mode === 'whole') {
    const m = settings.divisibleBy
    if (!Number.isInteger(m) || m < 1) throw new SegError('BAD_ARGUMENT', `divisibleBy must be a positive integer, got ${m}`)
    const padded = spatial.map((d) => Math.ceil(d / m) * m) as Vec3i
    const before = spatial.map((d, a) => Math.floor((padded[a] - d) / 2)) as Vec3i
    const same = padded.every((q, a) => q === spatial[a])
    p.onProgress?.(0, 1)
    const feed = same ? input : pad(input, C, spatial, padded, before)
    const { scores, extras } = await runOnce(session, inputName, outputName, feed, [1, C, ...padded], K, extra)
    await eventsHandled()
    if (p.signal?.aborted) throw cancelled()
    p.onProgress?.(1, 1)
    return { scores: same ? scores : crop(scores, K, spatial, padded, before), extras }
  }

  const predict: PatchPredictor = async (batch, n, patch) => (await runOnce(session, inputName, outputName, batch, [n, C, ...patch], K)).scores
  const scores = await slidingWindowInference({
    input,
    channels: C,
    spatial,
    patchSize: settings.patchSize,
    overlap: settings.overlap,
    batchSize: settings.batchSize,
    blend: settings.blend,
    sigmaScale: settings.sigmaScale,
    outChannels: K,
    predict,
    padValue: 0,
    onProgress: p.onProgress,
    signal: p.signal
  })
  const extras = extra.length ? (await runOnce(session, inputName, outputName, input, [1, C, ...spatial], K, extra)).extras : {}
  return { scores, extras }
}
