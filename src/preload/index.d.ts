import type { SegTransferApi } from '../shared/contract'

export interface MenuEvent {
  action: 'open-volumes' | 'open-bundle' | 'export' | 'shortcuts'
  payload?: unknown
}

declare global {
  interface Window {
    /** Present in Electron (the preload); absent in the browser build, which uses the HTTP bridge. */
    segtransfer?: SegTransferApi
    segtransferMenu?: { onMenu(listener: (e: MenuEvent) => void): () => void; pathForFile?(file: File): string }
  }
}
