/**
 * The recent-files list: the paths of the last scans opened, newest first, without repeats, at most
 * MAX_RECENT. Kept in the page's localStorage (the browser build; Electron's File menu has the OS's
 * own list too). Pure apart from the storage handed in.
 */
export const MAX_RECENT = 12
export const RECENT_KEY = 'segtransfer.recent'
/** Longest path kept (the app core's own bound on a path). */
const MAX_PATH = 4096

/** Storage as localStorage offers it (a parameter, so tests need no DOM). */
export interface KeyValueStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

/** The list with `path` first, its older copy removed, cut to `max`. */
export function withRecent(list: readonly string[], path: string, max = MAX_RECENT): string[] {
  return [path, ...list.filter((p) => p !== path)].slice(0, max)
}

/** The stored list; anything malformed (hand-edited, another version) reads as what is valid in it. */
export function loadRecent(store: KeyValueStore): string[] {
  try {
    const v: unknown = JSON.parse(store.getItem(RECENT_KEY) ?? '[]')
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string' && p.length > 0 && p.length <= MAX_PATH).slice(0, MAX_RECENT) : []
  } catch {
    return []
  }
}

export function saveRecent(store: KeyValueStore, list: readonly string[]): void {
  try {
    store.setItem(RECENT_KEY, JSON.stringify(list.slice(0, MAX_RECENT)))
  } catch {
    // A full or disabled storage only costs the list.
  }
}

/** Volume paths of a set of dropped files: companion data files (.img, .raw, .zraw) open through their header. */
export function openablePaths(paths: readonly string[]): string[] {
  const lower = paths.map((p) => p.toLowerCase())
  const hasHeader = (p: string, exts: string[]) => exts.some((e) => lower.includes(p.replace(/\.[^.]+$/, e)))
  return paths.filter((p, i) => {
    const l = lower[i]
    if (l.endsWith('.img')) return !hasHeader(l, ['.hdr'])
    if (l.endsWith('.raw') || l.endsWith('.zraw')) return !hasHeader(l, ['.mhd', '.nhdr'])
    return true
  })
}
