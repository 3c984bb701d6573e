/**
 * The app core's Teach handlers (contract: summarizeBase, teach, saveTaught): a head trained on the
 * labels of a segmentation of the shown scan, and of any other open scans listed, in a worker thread
 * (engine/service/teach-worker.ts), its prediction kept as a new segmentation of the shown scan, and the model saved as a bundle only when
 * asked. api-core.ts wires these to the contract and lends the scans and runs through TeachHost.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import type { BaseNetworkFeatures, BaseSummary, ProgressEvent, SegmentSummary, TeachEpoch, TeachFeatures, TeachRequest, TeachScan, TeachSummary, VolumeInfo } from '../shared/contract'
import { isSegError, SegError } from '../engine/errors'
import type { Volume } from '../engine/volume/volume'
import { sameGrid } from '../shared/grid'
import type { ScanLabels } from '../engine/teach/teach-set'
import { loadBundle, readBoundedFile, writeBundle, type Bundle } from '../engine/bundle/bundle'
import { MANIFEST_FILE, type Geometry, type ManifestInput } from '../engine/bundle/manifest'
import { canonicalPath, checkFolderOutput } from '../engine/fs/atomic'
import { labelStatistics } from '../engine/export'
import { formatSummary, summarizeModel } from '../engine/transfer/summary'
import { DEFAULT_SCALES_MM, featureNames } from '../engine/teach/filter-bank'
import { DEFAULT_TRAIN, type EpochReport } from '../engine/teach/head'
import type { FeatureKind, TeachProgress } from '../engine/teach/teach'
import { DECODER_TAP } from '../engine/teach/network-taps'
import { networkTapsOf } from '../engine/teach/network'
import type { WorkerRun } from '../engine/service/run-in-worker'
import type { TeachWorkerRequest, TeachWorkerResult } from '../engine/service/teach-worker'
import { teachLabelsOf } from './teach-labels'

export type TeachWorkerRunner = (request: Omit<TeachWorkerRequest, 'cancelFlag'>, onProgress: (p: TeachProgress) => void) => WorkerRun<TeachWorkerResult>

/** What the handlers borrow from the app core. */
export interface TeachHost {
  scan(volumeId: string): { info: VolumeInfo; volume: Volume }
  /** Whether the scan is still open. */
  isOpen(volumeId: string): boolean
  /** A segmentation: the scan that owns it, its label map's grid and voxels, and its label names. */
  layer(runId: string): { volumeId: string; labels: Volume; names: Record<number, string> }
  /** Keeps a label map as a segmentation of the scan (made from `bundleDir`, never written into; `table`: its labels with colours); returns its runId. */
  keepRun(volumeId: string, labels: Volume, names: Record<number, string>, bundleDir: string, table: readonly { value: number; name: string; color: [number, number, number] }[]): string
  checkRoom(bytes: number, what: string): void
  /** Every file the open scans were read from: never written over. */
  openPaths(): string[]
  emit(e: ProgressEvent): void
  runTeachWorker?: TeachWorkerRunner
}

/** The summary's input size [N, C, D, H, W]: the CLI's `summary` default. */
const SUMMARY_SIZE = 64

interface TaughtModel {
  volumeId: string
  baseDir: string
  onnx: Uint8Array
  manifest: ManifestInput
}

/** The contract's feature choice ('network,filters') as teach() takes it. */
const featureKinds = (f: TeachFeatures): FeatureKind[] => f.split(',') as FeatureKind[]

/** A model space in words: where a model with network features runs (the base's geometry). */
export function modelSpaceText(g: Geometry): string {
  const mm = (s: readonly number[]) => `${s.every((x) => x === s[0]) ? s[0] : s.join('×')} mm`
  if (g.mode === 'conform') return `${g.size.join('×')} voxels of ${mm(g.spacing)}, ${g.orientation}`
  if (g.mode === 'resample') return `voxels of ${mm(g.spacing)}${g.orientation ? `, ${g.orientation}` : ''}`
  return g.mode === 'reorient' ? `the scan's own voxels, reoriented to ${g.orientation}` : "the scan's own grid"
}

/** What network features would tap on `b` (the decoder's last feature map, resolved as teach() does), or why it has none. */
async function networkFeaturesOf(b: Bundle, onnx: Uint8Array): Promise<BaseNetworkFeatures> {
  const space = modelSpaceText(b.manifest.geometry)
  try {
    const net = await networkTapsOf(b, [DECODER_TAP], [SUMMARY_SIZE, SUMMARY_SIZE, SUMMARY_SIZE], onnx)
    return { taps: net.taps, channels: net.count, space }
  } catch (e) {
    if (!isSegError(e)) throw e
    return { taps: [], channels: 0, space, unavailable: e.message }
  }
}

