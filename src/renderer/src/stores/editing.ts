/**
 * The editing layer (docs/editing.md, "How the UI uses them"): brush settings, and per edited
 * segmentation its UndoStack and label counts. Editing a model result first makes an "edited copy"
 * segmentation of the same scan (the result stays as it was); the copy's label map lives in the
 * session's label cache and is changed in place by the shared tools' deltas. Only the delta is used
 * afterwards: counts (label table), the overlay redraw (labelsVersion) and the core copy on export.
 */
import { defineStore } from 'pinia'
import type { EditedLabels, LabelDef, SegmentSummary, VolumeInfo } from '../../../shared/contract'
import {
  changeRuns, defaultColor, deltaFrom, discBrush, labelCounts, sphereBrush, updateCounts, voxelMl, UndoStack,
  type Delta, type LabelArray, type LabelMap, type PaintRule, type Vec3
} from '../../../shared/editing'
import { api } from '../api'
import type { ViewKind } from '../geometry/space'
import { labelsOf, setLabels, useSessionStore, voxelsOf } from './session'
import { sourceName } from '../workspace/document'

/** Brush radius bounds (mm): below a voxel is meaningless, above is a slip of the hand. */
export const RADIUS_MM = { min: 0.1, max: 100 } as const
/** Largest active label value (the edited map is uint16 at most). */
export const MAX_LABEL = 65535

interface Layer {
  stack: UndoStack
  counts: Map<number, number>
  /** The base segmentation's voxels (a model result's, unchanged), or none for a layer drawn from scratch. */
  base?: ArrayLike<number>
  /** The core's copy made at the last export (replaced at the next). */
  coreRunId?: string
}
/** Per edited segmentation (local runId); outside the reactive state (the stack holds typed arrays). */
const layers = new Map<string, Layer>()
let copies = 0

/** A label map of the scan's grid in a type the tools write (uint8, or uint16 when a value needs it). */
function editableCopy(src: ArrayLike<number> | undefined, n: number): LabelArray {
  let top = 0
  for (let i = 0; src && i < n; i++) top = Math.max(top, src[i])
  const out = top > 255 ? new Uint16Array(n) : new Uint8Array(n)
  if (src) out.set(src)
  return out
}

const mapOf = (vol: VolumeInfo, data: LabelArray): LabelMap => ({ size: vol.size, spacing: vol.spacing, origin: vol.origin, direction: vol.direction, data })

/** An edited segmentation as the contract's EditedLabels: run-length changes against its base. */
function describe(run: SegmentSummary): EditedLabels {
  const layer = layers.get(run.runId)
  const data = labelsOf(run.runId) as LabelArray | undefined
  if (!layer || !data) throw new Error(`edited segmentation ${run.runId} is not in this window any more`)
  const baseRunId = run.source.kind === 'edited' && layer.base ? run.source.baseRunId : undefined
  return { volumeId: run.volumeId, baseRunId, runs: changeRuns(data, layer.base), labels: run.labels.map((l) => ({ value: l.value, name: l.name, color: l.color })) }
}

