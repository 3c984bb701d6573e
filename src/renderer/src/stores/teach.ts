/**
 * The Teach panel's state (docs/teach.md, "In the app"): the base bundle and its summary, which labels
 * of the shown segmentation to learn and how the labelled slices are given, the run in progress with
 * its live curve, and the latest taught model, whose preview joins the shown scan's segmentations.
 */
import { defineStore } from 'pinia'
import type { BaseSummary, CompleteSlices, ProgressEvent, SegmentSummary, SlicePlane, TeachEpoch, TeachFeatures, TeachHead, TeachScan, TeachSummary } from '../../../shared/contract'
import { slicesFromText } from '../workspace/teach'
import { api } from '../api'
import { useSessionStore } from './session'
import { useEditingStore } from './editing'

/** A further open scan to train on, as listed in the panel: its segmentation and slice choice (workspace/teach.ts slicesText). */
export interface OtherScan {
  volumeId: string
  runId: string
  slices: string
}

/** Default cap on the epochs of one run (the engine early-stops sooner). */
export const DEFAULT_MAX_EPOCHS = 60

export const useTeachStore = defineStore('teach', {
  state: () => ({
    baseDir: '',
    summary: undefined as BaseSummary | undefined,
    /** Label values of the shown segmentation to learn. */
    learn: [] as number[],
    /** true: only the complete slices are data (their unpainted voxels background), as the CLI's --labelled-slices. */
    completeSlices: true,
    plane: 'axial' as SlicePlane,
    /** 'every' slices 0, N, 2N, …; 'list': the numbers in `sliceList`. */
    sliceMode: 'every' as 'every' | 'list',
    every: 4,
    sliceList: '',
    /** Further open scans to train on (the shown scan is always the first); the preview stays on the shown scan. */
    others: [] as OtherScan[],
    head: 'mlp' as TeachHead,
    /** What the head reads: the filter bank on the scan's grid (default), or network taps in the base's model space too. */
    features: 'filters' as TeachFeatures,
    maxEpochs: DEFAULT_MAX_EPOCHS,
    largestComponent: true,
    running: false,
    progress: 0,
    message: '',
    history: [] as TeachEpoch[],
    /** The latest taught model (its preview is a segmentation of its scan). */
    taught: undefined as TeachSummary | undefined,
    savePath: '',
    saved: '',
    /** A save that would replace an existing bundle, waiting for the user's answer. */
    confirmSave: '',
    /** Milliseconds from Cancel to the run's end (shown, and read by the e2e). */
    cancelMs: 0
  }),
  actions: {
    async loadSummary(dir: string): Promise<void> {
      const s = useSessionStore()
      this.baseDir = dir
      this.summary = await s.guard('reading the base model', () => api.summarizeBase(dir))
      // A base without a decoder map to tap leaves the filters only.
      if (this.summary?.network.unavailable) this.features = 'filters'
    },
    slices(): CompleteSlices | undefined {
      if (!this.completeSlices) return undefined
      if (this.sliceMode === 'every') return { plane: this.plane, every: this.every }
      return { plane: this.plane, list: this.sliceList.split(/[\s,]+/).filter(Boolean).map(Number) }
    },
    /**
     * The listed further scans as the contract takes them (edited layers committed to the core first);
     * rows of closed scans or segmentations are dropped. Throws a one-line Error for an unreadable slice choice.
     */
    async otherScans(): Promise<TeachScan[]> {
      const s = useSessionStore()
      const out: TeachScan[] = []
      for (const o of this.others) {
        const seg: SegmentSummary | undefined = s.scans.find((d) => d.volume.id === o.volumeId)?.segmentations.find((x) => x.runId === o.runId)
        if (!seg) continue
        const { slices, error } = slicesFromText(o.slices)
        if (error) throw new Error(error)
        out.push({ volumeId: o.volumeId, runId: seg.source.kind === 'edited' ? await useEditingStore().commit(seg) : seg.runId, slices })
      }
      return out
    },
    /** Trains on the shown segmentation of the shown scan and the listed further scans; its prediction becomes a new segmentation of the shown scan. */
    async train(): Promise<void> {
      const s = useSessionStore()
      const run = s.run
      if (this.running || !run || !s.active || !this.baseDir) return
      this.running = true
      this.progress = 0
      this.message = 'starting'
      this.history = []
      this.cancelMs = 0
      try {
        const result = await s.guard('teaching', async () => {
          // An edited layer lives in the renderer: the core gets its current state first.
          const runId = run.source.kind === 'edited' ? await useEditingStore().commit(run) : run.runId
          const otherScans = await this.otherScans()
          return api.teach({
            volumeId: run.volumeId, runId, baseBundleDir: this.baseDir, learn: [...this.learn], slices: this.slices(), otherScans,
            head: this.head, features: this.features, maxEpochs: this.maxEpochs, largestComponent: this.largestComponent
          })
        })
        if (result) {
          this.taught = result
          this.history = result.history
          this.message = `taught in ${(result.elapsedMs / 1000).toFixed(1)} s, best epoch ${result.best.epoch}`
          await s.addSegmentation(result.preview)
        } else if (s.errorCode === 'CANCELLED') {
          s.error = ''
          this.message = 'cancelled'
        } else this.message = ''
      } finally {
        this.running = false
      }
    },
    async cancel(): Promise<void> {
      if (!this.running) return
      const t0 = performance.now()
      this.message = 'cancelling'
      await api.cancel()
      while (this.running) await new Promise((r) => setTimeout(r, 20))
      this.cancelMs = performance.now() - t0
    },
    /** Saves the latest taught model; an existing bundle is replaced only after the user confirms. */
    async save(overwrite = false): Promise<void> {
      const s = useSessionStore()
      const taught = this.taught
      this.confirmSave = ''
      this.saved = ''
      if (!taught || !this.savePath.trim()) return
      const path = this.savePath.trim()
      const out = await s.guard('saving the taught model', () => api.saveTaught(taught.teachId, path, { overwrite }))
      if (out) this.saved = out
      else if (s.errorCode === 'OUTPUT_EXISTS') {
        s.error = ''
        this.confirmSave = path
      }
    },
    async answerSave(replace: boolean): Promise<void> {
      if (replace) await this.save(true)
      else this.confirmSave = ''
    },
    /** Progress events of a teach run (stage 'teach:…'), with each finished epoch for the curve. */
    onProgress(e: ProgressEvent): void {
      if (!this.running || !e.stage.startsWith('teach:')) return
      this.progress = e.fraction
      if (this.message !== 'cancelling') this.message = e.message
      if (e.epoch && !this.history.some((h) => h.epoch === e.epoch!.epoch)) this.history.push(e.epoch)
    }
  }
})
