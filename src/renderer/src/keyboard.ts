/**
 * Global keyboard shortcuts (the list users see is in components/ShortcutSheet.vue). Ignored while
 * typing in a field (isEditing). Returns the detach function (attach/detach are symmetric).
 */
import { useSessionStore, voxelsOf } from './stores/session'
import { useViewerStore } from './stores/viewer'
import { CT_PRESETS } from './render/window'
import { useEditingStore } from './stores/editing'
import { useFilesStore } from './stores/files'

/** Keys go to a focused text field, number field, list or slider, not to the shortcuts. */
function isEditing(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false
  if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable) return true
  return el instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit'].includes(el.type)
}

export function attachShortcuts(target: Window): () => void {
  const s = useSessionStore()
  const v = useViewerStore()
  const onKey = (e: KeyboardEvent): void => {
    if (isEditing(e.target)) return
    const vol = s.active
    const key = e.key
    if (key === 'Escape') {
      if (s.confirmReplace) void s.answerReplace(false)
      v.showShortcuts = false
      v.ruler = null
      useFilesStore().close()
      s.error = ''
    } else if (key === '?') v.showShortcuts = !v.showShortcuts
    else if (key === 'Enter' && (e.ctrlKey || e.metaKey)) void s.runModel()
    else if ((e.ctrlKey || e.metaKey) && (key === 'z' || key === 'Z' || key === 'y')) useEditingStore().step(key === 'y' || e.shiftKey)
    else if (!vol) return
    else if (key === 'ArrowUp' || key === 'PageUp') v.stepSlice(v.activeView, 1, vol)
    else if (key === 'ArrowDown' || key === 'PageDown') v.stepSlice(v.activeView, -1, vol)
    else if (key === '+' || key === '=') v.zoomBy(v.activeView, 1.2)
    else if (key === '-') v.zoomBy(v.activeView, 1 / 1.2)
    else if (key >= '1' && key <= String(CT_PRESETS.length)) v.applyPreset(CT_PRESETS[Number(key) - 1].id)
    else if (key === 'a') v.applyPreset('auto', voxelsOf(vol.id))
    else if (key === 'i') v.interpolation = v.interpolation === 'linear' ? 'nearest' : 'linear'
    else if (key === 'm') v.overlayVisible = !v.overlayVisible
    else if (key === 'o') v.outline = !v.outline
    else if (key === 'r') v.resetViews()
    else if (key === 'p') v.showPlanes = !v.showPlanes
    else if (key === 'l') v.rulerMode = !v.rulerMode
    else if (key === 's') void v.screenshot(vol.name)
    else return
    e.preventDefault()
  }
  target.addEventListener('keydown', onKey)
  return () => target.removeEventListener('keydown', onKey)
}
