/**
 * The editing layer (docs/editing.md, "How the UI uses them"): brush settings, and per edited
 * segmentation its UndoStack and label counts. Editing a model result first makes an "edited copy"
 * segmentation of the same scan (the result stays as it was); the copy's label map lives in the
 * session's label cache and is changed in place by the shared tools' deltas. Only the delta is used
 * afterwards: counts (label table), the redraw of the views whose slice it touched (viewEdits), the
 * edited labels' surfaces (takeEditedLabels) and the core copy on export.
 */
import { defineStore } from 'pinia'
import type { EditedLabels, LabelDef, SegmentSummary, VolumeInfo } from '../../../shared/contract'
import {
  addLabel as tableAdd, changeRuns, check, clearLabel, deleteLabel as tableDelete, deltaBox, deltaFrom, discBrush, editedLabels, emptyStep, islandEdit,
  labelCounts, indexToWorld, noVoxels, planeAxis, polygonFill, recolorLabel as tableRecolor, ruleValue, renameLabel as tableRename, setLocked as tableLock, sphereBrush,
  tableChanges, updateCounts, visibleOnGrey, voxelMl, voxelStep, withLabel, worldPolygon, worldToIndex, UndoStack,
  type Box, type Connectivity, type Delta, type LabelDef as SharedLabel, type LabelArray, type LabelMap, type PaintRule, type Rgb, type Step, type Vec3
} from '../../../shared/editing'
import { api } from '../api'
import { VIEWS, type ViewKind } from '../geometry/space'
import { labelsOf, setLabels, useSessionStore, voxelsOf } from './session'
import { useViewerStore } from './viewer'
import { sourceName } from '../workspace/document'

/** Brush radius bounds (mm): below a voxel is meaningless, above is a slip of the hand. */
export const RADIUS_MM = { min: 0.1, max: 100 } as const
/** Largest active label value (the edited map is uint16 at most). */
export { MAX_LABEL_VALUE as MAX_LABEL } from '../../../shared/editing'

interface Layer {
  stack: UndoStack
  counts: Map<number, number>
  /** The base segmentation's voxels (a model result's, unchanged), or none for a layer drawn from scratch. */
  base?: ArrayLike<number>
  /** The core's copy made at the last upload (replaced at the next). */
  coreRunId?: string
  /** Bumped by every step, undo and redo (changed): the map and table's version. */
  revision: number
  /** The revision the core's copy holds: an export of an unchanged map reuses that copy instead of uploading it again. */
  uploaded?: number
}
/**
 * The shown edited segmentation, its layer, and its label map on the scan's grid (what the tools change).
 * `adopt` is set while it is a copy not yet in the document (of a model result, or an empty one):
 * the copy joins the scan's segmentations only once a tool has run without being refused.
 */
interface Editable {
  run: SegmentSummary
  layer: Layer
  map: LabelMap
  adopt?: () => SegmentSummary
}
/** Per edited segmentation (local runId); outside the reactive state (the stack holds typed arrays). */
const layers = new Map<string, Layer>()
let copies = 0
/** The copy the next edit of a segmentation that is not an edited copy would make (see editableLayer), keyed by scan and segmentation. */
let pending: { key: string; e: Editable } | undefined
/** Per segmentation, the labels whose voxels changed since the 3D view last took them (takeEditedLabels). */
const edited = new Map<string, Set<number>>()

/**
 * The labels of `runId` edited since the last call (and forgets them): the 3D view recomputes only
 * these surfaces. Empty when nothing was edited.
 */
export function takeEditedLabels(runId: string): number[] {
  const set = edited.get(runId)
  edited.delete(runId)
  return set ? [...set].sort((a, b) => a - b) : []
}

/** The LPS axis across each view's slices (axial → S, coronal → P, sagittal → L). */
const NORMAL_WORLD_AXIS: Record<ViewKind, 0 | 1 | 2> = { axial: 2, coronal: 1, sagittal: 0 }

/**
 * Whether a view must redraw after an edit whose changed voxels lie in `box` (index box): the view's
 * slice through the crosshair crosses it. Exact when an index axis is the view's normal; an oblique
 * grid's view cuts several index slices, so it always redraws.
 */
