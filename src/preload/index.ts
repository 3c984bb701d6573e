/**
 * The only bridge between the sandboxed renderer and the app: the typed contract, nothing more.
 * Menu actions (open, export, shortcuts) arrive on one extra read-only subscription.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { CHANNELS, type Envelope, type ProgressEvent, type SegTransferApi } from '../shared/contract'

async function call<T>(channel: string, ...args: unknown[]): Promise<T> {
  const r = (await ipcRenderer.invoke(channel, ...args)) as Envelope<T>
  if (r.ok) return r.value
  // Errors lose their class across contextBridge; the message is the engine's one line.
  throw Object.assign(new Error(r.error.message), { code: r.error.code })
}

const api: SegTransferApi = {
  hostInfo: () => call(CHANNELS.hostInfo),
  openVolumes: (paths) => call(CHANNELS.openVolumes, paths),
  readVoxels: (id) => call(CHANNELS.readVoxels, id),
  openBundle: (dir) => call(CHANNELS.openBundle, dir),
  segment: (req) => call(CHANNELS.segment, req),
  cancel: () => call(CHANNELS.cancel),
  readLabels: (runId) => call(CHANNELS.readLabels, runId),
  exportRun: (runId, kind, out) => call(CHANNELS.exportRun, runId, kind, out),
  onProgress: (listener) => {
    const wrapped = (_e: unknown, p: ProgressEvent) => listener(p)
    ipcRenderer.on(CHANNELS.progress, wrapped)
    return () => ipcRenderer.off(CHANNELS.progress, wrapped)
  }
}

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