/** NaN (no validation voxels) crosses JSON as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null)
export const epochOf = (e: EpochReport): TeachEpoch => ({ epoch: e.epoch, trainLoss: e.trainLoss, validationLoss: finite(e.validationLoss), validationDice: e.validationDice.map(finite) })

/** Runs `make`, prefixing a SegError's message with `scan` (a further training scan's name; '' for the shown scan). */
function withScanName<T>(scan: string, make: () => T): T {
  try {
    return make()
  } catch (e) {
    if (!scan || !isSegError(e)) throw e
    throw new SegError(e.code, `${scan}: ${e.message}`)
  }
}

export function createTeachHandlers(host: TeachHost) {
  const models = new Map<string, TaughtModel>()
  let current: WorkerRun<TeachWorkerResult> | undefined
  let busy = false
  let cancelRequested = false
  /** The scans the running teach reads (their volume ids); closing one cancels the run. */
  let training = new Set<string>()

  /** The base network's torchinfo-style table with every layer frozen: teaching trains only the new head. */
  const summarizeBase = async (dir: string): Promise<BaseSummary> => {
    const b = await loadBundle(dir)
    const onnx = await readBoundedFile(b.modelPath, 'an ONNX model', 'modelBytes')
    const shape = [1, b.manifest.channels.length, SUMMARY_SIZE, SUMMARY_SIZE, SUMMARY_SIZE]
    const frozen = summarizeModel(onnx, shape, { maxDepth: 1 }).rows.filter((r) => r.depth === 0).map((r) => r.path)
    const table = formatSummary(summarizeModel(onnx, shape, { frozen, maxDepth: 2 }))
    return {
      name: b.manifest.name, table, frozen,
      features: featureNames({ spacing: [1, 1, 1], scalesMm: DEFAULT_SCALES_MM }).length,
      hidden: DEFAULT_TRAIN.hidden,
      network: await networkFeaturesOf(b, onnx),
      note: `Teaching trains only a new head; ${b.manifest.name}'s layers stay frozen. With filters alone only its intensity normalisation is used; network features run its frozen layers up to the taps, in its model space (docs/teach.md).`
    }
  }

  /**
   * The training data of each listed scan (the shown one first), as teach() takes it: each scan once,
   * each segmentation owned by its scan and on its grid, room for the copies sent to the worker.
   * @throws SegError BAD_ARGUMENT for a scan listed twice or a segmentation of another scan,
   *   GRID_MISMATCH for a segmentation off its scan's grid; teachLabelsOf's refusals, naming the scan.
   */
  const trainingScans = (listed: TeachScan[], learn: number[]) => {
    const seen = new Set<string>()
    const scans = listed.map(({ volumeId, runId, slices }, i) => {
      const scan = host.scan(volumeId)
      const name = scan.info.name
      if (seen.has(volumeId)) throw new SegError('BAD_ARGUMENT', `${name} is listed twice to teach from; expected each scan once`)
      seen.add(volumeId)
      const layer = host.layer(runId)
      if (layer.volumeId !== volumeId) {
        throw new SegError('BAD_ARGUMENT', `segmentation ${runId} belongs to ${host.scan(layer.volumeId).info.name}, not to ${name}; expected a segmentation of the scan it is listed with`)
      }
      if (!sameGrid(layer.labels, scan.volume)) throw new SegError('GRID_MISMATCH', `segmentation ${runId} is not on the grid of ${name}; expected labels on their scan's grid`)
      host.checkRoom(scan.volume.data.byteLength + scan.volume.data.length * 2, `the training data of ${name}`) // its voxels copied to the worker, 2-byte labels
      return { scan, layer, slices, i }
    })
    return scans.map(({ scan, layer, slices, i }) => {
      const given = withScanName(i === 0 ? '' : scan.info.name, () => teachLabelsOf(layer.labels.data, learn, slices))
      const labels: ScanLabels = { name: scan.info.path, image: scan.volume, labels: { ...scan.volume, data: given.data }, labelledSlices: given.labelledSlices, ignoreValue: given.ignoreValue }
      return { scan, names: layer.names, labels }
    })
  }

  const teach = async (req: TeachRequest): Promise<TeachSummary> => {
    if (busy) throw new SegError('BAD_ARGUMENT', 'teaching is already running; wait for it or cancel it')
    if (!host.runTeachWorker) throw new SegError('UNSUPPORTED', 'this host cannot teach (no teach worker)')
    busy = true
    cancelRequested = false
    try {
      const t0 = Date.now()
      const listed = [{ volumeId: req.volumeId, runId: req.runId, slices: req.slices }, ...(req.otherScans ?? [])]
      const scans = trainingScans(listed, req.learn)
      const first = scans[0]
      host.checkRoom(first.scan.volume.data.length * 2, 'keeping the taught preview')
      const base = await loadBundle(req.baseBundleDir)
      if (cancelRequested) throw new SegError('CANCELLED', 'teaching cancelled by the user')
      const teachId = randomUUID()
      const v = first.scan.volume
      const grid = { size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction }
      const nameOf = (value: number) => scans.map((s) => s.names[value]).find((n) => n !== undefined) ?? `label ${value}`
      const labelNames = [{ value: 0, name: 'background' }, ...req.learn.map((value) => ({ value, name: nameOf(value) }))]
      const features = req.features ?? 'filters'
      current = host.runTeachWorker(
        { baseDir: base.dir, scans: scans.map((s) => s.labels), labelNames, head: req.head, features: featureKinds(features), maxEpochs: req.maxEpochs, largestComponent: req.largestComponent, seed: req.seed },
        (p) => host.emit({ runId: teachId, stage: `teach:${p.stage}`, fraction: p.fraction, message: p.message, epoch: p.epoch && epochOf(p.epoch) })
      )
      training = new Set(listed.map((l) => l.volumeId))
      const outcome = await current.result.catch((e: unknown) => e as Error)
      // A scan closed while training took its models with it (forgetScan) and cancelled the run: keep nothing of it.
      const gone = scans.find((sc) => !host.isOpen(sc.scan.info.id))
      if (gone) throw new SegError('CANCELLED', `${gone.scan.info.name} was closed while teaching; nothing was kept`)
      if (outcome instanceof Error) throw outcome
      const r = outcome
      models.set(teachId, { volumeId: req.volumeId, baseDir: base.dir, onnx: r.onnx, manifest: r.manifest })
      const labels = r.manifest.output.labels ?? []
      const names = Object.fromEntries(labels.map((l) => [l.value, l.name]))
      const preview: Volume = { ...grid, data: r.preview.data }
      const table = labels.map((l) => ({ value: l.value, name: l.name, color: l.color as [number, number, number] }))
      const runId = host.keepRun(req.volumeId, preview, names, base.dir, table)
      const learned = labels.filter((l) => l.value !== 0).map((l) => l.name).join(', ')
      const how = features === 'filters' ? req.head : `${req.head}, ${features.replace(',', ' + ')}`
      const summary: SegmentSummary = {
        runId, volumeId: req.volumeId,
        source: { kind: 'taught', teachId, baseBundleName: base.manifest.name, head: req.head, name: `taught ${learned} (${how})` },
        labels: table,
        createdAt: new Date().toISOString(), provider: 'taught, not saved', notes: [`${r.history.length} epochs, best ${r.best.epoch}`], elapsedMs: Date.now() - t0,
        stats: labelStatistics(preview, names).map((s) => ({ value: s.value, name: s.name, voxels: s.voxels, volumeMl: s.volumeMl }))
      }
      return {
        teachId, preview: summary, history: r.history.map(epochOf), best: epochOf(r.best), values: r.values,
        labelledVoxels: r.counts,
        features, taps: (r.manifest.architecture?.taps as string[] | undefined) ?? [], elapsedMs: summary.elapsedMs
      }
    } finally {
      current = undefined
      busy = false
      training = new Set()
    }
  }

  /** Writes the taught model as a bundle: an existing bundle only with overwrite, the base bundle or an open scan never. */
  const saveTaught = async (teachId: string, outDir: string, options: { overwrite?: boolean; name?: string } = {}): Promise<string> => {
    const m = models.get(teachId)
    if (!m) throw new SegError('BAD_ARGUMENT', `no taught model ${teachId}; train one first`)
    const abs = path.resolve(outDir)
    const base = canonicalPath(m.baseDir)
    const out = canonicalPath(abs)
    if (out === base || out.startsWith(base + path.sep)) {
      throw new SegError('OUTPUT_CONFLICT', `${abs} is or lies in the base bundle ${m.baseDir}; expected a folder outside it (the base bundle is never written into)`)
    }
    const rules = { inputs: [m.baseDir, ...host.openPaths()], overwrite: options.overwrite ?? false }
    checkFolderOutput(abs, { ...rules, overwrite: true }) // every refusal no confirmation lifts
    if (!rules.overwrite && existsSync(path.join(abs, MANIFEST_FILE))) {
      throw new SegError('OUTPUT_EXISTS', `${abs} is an existing model bundle; expected a new folder, or replacing it confirmed (overwrite)`)
    }
    const bundle = await writeBundle(abs, { ...m.manifest, name: options.name ?? path.basename(abs) }, m.onnx, rules)
    return bundle.dir
  }

  return {
    summarizeBase,
    teach,
    saveTaught,
    /** Stops a teach run at once (the worker writes nothing; it stops at its next epoch or slab). */
    cancel(): void {
      if (busy) cancelRequested = true
      current?.cancel()
    },
    /** A closed scan's taught models go with it, and a run reading it stops (at the worker's next epoch or slab). */
    forgetScan(volumeId: string): void {
      for (const [id, m] of models) if (m.volumeId === volumeId) models.delete(id)
      if (training.has(volumeId)) current?.cancel()
    }
  }
}
