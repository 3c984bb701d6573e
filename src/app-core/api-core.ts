/**
 * The app core behind the shared contract, independent of its transport: Electron's IPC handlers
 * (ipc.ts) and the browser build's HTTP bridge (src/bridge/server.ts) both serve exactly this object,
 * so the two hosts cannot drift apart. No `electron` import here: it runs in plain Node and in tests.
 *
 * `dispatch` is the one entry point a transport calls: it validates the arguments with the zod
 * schemas of validation.ts and turns every failure into an `{ ok: false, error }` envelope.
 */
import os from 'node:os'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import type { ApiMethod, BundleInfo, EditedLabels, Envelope, ExportKind, HostInfo, ProgressEvent, SegmentSummary, SegTransferApi, VolumeInfo, VoxelBuffer, VoxelType } from '../shared/contract'
import { isIpcMethod, validateIpcArgs, type IpcArgs } from './validation'
import { errorOf, SegError } from '../engine/errors'
import { expectedBytes, listPath, readScan } from './scan-open'
import { formatBytes } from '../engine/volume/read-nifti'
import { orientationOf } from '../engine/volume/orientation'
import type { Volume, VoxelArray } from '../engine/volume/volume'
import { loadBundle } from '../engine/bundle/bundle'
import type { WorkerRun, WorkerResult } from '../engine/service/run-in-worker'
import type { WorkerRequest } from '../engine/service/messages'
import type { SegmentProgress } from '../engine/pipeline/segment'
import { labelStatistics, writeLabelMap, writeStatistics } from '../engine/export'
import { writeMeshes } from './mesh-export'
import { checkOutputPath, type OutputRules } from '../engine/fs/atomic'
import { applyEditRuns } from './edited-labels'
import { interpolateLabel } from '../engine/labelmap/interpolate'
import { loadLabels } from '../engine/labelmap/load-labels'
import { algorithmName, writeDicomSeg } from '../engine/dicom/seg'
import { dicomSegSource, EDITED, LOADED, TAUGHT, type SegProvenance } from './dicom-seg-export'
import { modalityFamily } from '../engine/pipeline/model-fit'
import { createTeachHandlers, type TeachWorkerRunner } from './teach'

export interface CoreDeps {
  host: HostInfo
  /** Starts one segmentation off the caller's thread (a worker thread in both hosts). */
  runWorker(request: WorkerRequest, onProgress: (p: SegmentProgress) => void): WorkerRun
  /** Starts one Teach run off the caller's thread; without it, teach is refused (UNSUPPORTED). */
  runTeachWorker?: TeachWorkerRunner
  /** Progress of the running segmentation, to every listening renderer. */
  emit(e: ProgressEvent): void
  /** Called with each volume path opened (Electron's recent documents). */
  addRecent?(p: string): void
  /** Most bytes of voxels the core may hold in open volumes and runs; default `defaultHeldBudget()`. */
  maxHeldBytes?: number
}

/** Fraction of os.totalmem() the open volumes and runs may hold together (a segmentation needs the rest). */
export const HELD_FRACTION = 0.25

export function defaultHeldBudget(): number {
  return Math.floor(os.totalmem() * HELD_FRACTION)
}

/** Each contract method, taking its validated arguments, plus what the core holds (for tests and the status bar). */
export type ApiCore = { [M in ApiMethod]: (...args: IpcArgs<M>) => ReturnType<SegTransferApi[M]> } & { heldBytes(): number }

interface RunRecord {
  result: WorkerResult
  inputs: string[]
  /** The model bundle of the run: never written into. */
  bundleDir: string
  /** The scan that owns the run (its first input): the label map is on this volume's grid. */
  volumeId: string
  names: Record<number, string>
  /** What a DICOM-SEG export says of it. */
  seg: SegProvenance
}

const TYPE_NAMES: Record<string, VoxelType> = {
  Uint8Array: 'uint8', Int8Array: 'int8', Uint16Array: 'uint16', Int16Array: 'int16',
  Uint32Array: 'uint32', Int32Array: 'int32', Float32Array: 'float32', Float64Array: 'float64'
}

export function voxelTypeOf(data: VoxelArray): VoxelType {
  const t = TYPE_NAMES[data.constructor.name]
  if (!t) throw new SegError('UNSUPPORTED', `voxel type ${data.constructor.name} cannot be displayed`)
  return t
}

/** The voxels as an ArrayBuffer of exactly their bytes (a copy only when the array is a view). */
export function toVoxelBuffer(data: VoxelArray): VoxelBuffer {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
  const buf = whole ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  return { dtype: voxelTypeOf(data), data: buf as ArrayBuffer }
}

