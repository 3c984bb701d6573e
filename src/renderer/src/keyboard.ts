/**
 * Global keyboard shortcuts (the list users see is in components/ShortcutSheet.vue). Ignored while
 * typing in a field (isEditing); undo/redo only while typing text, so they work from a colour picker. Returns the detach function (attach/detach are symmetric).
 */
import { useSessionStore, voxelsOf } from './stores/session'
import { useViewerStore } from './stores/viewer'
import { CT_PRESETS } from './render/window'
import { useEditingStore } from './stores/editing'
import { useFilesStore } from './stores/files'

/** Input types that take no typing at all: every key goes to the shortcuts. */
const NOT_TYPED = ['checkbox', 'radio', 'button', 'submit']
/** Input types with no text of their own to undo (a colour picker, a slider, a file chooser): Ctrl+Z / Ctrl+Y still undo and redo edits. */
const NO_TEXT_UNDO = [...NOT_TYPED, 'color', 'range', 'file', 'reset', 'image']

/** Keys go to a focused text field, number field, list, slider or colour picker, not to the shortcuts. */
function isEditing(el: EventTarget | null): boolean {
  return el instanceof HTMLElement && (el.tagName === 'SELECT' || typesText(el, NOT_TYPED))
}

/** A field whose typing the browser undoes itself (Ctrl+Z there is the field's own undo): text, number, text area, editable content. */
function typesText(el: EventTarget | null, notText = NO_TEXT_UNDO): boolean {
  if (!(el instanceof HTMLElement)) return false
  if (el.tagName === 'TEXTAREA' || el.isContentEditable) return true
  return el instanceof HTMLInputElement && !notText.includes(el.type)
}

/** Ctrl+Z (undo), Ctrl+Shift+Z or Ctrl+Y (redo); Cmd on macOS. */
const isUndoKey = (e: KeyboardEvent): boolean => (e.ctrlKey || e.metaKey) && (e.key === 'z' || e.key === 'Z' || e.key === 'y')

export function attachShortcuts(target: Window): () => void {
  const s = useSessionStore()
  const v = useViewerStore()
  const onKey = (e: KeyboardEvent): void => {
    if (isUndoKey(e) ? typesText(e.target) : isEditing(e.target)) return
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
    else if (isUndoKey(e)) useEditingStore().step(key === 'y' || e.shiftKey)
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