export const useEditingStore = defineStore('editing', {
  state: () => ({
    tool: 'none' as 'none' | 'paint' | 'erase',
    /** Brush radius, mm. */
    radiusMm: 3,
    /** '2d': a disc in the view's plane; '3d': a sphere. */
    shape: '2d' as '2d' | '3d',
    label: 1,
    /** Paint only voxels whose scan value (HU for CT) lies in [rangeMin, rangeMax]. */
    rangeOn: false,
    rangeMin: -1000,
    rangeMax: 3000,
    canUndo: false,
    canRedo: false,
    /** Milliseconds of the last dab's tool work (the redraw follows on the next frame). */
    lastDabMs: 0,
    /** The last dab's centre (LPS mm), for tests and the status line. */
    lastDab: null as Vec3 | null
  }),
  actions: {
    /** The shown segmentation as an editable layer: itself when it is an edited copy, else a new copy of it (or an empty one). */
    editableLayer(): { run: SegmentSummary; layer: Layer; map: LabelMap } | undefined {
      const s = useSessionStore()
      const doc = s.activeScan
      if (!doc) return undefined
      const vol = doc.volume
      let run = s.run
      if (!run || run.source.kind !== 'edited' || !layers.has(run.runId)) {
        const base = run
        const baseData = base && labelsOf(base.runId)
        const data = editableCopy(baseData, vol.size[0] * vol.size[1] * vol.size[2])
        const copy: SegmentSummary = {
          runId: `edit-${++copies}-${Date.now()}`, volumeId: vol.id,
          source: { kind: 'edited', baseRunId: base?.runId, name: base ? `${sourceName(base)} edited` : 'edited' },
          labels: base ? base.labels.map((l) => ({ ...l, color: [...l.color] as LabelDef['color'] })) : [],
          createdAt: new Date().toISOString(), provider: 'edited', notes: [], elapsedMs: 0, stats: []
        }
        setLabels(copy.runId, data)
        layers.set(copy.runId, { stack: new UndoStack(), counts: labelCounts(data), base: baseData })
        doc.segmentations.push(copy)
        doc.shownRunId = copy.runId
        run = s.run!
        this.refreshStats(run, vol)
      }
      return { run, layer: layers.get(run.runId)!, map: mapOf(vol, labelsOf(run.runId) as LabelArray) }
    },
    /** The label table's rows from the layer's counts (no rescan of the map). */
    refreshStats(run: SegmentSummary, vol: VolumeInfo): void {
      const counts = layers.get(run.runId)!.counts
      const ml = voxelMl(vol)
      const name = (v: number) => run.labels.find((l) => l.value === v)?.name ?? `label ${v}`
      run.stats = [...counts].filter(([v, n]) => v !== 0 && n > 0).sort((a, b) => a[0] - b[0]).map(([value, voxels]) => ({ value, name: name(value), voxels, volumeMl: voxels * ml }))
    },
    /** After any change of the map: table, undo state, overlay redraw. */
    changed(run: SegmentSummary, layer: Layer, d: Delta, sign: 1 | -1): void {
      const s = useSessionStore()
      layer.counts = updateCounts(layer.counts, d, sign)
      this.refreshStats(run, s.active!)
      this.canUndo = layer.stack.canUndo
      this.canRedo = layer.stack.canRedo
      s.labelsVersion++
    },
    /** The paint rule of the current settings on the shown scan. */
    rule(vol: VolumeInfo): PaintRule {
      const scan = voxelsOf(vol.id)
      return {
        mode: this.tool === 'erase' ? 'erase' : 'paint',
        label: this.label,
        intensity: this.rangeOn && scan ? { scan, min: this.rangeMin, max: this.rangeMax } : undefined
      }
    },
    /** One brush dab at a world point (LPS mm) of a view: a disc in that view's plane, or a sphere. */
    dab(view: ViewKind, center: Vec3): void {
      const s = useSessionStore()
      const vol = s.active
      if (this.tool === 'none' || !vol) return
      const t0 = performance.now()
      try {
        const e = this.editableLayer()!
        if (this.tool === 'paint' && !e.run.labels.some((l) => l.value === this.label)) {
          e.run.labels.push({ value: this.label, name: `label ${this.label}`, color: defaultColor(this.label) })
        }
        const brush = { center, radiusMm: this.radiusMm }
        const d = this.shape === '3d' ? sphereBrush(e.map, brush, this.rule(vol)) : discBrush(e.map, brush, view, this.rule(vol))
        e.layer.stack.edit(e.map, d)
        this.changed(e.run, e.layer, d, 1)
        this.lastDab = center
      } catch (err) {
        s.fail(err)
      }
      this.lastDabMs = performance.now() - t0
    },
    /** Undo (`redo` false) or redo the latest edit of the shown edited segmentation. */
    step(redo: boolean): void {
      const s = useSessionStore()
      const run = s.run
      const layer = run && layers.get(run.runId)
      if (!run || !layer || !s.active) return
      const map = mapOf(s.active, labelsOf(run.runId) as LabelArray)
      const d = redo ? layer.stack.redo(map) : layer.stack.undo(map)
      if (d) this.changed(run, layer, d, redo ? 1 : -1)
    },
    /** The undo state of the shown segmentation (after switching scans or segmentations). */
    sync(): void {
      const run = useSessionStore().run
      const layer = run && layers.get(run.runId)
      this.canUndo = !!layer?.stack.canUndo
      this.canRedo = !!layer?.stack.canRedo
    },
    /**
     * Hands the edited segmentation's current state to the app core (run-length changes against its
     * base) and returns the core's runId, which exports like a model result.
     */
    async commit(run: SegmentSummary): Promise<string> {
      const layer = layers.get(run.runId)!
      const seg = await api.putEditedLabels({ ...describe(run), replaceRunId: layer.coreRunId })
      layer.coreRunId = seg.runId
      return seg.runId
    },
    /**
     * Fills the active label between the slices of `plane` that hold it (the engine's morphological
     * contour interpolation, over the contract), as one undoable edit of the shown edited segmentation.
     */
    async interpolate(plane: ViewKind): Promise<void> {
      const s = useSessionStore()
      const e = s.run?.source.kind === 'edited' ? this.editableLayer() : undefined
      if (!e) return void (s.error = 'interpolation fills between slices you labelled: paint the label on two or more slices first')
      const label = this.label
      const filled = await s.guard('interpolating', () => api.interpolateLabels({ ...describe(e.run), label, plane }))
      if (!filled || s.run?.runId !== e.run.runId) return // failed, or the user moved on meanwhile
      const d = deltaFrom(e.map, filled, () => label)
      e.layer.stack.edit(e.map, d)
      this.changed(e.run, e.layer, d, 1)
    },
    /** Loads a segmentation file as a new segmentation of the shown scan (on its grid; the core refuses another). */
    async loadFile(path: string): Promise<void> {
      const s = useSessionStore()
      const volumeId = s.activeId
      const seg = volumeId && path.trim() ? await s.guard('loading labels', () => api.loadLabelFile(volumeId, path.trim(), {})) : undefined
      if (seg) await s.addSegmentation(seg)
    },
    /** Frees an edited segmentation's undo history (its segmentation was removed or its scan closed). */
    forget(runId: string): void {
      layers.delete(runId)
    }
  }
})