function viewSees(vol: VolumeInfo, view: ViewKind, crosshair: Vec3, box: Box): boolean {
  const axis = planeAxis(vol, view)
  if (Math.abs(vol.direction[NORMAL_WORLD_AXIS[view] * 3 + axis]) < 1 - 1e-6) return true
  const k = worldToIndex(vol, crosshair)[axis]
  return k >= box.min[axis] - 0.5 - 1e-6 && k <= box.max[axis] + 0.5 + 1e-6
}

/** The tools: Navigate, the brush (paint / erase), polygon fill, island remove/keep. */
export type EditTool = 'none' | 'paint' | 'erase' | 'polygon' | 'island'

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
    tool: 'none' as EditTool,
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
    /** Island tool: remove the clicked island, or keep only it (of the active label). */
    islandMode: 'remove' as 'remove' | 'keep',
    /** Island tool: face neighbours (6) or face, edge and corner neighbours (26). */
    connectivity: 6 as Connectivity,
    /** The polygon being drawn: its view and vertices (LPS mm, on that view's slice); null when none. */
    polygon: null as { view: ViewKind; points: Vec3[] } | null,
    /** The vertices of the last polygon filled (LPS mm), for tests. */
    lastPolygon: null as Vec3[] | null,
    /** Bumped by every change of an edited map (the 3D view's surfaces and planes follow it once the edits rest). */
    edits: 0,
    /** Per slice view, bumped when a change touched the slice it shows: only those views redraw. */
    viewEdits: { axial: 0, coronal: 0, sagittal: 0 } as Record<ViewKind, number>,
    /** Locked label values per segmentation (runId): never painted over, erased or cleared. */
    locks: {} as Record<string, number[]>,
    /** Milliseconds of the last dab's tool work (the redraw follows on the next frame). */
    lastDabMs: 0,
    /** The last dab's centre (LPS mm), for tests and the status line. */
    lastDab: null as Vec3 | null
  }),
  actions: {
    /**
     * The shown segmentation as an editable layer: itself when it is an edited copy, else a copy of it
     * (or an empty one) that is not in the document yet; `adopt` adds it (see withLayer).
     */
    editableLayer(): Editable | undefined {
      const s = useSessionStore()
      const doc = s.activeScan
      if (!doc) return undefined
      const vol = doc.volume
      const run = s.run
      if (run && run.source.kind === 'edited' && layers.has(run.runId)) return { run, layer: layers.get(run.runId)!, map: mapOf(vol, labelsOf(run.runId) as LabelArray) }
      const key = `${vol.id}|${run?.runId ?? ''}`
      if (pending?.key === key) return pending.e // refused edits reuse one copy instead of a volume each
      const base = run
      const baseData = base && labelsOf(base.runId)
      const data = editableCopy(baseData, vol.size[0] * vol.size[1] * vol.size[2])
      const copy: SegmentSummary = {
        runId: `edit-${++copies}-${Date.now()}`, volumeId: vol.id,
        source: { kind: 'edited', baseRunId: base?.runId, name: base ? `${sourceName(base)} edited` : 'edited' },
        labels: base ? base.labels.map((l) => ({ ...l, color: [...l.color] as LabelDef['color'] })) : [],
        createdAt: new Date().toISOString(), provider: 'edited', notes: [], elapsedMs: 0, stats: []
      }
      const layer: Layer = { stack: new UndoStack(), counts: labelCounts(data), base: baseData, revision: 0 }
      const adopt = (): SegmentSummary => {
        pending = undefined
        setLabels(copy.runId, data)
        layers.set(copy.runId, layer)
        doc.segmentations.push(copy)
        doc.shownRunId = copy.runId
        return s.run! // the reactive copy
      }
      pending = { key, e: { run: copy, layer, map: mapOf(vol, data), adopt } }
      return pending.e
    },
    /** The label table's rows from the layer's counts (no rescan of the map). */
    refreshStats(run: SegmentSummary, vol: VolumeInfo): void {
      const counts = layers.get(run.runId)!.counts
      const ml = voxelMl(vol)
      const name = (v: number) => run.labels.find((l) => l.value === v)?.name ?? `label ${v}`
      run.stats = [...counts].filter(([v, n]) => v !== 0 && n > 0).sort((a, b) => a[0] - b[0]).map(([value, voxels]) => ({ value, name: name(value), voxels, volumeMl: voxels * ml }))
    },
    /**
     * After any step, undo or redo: the table (names, colours, locks, counts) and the undo state; when
     * voxels changed, also the edited labels' surfaces and the redraw of the views the change shows in.
     */
    changed(run: SegmentSummary, layer: Layer, d: Delta, sign: 1 | -1, table?: SharedLabel[]): void {
      const s = useSessionStore()
      layer.revision++
      layer.counts = updateCounts(layer.counts, d, sign)
      if (table) this.setTable(run, table)
      this.refreshStats(run, s.active!)
      this.canUndo = layer.stack.canUndo
      this.canRedo = layer.stack.canRedo
      if (d.indices.length === 0) return
      const set = edited.get(run.runId) ?? new Set<number>()
      for (const v of editedLabels(d)) set.add(v)
      edited.set(run.runId, set)
      const box = deltaBox(d, s.active!.size)
      const crosshair = useViewerStore().crosshair
      for (const view of VIEWS) if (box && viewSees(s.active!, view, crosshair, box)) this.viewEdits[view]++
      this.edits++
    },
    /** A copy held aside (editableLayer) joins the scan's segmentations and is shown. */
    adopt(e: Editable): void {
      const adopt = e.adopt
      if (!adopt) return
      e.adopt = undefined
      e.run = adopt()
      this.refreshStats(e.run, useSessionStore().active!)
    },
    /** Applies a step (voxels and table rows) to the shown edited layer as one undoable edit. */
    record(e: Editable, step: Step): void {
      this.adopt(e)
      const table = e.layer.stack.apply({ map: e.map, table: this.table(e.run) }, step)
      this.changed(e.run, e.layer, step.delta, 1, step.rows.length ? table : undefined)
    },
    /** The paint rule of the current settings on the shown scan (the shown segmentation's locks included). */
    rule(vol: VolumeInfo): PaintRule {
      const scan = voxelsOf(vol.id)
      return {
        mode: this.tool === 'erase' ? 'erase' : 'paint',
        label: this.label,
        locked: this.lockedOf(useSessionStore().run?.runId),
        intensity: this.rangeOn && scan ? { scan, min: this.rangeMin, max: this.rangeMax } : undefined
      }
    },
    lockedOf(runId: string | undefined): number[] {
      return (runId && this.locks[runId]) || []
    },
    /**
     * Runs a tool or table change on the shown segmentation's editable layer and records the step it
     * returns as one undoable edit (an empty step is not recorded). A refusal (SegError) shows as the
     * error line and changes nothing: it makes no edited copy of a model result either.
     */
    withLayer(tool: (e: Editable, vol: VolumeInfo) => Step): void {
      const s = useSessionStore()
      const vol = s.active
      if (!vol) return
      try {
        const e = this.editableLayer()!
        const step = tool(e, vol)
        this.adopt(e) // not refused: the copy joins the scan, as before any edit
        if (!emptyStep(step)) this.record(e, step)
      } catch (err) {
        s.fail(err)
      }
    },
    /** A paint tool's step: its voxels, and the active label's row when the table lacks it (default name and colour). */
    paintStep(e: Editable, d: Delta): Step {
      const t = this.table(e.run)
      return { delta: d, rows: tableChanges(t, withLabel(t, this.label)) }
    },
    /**
     * A press of the current tool at a world point (LPS mm) of a view, and for the brush each drag step:
     * brush → a dab (a disc in that view's plane, or a sphere); polygon → a vertex; island → remove/keep.
     */
    dab(view: ViewKind, at: Vec3): void {
      const vol = useSessionStore().active
      // Every tool but the 3D sphere acts on one slice: the one the view shows, with the crosshair on its centre.
      const center = vol && !(this.dragRepeats() && this.shape === '3d') ? this.onShownSlice(vol, view, at) : at
      if (this.tool === 'polygon') return this.addVertex(view, center)
      if (this.tool === 'island') return this.island(center)
      if (this.tool !== 'paint' && this.tool !== 'erase') return
      const t0 = performance.now()
      this.withLayer((e, vol) => {
        const brush = { center, radiusMm: this.radiusMm }
        const d = this.shape === '3d' ? sphereBrush(e.map, brush, this.rule(vol)) : discBrush(e.map, brush, view, this.rule(vol))
        return this.tool === 'paint' ? this.paintStep(e, d) : voxelStep(d)
      })
      this.lastDab = center
      this.lastDabMs = performance.now() - t0
    },
    /**
     * `p` (on a view's slice) moved onto the nearest slice centre along the view's normal index axis,
     * and the crosshair with it: a crosshair between two slices (the centre of a volume with an even
     * number of slices) would leave the choice of slice to rounding, and the edit could land on the
     * slice the view does not show.
     */
    onShownSlice(vol: VolumeInfo, view: ViewKind, p: Vec3): Vec3 {
      const axis = planeAxis(vol, view)
      const snap = (q: Vec3): Vec3 => {
        const ijk = worldToIndex(vol, q)
        ijk[axis] = Math.round(ijk[axis])
        return indexToWorld(vol, ijk)
      }
      const v = useViewerStore()
      const c = snap(v.crosshair)
      if (c.some((x, a) => x !== v.crosshair[a])) v.crosshair = c // an unchanged crosshair redraws nothing
      return snap(p)
    },
    /** Whether a drag repeats the tool (the brush) rather than acting once per press (polygon, island). */
    dragRepeats(): boolean {
      return this.tool === 'paint' || this.tool === 'erase'
    },
    /** A polygon vertex on a view's slice; a vertex on another view starts over there. A repeated point (a double-click's second press) is skipped. */
    addVertex(view: ViewKind, p: Vec3): void {
      const poly = this.polygon
      if (!poly || poly.view !== view) return void (this.polygon = { view, points: [p] })
      const last = poly.points[poly.points.length - 1]
      if (Math.hypot(p[0] - last[0], p[1] - last[1], p[2] - last[2]) > 1e-6) poly.points.push(p)
    },
    /** Closes the polygon and fills it on its slice with the active label (one undoable edit). */
    closePolygon(): void {
      const poly = this.polygon
      if (!poly) return
      this.polygon = null
      if (poly.points.length < 3) return void (useSessionStore().error = `a polygon needs at least 3 vertices, got ${poly.points.length}: click more points before closing it`)
      this.withLayer((e, vol) => {
        const d = polygonFill(e.map, worldPolygon(e.map, poly.view, poly.points), this.rule(vol))
        this.lastPolygon = poly.points
        return this.paintStep(e, d)
      })
    },
    cancelPolygon(): void {
      this.polygon = null
    },
    /** Removes the island of the active label at a world point, or keeps only it. */
    island(at: Vec3): void {
      this.withLayer((e) => {
        const ijk = worldToIndex(e.map, at).map(Math.round) as Vec3
        check(ijk.every((x, a) => x >= 0 && x < e.map.size[a]), 'the island tool needs a click inside the scan')
        const value = e.map.data[ijk[0] + e.map.size[0] * (ijk[1] + e.map.size[1] * ijk[2])]
        check(value === this.label, `the clicked voxel holds ${value === 0 ? 'background' : `label ${value}`}; click a voxel of the active label ${this.label}`)
        return voxelStep(islandEdit(e.map, { seed: ijk, connectivity: this.connectivity, mode: this.islandMode, locked: this.lockedOf(e.run.runId) }))
      })
    },
    /** The label table of the shown segmentation as the shared tools' table (background left out, locks in). */
    table(run: SegmentSummary): SharedLabel[] {
      const locked = this.lockedOf(run.runId)
      return run.labels.filter((l) => l.value > 0).map((l) => ({ ...l, locked: locked.includes(l.value) }))
    },
    /** Writes a changed table back to the shown (edited) segmentation: names, colours and locks. */
    setTable(run: SegmentSummary, table: SharedLabel[]): void {
      run.labels = [...run.labels.filter((l) => l.value === 0), ...table.map(({ value, name, color }) => ({ value, name, color }))]
      this.locks[run.runId] = table.filter((l) => l.locked).map((l) => l.value)
    },
    /**
     * A label-table change as one undoable step (the changed rows, and `voxels` when it clears some),
     * made on the editable layer (a model result gets its edited copy first).
     */
    editTable(change: (table: SharedLabel[], e: Editable) => SharedLabel[], voxels?: (e: Editable) => Delta): void {
      this.withLayer((e) => {
        const t = this.table(e.run)
        const rows = tableChanges(t, change(t, e)) // a refused change throws here, before any voxel is touched
        return { delta: voxels ? voxels(e) : noVoxels(), rows }
      })
    },
    /** Adds a label with the lowest free value and makes it the active one. */
    addLabel(): void {
      this.editTable((t) => {
        const next = tableAdd(t)
        this.label = next.find((l) => !t.some((o) => o.value === l.value))!.value
        return next
      })
    },
    /** Deletes a label: its row and its voxels (cleared) in one undoable step that brings both back. */
    deleteLabel(value: number): void {
      this.editTable((t) => tableDelete(t, value), (e) => clearLabel(e.map, value))
    },
    renameLabel(value: number, name: string): void {
      this.editTable((t) => tableRename(t, value, name))
    },
    /** Recolours a label; a colour too close to grey to show on a scan is refused. */
    recolorLabel(value: number, color: Rgb): void {
      this.editTable((t) => {
        check(visibleOnGrey(color), `colour (${color.join(', ')}) is too close to grey to show on a scan; pick a more saturated colour`)
        return tableRecolor(t, value, color)
      })
    },
    setLocked(value: number, locked: boolean): void {
      this.editTable((t) => tableLock(t, value, locked))
    },
    /** Undo (`redo` false) or redo the latest edit of the shown edited segmentation. */
    step(redo: boolean): void {
      const s = useSessionStore()
      const run = s.run
      const layer = run && layers.get(run.runId)
      if (!run || !layer || !s.active) return
      const map = mapOf(s.active, labelsOf(run.runId) as LabelArray)
      try {
        const r = redo ? layer.stack.redo(map, this.table(run)) : layer.stack.undo(map, this.table(run))
        if (r) this.changed(run, layer, r.step.delta, redo ? 1 : -1, r.step.rows.length ? r.table : undefined)
      } catch (err) {
        s.fail(err) // a step of another state: nothing was changed
      }
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
     * base) and returns the core's runId, which exports like a model result. Unchanged since the last
     * successful upload: the core's copy is current, so nothing is sent.
     */
    async commit(run: SegmentSummary): Promise<string> {
      const layer = layers.get(run.runId)!
      if (layer.coreRunId && layer.uploaded === layer.revision) return layer.coreRunId
      const revision = layer.revision // an edit made while the upload is under way is not in it
      const seg = await api.putEditedLabels({ ...describe(run), replaceRunId: layer.coreRunId })
      layer.coreRunId = seg.runId
      layer.uploaded = revision
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
      // Filled voxels follow the paint rule as the other tools do: locked labels are kept.
      const d = deltaFrom(e.map, filled, ruleValue(e.map, { mode: 'paint', label, locked: this.lockedOf(e.run.runId) }))
      this.record(e, voxelStep(d))
    },
    /** Loads a segmentation file as a new segmentation of the shown scan (on its grid; the core refuses another). */
    async loadFile(path: string): Promise<void> {
      const s = useSessionStore()
      const volumeId = s.activeId
      const seg = volumeId && path.trim() ? await s.guard('loading labels', () => api.loadLabelFile(volumeId, path.trim(), {})) : undefined
      if (seg) await s.addSegmentation(seg)
    },
    /**
     * Frees an edited segmentation's undo history (its segmentation was removed or its scan closed)
     * and, unless the core freed it already (`coreFreed`: its scan was closed), the core's copy of it
     * made at its last upload.
     */
    forget(runId: string, opts: { coreFreed?: boolean } = {}): void {
      const core = layers.get(runId)?.coreRunId
      if (core && !opts.coreFreed) void api.forgetRun(core).catch(() => undefined) // nothing is lost if the core has gone already
      pending = undefined
      layers.delete(runId)
      edited.delete(runId)
      delete this.locks[runId]
    }
  }
})
