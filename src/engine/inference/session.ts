/**
 * Opening an ONNX Runtime session on the best available execution provider, and checking that the
 * model's inputs/outputs agree with the bundle manifest. See docs/inference.md ("Providers").
 *
 * onnxruntime-node does not fall back when an execution provider fails to load (e.g. the CUDA
 * provider libraries were not downloaded at install time): `InferenceSession.create` throws. We catch
 * that, try the next provider and end on CPU, recording one note per provider that failed.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { Manifest } from '../bundle/manifest'
import { SegError } from '../errors'
import { boundedInt } from '../limits'
import type { DeviceChoice } from '../../shared/contract'

/** The app's device choices (the list is written once, in the contract). */
export type Device = DeviceChoice
type Provider = Exclude<Device, 'auto'>

export interface OpenSessionOptions {
  /** 'auto': cuda (linux, win32), dml (win32), coreml (darwin), then cpu. An explicit GPU falls back to cpu too. */
  device: Device
  /** Intra-op threads (ORT default: one per physical core). */
  threads?: number
}

export interface OpenedSession {
  session: ort.InferenceSession
  /** The execution provider the session was created with: 'cuda' | 'dml' | 'coreml' | 'cpu'. */
  provider: string
  /** One line per provider that was tried and failed, and why (shown to the user). */
  notes: string[]
}

const PROVIDER_NAMES: Record<Provider, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML' }

/** The providers to try, in order, for a device on a platform (always ending with 'cpu'). */
export function providerOrder(device: Device, platform: NodeJS.Platform = process.platform): Provider[] {
  if (device === 'auto') {
    const order: Provider[] = []
    if (platform === 'linux' || platform === 'win32') order.push('cuda')
    if (platform === 'win32') order.push('dml')
    if (platform === 'darwin') order.push('coreml')
    return [...order, 'cpu']
  }
  if (!(device in PROVIDER_NAMES)) {
    throw new SegError('BAD_ARGUMENT', `device must be one of auto, cpu, cuda, dml, coreml; got '${String(device)}'`)
  }
  return device === 'cpu' ? ['cpu'] : [device, 'cpu']
}

/** Folder of onnxruntime-node's native binaries for this platform, if it can be found. */
function bindingDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node')
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch)
  } catch {
    return undefined
  }
}

/** True when the CUDA provider library is known to be absent next to onnxruntime-node's binding. */
function cudaLibraryMissing(): boolean {
  const dir = bindingDir()
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'
  return !!dir && existsSync(dir) && !existsSync(join(dir, lib))
}

/** Backend names compiled into this onnxruntime-node build ('cpu', 'cuda', 'dml', …), if it says. */
function supportedBackends(): string[] | undefined {
  try {
    return typeof ort.listSupportedBackends === 'function' ? ort.listSupportedBackends().map((b) => b.name) : undefined
  } catch {
    return undefined
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  const line = msg.split('\n').find((l) => l.trim() !== '') ?? 'unknown error'
  return line.trim().slice(0, 200)
}

/** Why a provider failed, in a few words: a missing library when we can tell, else ORT's first line. */
function failureReason(provider: Provider, error: unknown): string {
  const supported = supportedBackends()
  if (supported && !supported.includes(provider)) return `not built into onnxruntime-node for ${process.platform}/${process.arch}`
  if (provider === 'cuda') {
    const dir = bindingDir()
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'
    if (dir && existsSync(dir) && !existsSync(join(dir, lib))) return `${lib} missing`
    return `${firstLine(error)}; it needs an NVIDIA driver and the CUDA 12 and cuDNN 9 libraries on the library path`
  }
  return firstLine(error)
}

/**
 * Create an InferenceSession, trying the providers of `opts.device` in order (see `providerOrder`).
 * Operators a GPU provider lacks run on ONNX Runtime's built-in CPU provider (ORT core does that).
 *
 * @param model path to a .onnx file, or its bytes
 * @returns the session, the provider used, and one note per provider that could not be used
 * @throws SegError FILE_NOT_FOUND (no such file), PROVIDER_UNAVAILABLE (not even CPU could load it)
 */
export async function openSession(model: string | Uint8Array, opts: OpenSessionOptions): Promise<OpenedSession> {
  if (opts.threads !== undefined) boundedInt('threads', opts.threads, 'threads')
  if (typeof model === 'string' && !existsSync(model)) throw new SegError('FILE_NOT_FOUND', `model file not found: ${model}`)
  const order = providerOrder(opts.device)
  const built = supportedBackends()
  const failures: { provider: Provider; reason: string }[] = []
  for (const provider of order) {
    // 'auto' skips, without a note, GPU providers this build of onnxruntime-node does not include at
    // all (e.g. CUDA on Windows or macOS); a provider that is included but fails to load gets a note.
    if (opts.device === 'auto' && provider !== 'cpu' && built && !built.includes(provider)) continue
    // 'auto' does not even try CUDA when its provider library was never downloaded: trying makes ORT
    // print a native error on stderr, which reads like a crash to a clinician.
    if (opts.device === 'auto' && provider === 'cuda' && cudaLibraryMissing()) {
      failures.push({ provider, reason: 'provider library not installed; npm run setup:cuda adds it' })
      continue
    }
    const options: ort.InferenceSession.SessionOptions = {
      // One provider per attempt: with [gpu, 'cpu'] onnxruntime-common silently drops a GPU whose
      // backend is not registered and we could not tell which one ran. ORT itself still assigns
      // operators the GPU provider lacks to its built-in CPU provider.
      executionProviders: [provider],
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {})
    }
    try {
      const session =
        typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options)
      const notes = failures.map(
        (f) =>
          `${PROVIDER_NAMES[f.provider]} execution provider could not be loaded (${f.reason}); ran on ${PROVIDER_NAMES[provider]}` +
          (opts.device === f.provider ? ` (requested with device '${f.provider}')` : '')
      )
      return { session, provider, notes }
    } catch (e) {
      if (provider === 'cpu') {
        throw new SegError('PROVIDER_UNAVAILABLE', `ONNX Runtime could not load the model on CPU: ${firstLine(e)}`)
      }
      failures.push({ provider, reason: failureReason(provider, e) })
    }
  }
  /* c8 ignore next */
  throw new SegError('PROVIDER_UNAVAILABLE', 'no execution provider could be used')
}

