import { defineStore } from 'pinia'
import type { GridInfo, LabelDef, VolumeInfo } from '../../../shared/contract'
import { add, centerOf, gridTransform, scale, sliceStep, VIEW_AXES, VIEWS, voxelAt, type Vec3, type ViewKind } from '../geometry/space'
import type { Interpolation, WindowLevel } from '../render/slice'
import { autoWindow, CT_PRESETS } from '../render/window'
import type { Voxels } from '../render/slice'
import { ontoSlice, type Ruler } from '../geometry/reading'
import { saveScreenshot } from '../canvas/screenshot'

const perView = <T>(f: () => T): Record<ViewKind, T> => ({ axial: f(), coronal: f(), sagittal: f() })

/** What the slice views show and how: crosshair, window, zoom/pan, overlay style. */
export const useViewerStore = defineStore('viewer', {
  state: () => ({
    /** The linked cursor, LPS world mm: every view shows the slice through it. */
    crosshair: [0, 0, 0] as Vec3,
    window: { level: 40, width: 400 } as WindowLevel,
    presetId: 'auto',
    interpolation: 'linear' as Interpolation,
    /** 1 = fit to the view. */
    zoom: perView(() => 1),
    /** Zoom the three views together (each relative to its own fit). */
    linkZoom: true,
    /** Offset of the view centre from the volume centre, in mm along the view's right and down axes. */
    pan: perView((): [number, number] => [0, 0]),
    overlayVisible: true,
    opacity: 0.5,
    outline: false,
    hidden: [] as number[],
    labelColors: [] as LabelDef[],
    /** The view under the pointer (arrow keys act on it). */
    activeView: 'axial' as ViewKind,
    /** What is under the pointer: world point (LPS mm) and the view it is in; null when outside. */
    hover: null as { view: ViewKind; world: Vec3 } | null,
    showShortcuts: false,
    /** Left-drag draws a ruler instead of moving the crosshair (`L`); Esc clears the ruler. */
    rulerMode: false,
    ruler: null as Ruler | null,
    /** The file name the last screenshot was saved as. */
    lastScreenshot: '',
    /** 3D view: the three slice planes through the crosshair; Taubin-smoothed surfaces. */
    showPlanes: true,
    smoothSurfaces: true
  }),
  getters: {
    /**
     * Where the readout reads: the pointer's point moved onto its view's current slice (so a slice
     * change by wheel, keys or another view updates it without a mouse move), else the crosshair.
     */
    readoutAt: (s): Vec3 => (s.hover ? ontoSlice(s.hover.view, s.hover.world, s.crosshair) : s.crosshair)
  },
  actions: {
    /** Choose a window for a newly shown volume; centre the crosshair and fit the views unless the crosshair is inside it. */
    resetForVolume(vol: VolumeInfo, data: Voxels | undefined, keepIfInside = false): void {
      // Switching between scans of the same patient keeps the cursor where it is (if it is inside).
      if (!keepIfInside || !voxelAt(vol, gridTransform(vol), this.crosshair)) {
        this.crosshair = centerOf(vol)
        this.resetViews()
      }
      this.ruler = null
      if (vol.modality === 'CT') this.applyPreset('abdomen')
      else if (data) {
        this.window = autoWindow(data)
        this.presetId = 'auto'
      }
    },
    resetViews(): void {
      for (const v of VIEWS) {
        this.zoom[v] = 1
        this.pan[v] = [0, 0]
      }
    },
    applyPreset(id: string, data?: Voxels): void {
      const p = CT_PRESETS.find((x) => x.id === id)
      if (p) this.window = { level: p.level, width: p.width }
      else if (id === 'auto' && data) this.window = autoWindow(data)
      this.presetId = id
    },
    /** Move the crosshair by n slices along a view's normal. */
    stepSlice(view: ViewKind, n: number, grid: GridInfo): void {
      this.crosshair = add(this.crosshair, scale(VIEW_AXES[view].normal, n * sliceStep(grid, view)))
    },
    /** Zooms a view, and the other two by the same factor when the zoom is linked. */
    zoomBy(view: ViewKind, factor: number): void {
      const clamp = (z: number) => Math.min(40, Math.max(0.25, z))
      const applied = clamp(this.zoom[view] * factor) / this.zoom[view]
      for (const w of this.linkZoom ? VIEWS : [view]) this.zoom[w] = clamp(this.zoom[w] * applied)
    },
    /** Saves a PNG of the view under the pointer (or last under it), named after the scan. */
    async screenshot(scanName: string): Promise<void> {
      this.lastScreenshot = (await saveScreenshot(this.activeView, scanName)) ?? ''
    },
    toggleLabel(value: number): void {
      const i = this.hidden.indexOf(value)
      if (i >= 0) this.hidden.splice(i, 1)
      else this.hidden.push(value)
    }
  }
})
