import { defineStore } from 'pinia'
import { bridgeFiles } from '../api'
import type { FolderListing } from '../../../shared/folder-listing'
import { newBatchId } from '../host/files-client'
import { loadRecent, openablePaths, saveRecent, withRecent } from '../workspace/recent'
import { useSessionStore } from './session'
import { SegError } from '../../../shared/errors'

/**
 * Opening files without typing paths: the bridge's file browser (browser build), files dropped on
 * the window (uploaded to the bridge, or by path in Electron) and the recent-files list.
 */
export const useFilesStore = defineStore('files', {
  state: () => ({
    /** The listing the file browser shows; undefined while it is closed. */
    listing: undefined as FolderListing | undefined,
    recent: loadRecent(localStorage)
  }),
  getters: {
    canBrowse: (): boolean => !!bridgeFiles
  },
  actions: {
    /** Opens the file browser at `path` (default: the allowed roots). */
    async browse(path = ''): Promise<void> {
      const s = useSessionStore()
      const listing = await s.guard('listing', () => bridgeFiles!.list(path))
      if (listing) this.listing = listing
    },
    close(): void {
      this.listing = undefined
    },
    /** A scan file, or a DICOM folder, chosen in the browser. */
    async open(path: string): Promise<void> {
      this.listing = undefined
      await useSessionStore().openVolumes([path])
    },
    async openBundle(path: string): Promise<void> {
      this.listing = undefined
      await useSessionStore().openBundle(path)
    },
    /** Dropped files: Electron gives their paths; the browser build uploads them (one folder per drop) and opens the copies. */
    async drop(files: File[], pathOf: (f: File) => string): Promise<void> {
      const s = useSessionStore()
      const local = files.map(pathOf).filter(Boolean)
      if (local.length) return s.openVolumes(openablePaths(local))
      if (!bridgeFiles) return s.fail(new SegError('BAD_ARGUMENT', 'the dropped file has no path on this machine; open it with File ▸ Open instead'))
      const batch = newBatchId()
      const paths = await s.guard('uploading', async () => {
        const out: string[] = []
        for (const f of files) out.push(await bridgeFiles!.upload(f, f.name, batch))
        return out
      })
      if (paths) await s.openVolumes(openablePaths(paths))
    },
    remember(path: string): void {
      this.recent = withRecent(this.recent, path)
      saveRecent(localStorage, this.recent)
    }
  }
})
