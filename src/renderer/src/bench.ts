/**
 * A measurement hook for the end-to-end test and for users reporting slowness: renders the current
 * volume and label map into a 512x512 axial frame `n` times and returns the mean milliseconds per
 * frame. Reads state only; draws nothing on screen.
 */
import { currentLabels, useSessionStore, voxelsOf } from './stores/session'
import { useViewerStore } from './stores/viewer'
import { fitViewport } from './geometry/space'
import { makeBuffers, makeLut, renderSlice } from './render/slice'

export function installBench(target: Window & { __segtransferBench?: (n: number) => number }): void {
  target.__segtransferBench = (n: number) => {
    const s = useSessionStore()
    const v = useViewerStore()
    const vol = s.active
    const data = vol && voxelsOf(vol.id)
    if (!vol || !data) return NaN
    const labels = currentLabels()
    const buf = makeBuffers(512, 512)
    const input = {
      view: 'axial' as const, viewport: fitViewport(vol, 'axial', 512, 512), crosshair: v.crosshair,
      image: { grid: vol, data }, labels: labels && s.labelVolume ? { grid: s.labelVolume, data: labels } : undefined,
      window: v.window, interpolation: v.interpolation, overlay: { lut: makeLut(s.shownLabels), opacity: v.opacity, outline: v.outline }
    }
    renderSlice(input, buf)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) renderSlice(input, buf)
    return (performance.now() - t0) / n
  }
}
