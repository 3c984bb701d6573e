/**
 * The only bridge between the sandboxed renderer and the app: the typed contract, nothing more
 * (src/shared/ipc-client.ts over ipcRenderer), plus File-menu actions and dropped-file paths.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import type { ProgressEvent } from '../shared/contract'
import { createIpcApi } from '../shared/ipc-client'

const api = createIpcApi(
  (channel, ...args) => ipcRenderer.invoke(channel, ...args),
  (channel, listener) => {
    const wrapped = (_e: unknown, p: ProgressEvent) => listener(p)
    ipcRenderer.on(channel, wrapped)
    return () => ipcRenderer.off(channel, wrapped)
  }
)

export interface MenuEvent {
  action: 'open-volumes' | 'open-bundle' | 'export' | 'shortcuts'
  payload?: unknown
}

const menu = {
  /** The local path of a dropped File (Electron removed File.path; webUtils is the supported way). */
  pathForFile: (file: File): string => webUtils.getPathForFile(file),
  onMenu(listener: (e: MenuEvent) => void): () => void {
    const wrapped = (_e: unknown, m: MenuEvent) => listener(m)
    ipcRenderer.on('segtransfer:menu', wrapped)
    return () => ipcRenderer.off('segtransfer:menu', wrapped)
  }
}

contextBridge.exposeInMainWorld('segtransfer', api)
contextBridge.exposeInMainWorld('segtransferMenu', menu)
