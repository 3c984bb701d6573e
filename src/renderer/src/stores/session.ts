import { defineStore } from 'pinia'
import type { ApiErrorCode, BundleInfo, DeviceChoice, ExportKind, HostInfo, LabelDef, OpenChoice, PathContents, ScanDocument, SegmentSummary, VolumeInfo } from '../../../shared/contract'
import { api, codeOf, messageOf, typedVoxels } from '../api'
import type { Voxels } from '../render/slice'
import { captionOf, compatibleScans } from '../workspace/document'
import { useEditingStore } from './editing'

/**
 * Voxel arrays live outside the reactive state: Vue must never proxy a 10-million-element array.
 * The store holds version counters that views watch instead.
 */
const voxelCache = new Map<string, Voxels>()
/** Label maps by runId, for every segmentation of every open scan. */
const labelCache = new Map<string, Voxels>()

export const voxelsOf = (volumeId: string): Voxels | undefined => voxelCache.get(volumeId)
/** The label map of any segmentation by runId (the editing store reads a base and stores its edited copy here). */
export const labelsOf = (runId: string): Voxels | undefined => labelCache.get(runId)
export const setLabels = (runId: string, data: Voxels): void => void labelCache.set(runId, data)
/** The label map of the shown segmentation of the shown scan (never another scan's). */
export const currentLabels = (): Voxels | undefined => {
  const run = useSessionStore().run
  return run && labelCache.get(run.runId)
}

/** An export that would replace an existing file, waiting for the user's answer. */
export interface PendingReplace {
  kind: ExportKind
  path: string
}

/** A path that holds several scans (a DICOM folder's series, a 4D file's volumes), waiting for the user's choice. */
export interface PendingPick {
  path: string
  contents: PathContents
}

/** Whether opening `contents` needs the user to choose: several DICOM series (or a non-image one), or a 4D file. */
export const needsChoice = (c: PathContents): boolean =>
  c.dicom ? !(c.series.length === 1 && c.series[0].kind === 'image') : c.volumes > 1

/**
 * The workspace (scans, each with its segmentations; see ScanDocument), the model bundle, the run in
 * progress and the export awaiting confirmation. Everything shown follows `activeId`, the shown scan.
 */
