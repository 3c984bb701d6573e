/** The recent-files list (bounded, newest first, no repeats, robust to a bad stored value) and which dropped files open. */
import { describe, expect, it } from 'vitest'
import { loadRecent, MAX_RECENT, openablePaths, RECENT_KEY, saveRecent, withRecent, type KeyValueStore } from '../../src/renderer/src/workspace/recent'

const memory = (init: Record<string, string> = {}): KeyValueStore & { data: Record<string, string> } => ({
  data: init,
  getItem(k) { return this.data[k] ?? null },
  setItem(k, v) { this.data[k] = v }
})

describe('recent files', () => {
  it('keeps the newest first, without repeats, at most MAX_RECENT', () => {
    let list: string[] = []
    for (let i = 0; i < MAX_RECENT + 5; i++) list = withRecent(list, `/s/${i}.nii`)
    list = withRecent(list, '/s/10.nii')
    expect(list.length).toBe(MAX_RECENT)
    expect(list.slice(0, 3)).toEqual(['/s/10.nii', '/s/16.nii', '/s/15.nii'])
    expect(new Set(list).size).toBe(list.length)
  })

  it('round-trips through storage and reads a malformed value as what is valid in it', () => {
    const store = memory()
    saveRecent(store, ['/a.nii', '/b.nii'])
    expect(loadRecent(store)).toEqual(['/a.nii', '/b.nii'])
    expect(loadRecent(memory({ [RECENT_KEY]: '{not json' }))).toEqual([])
    expect(loadRecent(memory({ [RECENT_KEY]: '{"a":1}' }))).toEqual([])
    expect(loadRecent(memory({ [RECENT_KEY]: JSON.stringify(['/ok.nii', 3, '', 'x'.repeat(5000)]) }))).toEqual(['/ok.nii'])
  })
})

describe('dropped files', () => {
  it('open through their headers: .img beside .hdr and .raw beside .mhd are data, not scans', () => {
    expect(openablePaths(['/u/a.hdr', '/u/a.img', '/u/b.mhd', '/u/b.raw', '/u/c.img', '/u/d.nii.gz'])).toEqual(['/u/a.hdr', '/u/b.mhd', '/u/c.img', '/u/d.nii.gz'])
  })
})