/** A tensor's dims as ONNX Runtime reports them: numbers, or symbolic names for free dims. */
export type ModelDims = (number | string)[]

function dimsOf(session: ort.InferenceSession, kind: 'input' | 'output', name: string): ModelDims | undefined {
  const list = kind === 'input' ? session.inputMetadata : session.outputMetadata
  const meta = list?.find((m) => m.name === name)
  if (!meta || !meta.isTensor) return undefined
  return meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d)))
}

const show = (dims: ModelDims) => `[${dims.join(',')}]`

/**
 * Check the model against the manifest before running anything: the declared input and output
 * (and classification output) names exist; input and output are rank 5 [N, C, d0, d1, d2]; a fixed
 * channel dim equals channels.length (input) / labels.length (output); fixed spatial dims equal the
 * sliding-window patch size. Symbolic dims pass. Returns the dims ORT reports.
 * @throws SegError MODEL_MISMATCH with a one-line message naming both sides
 */
export function checkModelIO(
  session: ort.InferenceSession,
  manifest: Pick<Manifest, 'model' | 'channels' | 'output' | 'inference' | 'classification'>
): { input: ModelDims | undefined; output: ModelDims | undefined } {
  const { input, output } = manifest.model
  const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ')
  if (!session.inputNames.includes(input)) {
    throw new SegError('MODEL_MISMATCH', `model.onnx has no input '${input}' (its inputs: ${list(session.inputNames)}); fix manifest model.input`)
  }
  for (const name of [output, ...(manifest.classification ? [manifest.classification.output] : [])]) {
    if (!session.outputNames.includes(name)) {
      throw new SegError('MODEL_MISMATCH', `model.onnx has no output '${name}' (its outputs: ${list(session.outputNames)}); fix the manifest`)
    }
  }
  const inDims = dimsOf(session, 'input', input)
  const outDims = dimsOf(session, 'output', output)
  const C = manifest.channels.length
  const K = manifest.output.labels.length
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (inDims) {
    if (inDims.length !== 5) {
      throw new SegError('MODEL_MISMATCH', `model.onnx takes input '${input}' ${show(inDims)} but a 3D model needs rank 5 [N,C,D,H,W]`)
    }
    if (typeof inDims[1] === 'number' && inDims[1] !== C) {
      const names = manifest.channels.map((c) => c.name).join(', ')
      throw new SegError('MODEL_MISMATCH', `model.onnx takes input '${input}' ${show(inDims)} but the manifest declares ${plural(C, 'channel')} (${names})`)
    }
    if (manifest.inference.mode === 'sliding-window') {
      const patch = manifest.inference.patchSize
      if (inDims.slice(2).some((d, a) => typeof d === 'number' && d !== patch[a])) {
        throw new SegError('MODEL_MISMATCH', `model.onnx takes input '${input}' ${show(inDims)} but the manifest's patchSize is [${patch.join(',')}]`)
      }
    }
  }
  if (outDims) {
    if (outDims.length !== 5) {
      throw new SegError('MODEL_MISMATCH', `model.onnx gives output '${output}' ${show(outDims)} but a 3D segmentation needs rank 5 [N,K,D,H,W]`)
    }
    if (typeof outDims[1] === 'number' && outDims[1] !== K) {
      throw new SegError(
        'MODEL_MISMATCH',
        `model.onnx gives output '${output}' ${show(outDims)} but the manifest declares ${plural(K, 'label')} (${manifest.output.kind}: one channel per label)`
      )
    }
  }
  return { input: inDims, output: outDims }
}