function rangeOf(data: VoxelArray): [number, number] {
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (v < min) min = v
    if (v > max) max = v
  }
  return [min, max]
}

export function createApiCore(deps: CoreDeps): ApiCore {
  /** `chosen`: the scan is a choice within its path (a series, a 4D volume), so a run gets its voxels, not the path. */
  const volumes = new Map<string, { info: VolumeInfo; volume: Volume; chosen: boolean }>()
  const runs = new Map<string, RunRecord>()
  let current: WorkerRun | undefined
  let busy = false
  let cancelRequested = false

  const maxHeld = deps.maxHeldBytes ?? defaultHeldBudget()
  const bytesOfRun = (r: RunRecord) => r.result.labels.data.byteLength
  const heldBytes = () =>
    [...volumes.values()].reduce((s, v) => s + v.volume.data.byteLength, 0) + [...runs.values()].reduce((s, r) => s + bytesOfRun(r), 0)
  /** Refuses (TOO_LARGE) to take `more` bytes beyond the budget, saying what to close. */
  const checkRoom = (more: number, what: string) => {
    const held = heldBytes()
    if (held + more <= maxHeld) return
    throw new SegError(
      'TOO_LARGE',
      `${what} needs ${formatBytes(more)} but the app already holds ${formatBytes(held)} in ${volumes.size} open volume(s) and ${runs.size} result(s) ` +
        `(limit ${formatBytes(maxHeld)}, ${HELD_FRACTION * 100} % of this machine's memory); close a volume or a result first`
    )
  }

  const openVolume = (id: string) => {
    const v = volumes.get(id)
    if (!v) throw new SegError('BAD_ARGUMENT', `volume ${id} is not open; open it first`)
    return v
  }
  /** The run; with `volumeId` (the scan the user acts on), refused unless the run belongs to that scan. */
  const runOf = (runId: string, volumeId?: string) => {
    const r = runs.get(runId)
    if (!r) throw new SegError('BAD_ARGUMENT', `no segmentation ${runId}; run the model first`)
    if (volumeId !== undefined && volumeId !== r.volumeId) {
      const name = (id: string) => volumes.get(id)?.info.name ?? `volume ${id}`
      throw new SegError('BAD_ARGUMENT', `segmentation ${runId} belongs to ${name(r.volumeId)}, not to ${name(volumeId)}; expected a segmentation of the shown scan`)
    }
    return r
  }
  /** The label map an EditedLabels describes, on its scan's grid (room for it checked first). */
  const editedMap = (edit: EditedLabels) => {
    const scan = openVolume(edit.volumeId)
    const base = edit.baseRunId ? runOf(edit.baseRunId, edit.volumeId) : undefined
    checkRoom(scan.volume.data.length * 2, `the edited segmentation of ${scan.info.name}`)
    return applyEditRuns(scan.volume.data.length, edit.runs, base?.result.labels.data)
  }
  /** Every file the open volumes were read from (a DICOM series' slices, an .hdr/.img pair...). */
  const openPaths = () => [...volumes.values()].flatMap((v) => [v.info.path, ...(v.volume.source?.files ?? [])])
  const teaching = createTeachHandlers({
    scan: openVolume,
    isOpen: (id) => volumes.has(id),
    layer: (runId) => {
      const r = runOf(runId)
      return { volumeId: r.volumeId, labels: r.result.labels, names: r.names }
    },
    keepRun: (volumeId, labels, names, bundleDir, table) => {
      const scan = openVolume(volumeId)
      const { data: _voxels, ...reference } = scan.volume
      const runId = randomUUID()
      runs.set(runId, { result: { labels, reference, provider: 'taught', notes: [], warnings: [], timingsMs: {} }, inputs: [scan.info.path], bundleDir, volumeId, names, seg: { labels: table, ...TAUGHT } })
      return runId
    },
    checkRoom, openPaths, emit: deps.emit, runTeachWorker: deps.runTeachWorker
  })

  return {
    hostInfo: async () => deps.host,

    openVolumes: async (paths, choices = []) => {
      if (choices.length > paths.length) throw new SegError('BAD_ARGUMENT', `${choices.length} choices for ${paths.length} path(s); expected at most one choice per path`)
      const out: VolumeInfo[] = []
      for (const [i, p] of paths.entries()) {
        const bytes = await expectedBytes(p) // DICOM: known only once read, checked below
        if (bytes !== null) checkRoom(bytes, `opening ${path.basename(p)}`)
        const { volume: v, name, series } = await readScan(p, choices[i])
        if (bytes === null) checkRoom(v.data.byteLength, `opening ${name}`)
        const info: VolumeInfo = {
          id: randomUUID(), path: p, name,
          size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction,
          orientation: orientationOf(v), range: rangeOf(v.data), modality: modalityFamily(v.data).family, dtype: voxelTypeOf(v.data), notes: v.source?.notes ?? [],
          ...(series ? { series } : {}),
          ...(v.source?.volume ? { volumeIndex: v.source.volume.index } : {})
        }
        volumes.set(info.id, { info, volume: v, chosen: choices[i] !== undefined })
        deps.addRecent?.(p)
        out.push(info)
      }
      return out
    },

    listSeries: (p) => listPath(p),

    readVoxels: async (id) => toVoxelBuffer(openVolume(id).volume.data),

    closeVolume: async (id) => {
      volumes.delete(id)
      teaching.forgetScan(id)
      // A scan owns its segmentations: they go with it.
      for (const [runId, r] of runs) if (r.volumeId === id) runs.delete(runId)
    },

    openBundle: async (dir): Promise<BundleInfo> => {
      const b = await loadBundle(dir)
      const m = b.manifest
      const refined = m.output.refinement?.labels.map((v) => m.output.labels.find((l) => l.value === v)!.name)
      return { dir: b.dir, name: m.name, description: m.description, channels: m.channels.map((c) => ({ name: c.name, modality: c.modality })), labels: m.output.labels, classes: m.classification?.classes, refinement: refined }
    },

    segment: async (req): Promise<SegmentSummary> => {
      if (busy) throw new SegError('BAD_ARGUMENT', 'a segmentation is already running; wait for it or cancel it')
      busy = true
      cancelRequested = false
      try {
        const inputs = req.volumeIds.map((id) => openVolume(id).info.path)
        const bundle = await loadBundle(req.bundleDir)
        const labelBytes = bundle.manifest.output.labels.some((l) => l.value > 255) ? 2 : 1 // allocLabels' array type
        checkRoom(openVolume(req.volumeIds[0]).volume.data.length * labelBytes, 'keeping the result of this segmentation')
        if (cancelRequested) throw new SegError('CANCELLED', 'segmentation cancelled by the user')
        const runId = randomUUID()
        const t0 = Date.now()
        const given = req.volumeIds.map((id) => openVolume(id)).map((v) => (v.chosen ? v.volume : v.info.path))
        current = deps.runWorker({ bundleDir: req.bundleDir, inputs: given, device: req.device, refinement: req.refinement, force: req.force }, (p) => deps.emit({ runId, ...p }))
        const result = await current.result
        const m = bundle.manifest
        const names = Object.fromEntries(m.output.labels.map((l) => [l.value, l.name]))
        const volumeId = req.volumeIds[0]
        runs.set(runId, { result, inputs, bundleDir: bundle.dir, volumeId, names, seg: { labels: m.output.labels, algorithm: algorithmName(m), algorithmType: 'AUTOMATIC' } })
        const stats = labelStatistics(result.labels, names).map((s) => ({ value: s.value, name: s.name, voxels: s.voxels, volumeMl: s.volumeMl }))
        const source = { kind: 'model' as const, bundleDir: bundle.dir, bundleName: m.name, device: req.device, refinement: !!m.output.refinement && req.refinement !== false, volumeIds: [...req.volumeIds] }
        return {
          runId, volumeId, source, labels: m.output.labels, createdAt: new Date().toISOString(),
          provider: result.provider, notes: result.notes, warnings: result.warnings, elapsedMs: Date.now() - t0, stats, classification: result.classification
        }
      } finally {
        current = undefined
        busy = false
      }
    },

    cancel: async () => {
      // A cancel that arrives while the run is still starting (loading the bundle) is kept for it.
      if (busy) cancelRequested = true
      current?.cancel()
      teaching.cancel()
    },

    summarizeBase: teaching.summarizeBase,
    teach: teaching.teach,
    saveTaught: teaching.saveTaught,

    readLabels: async (runId, volumeId?: string) => toVoxelBuffer(runOf(runId, volumeId).result.labels.data),

    exportRun: async (runId, kind: ExportKind, outPath, options = {}) => {
      const run = runOf(runId, options.volumeId)
      const stats = labelStatistics(run.result.labels, run.names)
      // The CLI's output rules, with every open volume protected as an input; an existing file only with overwrite.
      const rules = { inputs: [...run.inputs, ...openPaths()], overwrite: options.overwrite ?? false, protectedDirs: run.bundleDir ? [run.bundleDir] : [] }
      const segSource = kind === 'dicom-seg' ? dicomSegSource(openVolume(run.volumeId), outPath) : undefined
      refuseExisting(outPath, rules)
      if (segSource) await writeDicomSeg(run.result.labels, segSource, run.seg, outPath, rules)
      else if (kind === 'labels') await writeLabelMap(run.result.labels, outPath, { like: run.result.reference, ...rules })
      else if (kind === 'mesh') await writeMeshes(run.result.labels, stats.filter((s) => s.voxels > 0), outPath, rules)
      else await writeStatistics(stats, outPath, rules)
      return outPath
    },

    interpolateLabels: async (req) => {
      const v = openVolume(req.volumeId).volume
      const map = { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, data: editedMap(req) }
      return Array.from((await interpolateLabel(map, { label: req.label, plane: req.plane })).indices)
    },

    loadLabelFile: async (volumeId, file, options = {}): Promise<SegmentSummary> => {
      const scan = openVolume(volumeId)
      const v = scan.volume
      checkRoom(v.data.length * 2, `loading ${path.basename(file)} as labels`)
      const loaded = await loadLabels(file, v, { resample: options.resample })
      const labels: Volume = { ...loaded.labels }
      const reference = { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, source: v.source }
      const names = Object.fromEntries(loaded.table.map((l) => [l.value, l.name]))
      const runId = randomUUID()
      // The loaded file counts as an input: an export never replaces it.
      runs.set(runId, { result: { labels, reference, provider: 'file', notes: loaded.notes, warnings: [], timingsMs: {} }, inputs: [scan.info.path, file], bundleDir: '', volumeId, names, seg: { labels: loaded.table, ...LOADED } })
      const stats = labelStatistics(labels, names).map((st) => ({ value: st.value, name: st.name, voxels: st.voxels, volumeMl: st.volumeMl }))
      return {
        runId, volumeId, source: { kind: 'file', path: file, name: path.basename(file) }, labels: loaded.table.map((l) => ({ value: l.value, name: l.name, color: l.color })),
        createdAt: new Date().toISOString(), provider: 'file', notes: loaded.notes, elapsedMs: 0, stats
      }
    },

    forgetRun: async (runId) => {
      runs.delete(runId)
    },

    putEditedLabels: async (edit: EditedLabels): Promise<SegmentSummary> => {
      const scan = openVolume(edit.volumeId)
      const base = edit.baseRunId ? runOf(edit.baseRunId, edit.volumeId) : undefined
      if (edit.replaceRunId) runOf(edit.replaceRunId, edit.volumeId) // only a segmentation of this scan is replaced
      const v = scan.volume
      const data = editedMap(edit)
      if (edit.replaceRunId) runs.delete(edit.replaceRunId)
      const labels: Volume = { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, data }
      const reference = { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, source: v.source }
      const names = Object.fromEntries(edit.labels.map((l) => [l.value, l.name]))
      const runId = randomUUID()
      const result: WorkerResult = { labels, reference, provider: 'edited', notes: [], warnings: [], timingsMs: {} }
      runs.set(runId, { result, inputs: [scan.info.path], bundleDir: base?.bundleDir ?? '', volumeId: edit.volumeId, names, seg: { labels: edit.labels, ...EDITED } })
      const stats = labelStatistics(labels, names).map((st) => ({ value: st.value, name: st.name, voxels: st.voxels, volumeMl: st.volumeMl }))
      return {
        runId, volumeId: edit.volumeId, source: { kind: 'edited', baseRunId: edit.baseRunId, name: 'edited' }, labels: edit.labels,
        createdAt: new Date().toISOString(), provider: 'edited', notes: [], elapsedMs: 0, stats
      }
    },

    heldBytes
  }
}

/**
 * OUTPUT_EXISTS when `outPath` is an existing file that the rules would replace only with overwrite
 * (the app then asks the user and retries with `overwrite: true`); every other refusal (an open
 * volume, an input, a bundle, a folder) stays the engine's OUTPUT_CONFLICT, which no confirmation lifts.
 */
function refuseExisting(outPath: string, rules: OutputRules): void {
  checkOutputPath(outPath, { ...rules, overwrite: true })
  if (!rules.overwrite && existsSync(outPath)) {
    throw new SegError('OUTPUT_EXISTS', `${path.resolve(outPath)} already exists; expected a new path, or replacing it confirmed (overwrite)`)
  }
}

/** Validates and runs one call; never throws: failures come back as `{ ok: false, error }`. */
export async function dispatch(core: ApiCore, method: string, args: unknown[]): Promise<Envelope<unknown>> {
  try {
    if (!isIpcMethod(method)) throw new SegError('BAD_ARGUMENT', `unknown method ${method}`)
    const valid = validateIpcArgs(method, args) as unknown[]
    const fn = core[method] as (...a: unknown[]) => Promise<unknown>
    return { ok: true, value: await fn(...valid) }
  } catch (e) {
    return { ok: false, error: errorOf(e) }
  }
}
