import { defineStore } from 'pinia'
import type { BundleInfo, DeviceChoice, ExportKind, HostInfo, SegmentSummary, VolumeInfo } from '../../../shared/contract'
import { api, messageOf, typedVoxels } from '../api'
import type { Voxels } from '../render/slice'

/**
 * Voxel arrays live outside the reactive state: Vue must never proxy a 10-million-element array.
 * The store holds version counters that views watch instead.
 */
const voxelCache = new Map<string, Voxels>()
let labelVoxels: Voxels | undefined

export const voxelsOf = (volumeId: string): Voxels | undefined => voxelCache.get(volumeId)
export const currentLabels = (): Voxels | undefined => labelVoxels

/** What the clinician has open: volumes, the model bundle, the last run and its progress. */
export const useSessionStore = defineStore('session', {
  state: () => ({
    host: undefined as HostInfo | undefined,
    volumes: [] as VolumeInfo[],
    activeId: '',
    voxelsVersion: 0,
    bundle: undefined as BundleInfo | undefined,
    device: 'auto' as DeviceChoice,
    /** Apply the bundle's intensity refinement (when it has one). */
    refinement: true,
    /** The volume chosen for each model input channel (ids; '' = not chosen yet). */
    channelVolumes: [] as string[],
    run: undefined as SegmentSummary | undefined,
    labelsVersion: 0,
    progress: 0,
    progressMessage: '',
    running: false,
    startedAt: 0,
    elapsedMs: 0,
    busy: '',
    error: '',
    lastExport: ''
  }),
  getters: {
    active: (s): VolumeInfo | undefined => s.volumes.find((v) => v.id === s.activeId),
    /** The volume the current label map lies on. */
    labelVolume: (s): VolumeInfo | undefined => s.volumes.find((v) => v.id === s.run?.volumeId)
  },
  actions: {
    async guard<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
      this.error = ''
      this.busy = what
      try {
        return await fn()
      } catch (e) {
        this.error = messageOf(e)
        return undefined
      } finally {
        this.busy = ''
      }
    },
    async init(): Promise<void> {
      this.host = await this.guard('connecting', () => api.hostInfo())
    },
    async openVolumes(paths: string[]): Promise<void> {
      await this.guard('opening volume', async () => {
        const infos = await api.openVolumes(paths)
        for (const info of infos) voxelCache.set(info.id, typedVoxels(await api.readVoxels(info.id)))
        this.volumes.push(...infos)
        this.activeId = infos[0].id
        this.voxelsVersion++
      })
    },
    async openBundle(dir: string): Promise<void> {
      const b = await this.guard('opening model', () => api.openBundle(dir))
      if (b) this.bundle = b
    },
    async runModel(): Promise<void> {
      if (!this.bundle || this.running) return
      const n = this.bundle.channels.length
      const ids = this.inputsFor(n)
      if (ids.some((id) => !id)) {
        this.error = `${this.bundle.name} needs ${n} input volume${n > 1 ? 's' : ''} (${this.bundle.channels.map((c) => c.name).join(', ')}); choose one for each in the Model panel`
        return
      }
      this.running = true
      this.progress = 0
      this.progressMessage = 'starting'
      this.startedAt = performance.now()
      this.elapsedMs = 0
      const timer = setInterval(() => (this.elapsedMs = performance.now() - this.startedAt), 200)
      try {
        const run = await this.guard('segmenting', () => api.segment({ bundleDir: this.bundle!.dir, volumeIds: ids, device: this.device, refinement: this.refinement }))
        if (run) {
          labelVoxels = typedVoxels(await api.readLabels(run.runId))
          // the new result replaces the shown one: the app need not keep the old label map
          if (this.run) void api.forgetRun(this.run.runId).catch(() => undefined)
          this.run = run
          this.progress = 1
          this.labelsVersion++
        } else if (/cancelled/i.test(this.error)) {
          // The user asked for it: a note beside the progress bar, not an error banner.
          this.error = ''
          this.progressMessage = 'cancelled'
        }
      } finally {
        clearInterval(timer)
        this.elapsedMs = performance.now() - this.startedAt
        this.running = false
      }
    },
    /** One volume id per channel: the user's choice, else the shown volume first, then the others in order. */
    inputsFor(n: number): string[] {
      const rest = [this.activeId, ...this.volumes.map((v) => v.id).filter((id) => id !== this.activeId)]
      return Array.from({ length: n }, (_, c) => {
        const chosen = this.channelVolumes[c]
        return chosen && this.volumes.some((v) => v.id === chosen) ? chosen : rest[c] ?? ''
      })
    },
    async cancel(): Promise<void> {
      if (this.running) this.progressMessage = 'cancelling'
      await api.cancel()
    },
    async exportRun(kind: ExportKind, path: string): Promise<void> {
      const run = this.run
      if (!run) return
      const out = await this.guard('exporting', () => api.exportRun(run.runId, kind, path))
      if (out) this.lastExport = out
    },
    onProgress(fraction: number, message: string): void {
      if (!this.running) return
      this.progress = fraction
      this.progressMessage = message
    }
  }
})
