/**
 * The only bridge between the sandboxed renderer and the app: the typed contract, nothing more.
 */
import { contextBridge, ipcRenderer } from 'electron'
import { CHANNELS, type ProgressEvent, type SegTransferApi } from '../shared/contract'

async function call<T>(channel: string, ...args: unknown[]): Promise<T> {
  const r = (await ipcRenderer.invoke(channel, ...args)) as { ok: true; value: T } | { ok: false; error: { code: string; message: string } }
  if (r.ok) return r.value
  throw Object.assign(new Error(r.error.message), { code: r.error.code })
}

const api: SegTransferApi = {
  openVolumes: (paths) => call(CHANNELS.openVolumes, paths),
  openBundle: (dir) => call(CHANNELS.openBundle, dir),
  segment: (req) => call(CHANNELS.segment, req),
  cancel: () => call(CHANNELS.cancel),
  exportLabels: (runId, out) => call(CHANNELS.exportLabels, runId, out),
  onProgress: (listener) => {
    const wrapped = (_e: unknown, p: ProgressEvent) => listener(p)
    ipcRenderer.on(CHANNELS.progress, wrapped)
    return () => ipcRenderer.off(CHANNELS.progress, wrapped)
  }
}

contextBridge.exposeInMainWorld('segtransfer', api)