export const useSessionStore = defineStore('session', {
  state: () => ({
    host: undefined as HostInfo | undefined,
    scans: [] as ScanDocument[],
    activeId: '',
    voxelsVersion: 0,
    bundle: undefined as BundleInfo | undefined,
    device: 'auto' as DeviceChoice,
    /** Apply the bundle's intensity refinement (when it has one). */
    refinement: true,
    /** The volume chosen for model input channels 2…n (ids; '' = not chosen yet); channel 1 is the shown scan. */
    channelVolumes: [] as string[],
    labelsVersion: 0,
    progress: 0,
    progressMessage: '',
    running: false,
    startedAt: 0,
    elapsedMs: 0,
    busy: '',
    error: '',
    /** The code of the failure in `error` (ApiError.code), which the store acts on rather than the text. */
    errorCode: '' as ApiErrorCode | '',
    lastExport: '',
    confirmReplace: undefined as PendingReplace | undefined,
    /** A run refused because the scan grossly mismatches the model (MODEL_UNFIT): what was found, awaiting "run anyway?". */
    confirmRun: undefined as { message: string } | undefined,
    /** Shown by SeriesPicker: the series or volume the user is asked to choose. */
    pick: undefined as PendingPick | undefined
  }),
  getters: {
    volumes: (s): VolumeInfo[] => s.scans.map((d) => d.volume),
    activeScan: (s): ScanDocument | undefined => s.scans.find((d) => d.volume.id === s.activeId),
    active(): VolumeInfo | undefined {
      return this.activeScan?.volume
    },
    /** The shown segmentation of the shown scan. */
    run(): SegmentSummary | undefined {
      const d = this.activeScan
      return d?.segmentations.find((x) => x.runId === d.shownRunId)
    },
    /** The volume the shown label map lies on: the shown scan, when it has a segmentation. */
    labelVolume(): VolumeInfo | undefined {
      return this.run ? this.active : undefined
    },
    /** Names and colours of the shown segmentation's labels. */
    shownLabels(): LabelDef[] {
      return this.run?.labels ?? []
    },
    /** "<segmentation> on <scan>" for the views' captions. */
    caption(): string {
      return captionOf(this.activeScan)
    }
  },
  actions: {
    async guard<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
      this.error = ''
      this.errorCode = ''
      this.busy = what
      try {
        return await fn()
      } catch (e) {
        this.fail(e)
        return undefined
      } finally {
        this.busy = ''
      }
    },
    /** Shows a failure: its one line in the banner, and its code, which the store acts on. */
    fail(e: unknown): void {
      this.error = messageOf(e)
      this.errorCode = codeOf(e)
    },
    async init(): Promise<void> {
      this.host = await this.guard('connecting', () => api.hostInfo())
    },
    /** Opens scans; one path that holds several (DICOM series, 4D volumes) opens the picker instead. */
    async openVolumes(paths: string[], choices?: OpenChoice[]): Promise<void> {
      if (!choices && paths.length === 1) {
        const contents = await this.guard('reading', () => api.listSeries(paths[0]))
        if (!contents) return
        if (needsChoice(contents)) {
          this.pick = { path: paths[0], contents }
          return
        }
      }
      await this.guard('opening volume', async () => {
        const infos = await api.openVolumes(paths, choices)
        for (const info of infos) voxelCache.set(info.id, typedVoxels(await api.readVoxels(info.id)))
        this.scans.push(...infos.map((volume) => ({ volume, segmentations: [], shownRunId: '' })))
        this.activeId = infos[0].id
        this.voxelsVersion++
      })
    },
    /** The picker's answer: open that series or volume, or (undefined) nothing. */
    async choose(choice: OpenChoice | undefined): Promise<void> {
      const pending = this.pick
      this.pick = undefined
      if (pending && choice) await this.openVolumes([pending.path], [choice])
    },
    async openBundle(dir: string): Promise<void> {
      const b = await this.guard('opening model', () => api.openBundle(dir))
      if (b) this.bundle = b
    },
    /** Segments the shown scan; a gross misfit with the model (MODEL_UNFIT) asks the user first, then runs with `force`. */
    async runModel(force = false): Promise<void> {
      if (!this.bundle || this.running || !this.active) return
      const n = this.bundle.channels.length
      const ids = this.inputsFor(n)
      if (ids.some((id) => !id)) {
        this.error = `${this.bundle.name} needs ${n} input volumes on one grid (${this.bundle.channels.map((c) => c.name).join(', ')}); channel 1 is the shown scan, choose the others in the Model panel`
        return
      }
      this.running = true
      this.progress = 0
      this.progressMessage = 'starting'
      this.startedAt = performance.now()
      this.elapsedMs = 0
      const timer = setInterval(() => (this.elapsedMs = performance.now() - this.startedAt), 200)
      try {
        const run = await this.guard('segmenting', () => api.segment({ bundleDir: this.bundle!.dir, volumeIds: ids, device: this.device, refinement: this.refinement, force }))
        if (run) await this.addSegmentation(run)
        else if (this.errorCode === 'CANCELLED') this.cancelled()
        else if (this.errorCode === 'MODEL_UNFIT') {
          this.confirmRun = { message: this.error }
          this.error = ''
        }
      } finally {
        clearInterval(timer)
        this.elapsedMs = performance.now() - this.startedAt
        this.running = false
      }
    },
    /** A new result joins the segmentations of the scan it was computed on, and is shown with that scan. */
    async addSegmentation(run: SegmentSummary): Promise<void> {
      labelCache.set(run.runId, typedVoxels(await api.readLabels(run.runId, run.volumeId)))
      const doc = this.scans.find((d) => d.volume.id === run.volumeId)
      if (!doc) return void api.forgetRun(run.runId).catch(() => undefined) // its scan was closed meanwhile
      doc.segmentations.push(run)
      doc.shownRunId = run.runId
      this.progress = 1
      this.labelsVersion++
    },
    /** The user asked for it: a note beside the progress bar, not an error banner. */
    cancelled(): void {
      this.error = ''
      this.progressMessage = 'cancelled'
    },
    showSegmentation(runId: string): void {
      const doc = this.activeScan
      if (doc?.segmentations.some((x) => x.runId === runId)) doc.shownRunId = runId
    },
    /** Drops a segmentation of the shown scan (the app frees its label map); the latest remaining one is shown. */
    async removeSegmentation(runId: string): Promise<void> {
      const doc = this.activeScan
      if (!doc) return
      await this.guard('removing segmentation', () => api.forgetRun(runId))
      doc.segmentations = doc.segmentations.filter((x) => x.runId !== runId)
      labelCache.delete(runId)
      useEditingStore().forget(runId)
      if (doc.shownRunId === runId) doc.shownRunId = doc.segmentations.at(-1)?.runId ?? ''
    },
    /** Closes a scan with its segmentations (the core frees both); the next open scan is shown. */
    async closeScan(volumeId: string): Promise<void> {
      const doc = this.scans.find((d) => d.volume.id === volumeId)
      if (!doc || this.running) return
      await this.guard('closing scan', () => api.closeVolume(volumeId))
      for (const x of doc.segmentations) {
        labelCache.delete(x.runId)
        useEditingStore().forget(x.runId, { coreFreed: true }) // its undo stack and locks go with it; closeVolume freed the core's copies
      }
      voxelCache.delete(volumeId)
      this.scans = this.scans.filter((d) => d !== doc)
      if (this.activeId === volumeId) this.activeId = this.scans[0]?.volume.id ?? ''
      this.voxelsVersion++
    },
    /** One volume id per channel: the shown scan first, then the user's choice or the next scan on the same grid. */
    inputsFor(n: number): string[] {
      const shown = this.active
      if (!shown) return Array<string>(n).fill('')
      const others = compatibleScans(this.volumes, shown).map((v) => v.id)
      return Array.from({ length: n }, (_, c) => {
        if (c === 0) return shown.id
        const chosen = this.channelVolumes[c]
        return chosen && others.includes(chosen) ? chosen : others[c - 1] ?? ''
      })
    },
    async cancel(): Promise<void> {
      if (this.running) this.progressMessage = 'cancelling'
      await api.cancel()
    },
    /**
     * Exports the shown segmentation of the shown scan. An existing file is replaced only after the user
     * confirms (`overwrite`): the first refusal (OUTPUT_EXISTS) opens the confirmation instead of an error.
     */
    async exportRun(kind: ExportKind, path: string, overwrite = false): Promise<void> {
      const run = this.run
      this.confirmReplace = undefined
      this.lastExport = ''
      if (!run) return
      // volumeId: the scan on screen; the core refuses the export if the run is not that scan's.
      // An edited copy lives in the renderer: it is handed to the core first (its current state).
      const out = await this.guard('exporting', async () => {
        const runId = run.source.kind === 'edited' ? await useEditingStore().commit(run) : run.runId
        return api.exportRun(runId, kind, path, { overwrite, volumeId: this.activeId })
      })
      if (out) this.lastExport = out
      else if (this.errorCode === 'OUTPUT_EXISTS') {
        this.error = ''
        this.confirmReplace = { kind, path }
      }
    },
    /** The user's answer to "run anyway?": yes runs with force, no leaves the scan unsegmented. */
    async answerRun(run: boolean): Promise<void> {
      const pending = this.confirmRun
      this.confirmRun = undefined
      if (pending && run) await this.runModel(true)
    },
    /** The user's answer to "replace?": yes exports over the file, no leaves it as it is. */
    async answerReplace(replace: boolean): Promise<void> {
      const pending = this.confirmReplace
      this.confirmReplace = undefined
      if (!pending) return
      if (replace) await this.exportRun(pending.kind, pending.path, true)
    },
    onProgress(fraction: number, message: string): void {
      if (!this.running) return
      this.progress = fraction
      this.progressMessage = message
    }
  }
})
