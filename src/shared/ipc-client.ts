/**
 * The renderer side of the IPC transport, independent of Electron: the preload passes
 * `ipcRenderer.invoke` and a subscription function, the contract test passes a fake. So the test
 * exercises exactly the code the preload runs.
 */
import { CHANNELS, type Envelope, type ProgressEvent, type SegTransferApi } from './contract'

export type Invoke = (channel: string, ...args: unknown[]) => Promise<unknown>
export type Subscribe = (channel: string, listener: (payload: ProgressEvent) => void) => () => void

export function createIpcApi(invoke: Invoke, subscribe: Subscribe): SegTransferApi {
  async function call<T>(channel: string, ...args: unknown[]): Promise<T> {
    const r = (await invoke(channel, ...args)) as Envelope<T>
    if (r.ok) return r.value
    // A plain Error: class identity does not survive contextBridge; the message is the engine's one line.
    throw Object.assign(new Error(r.error.message), { code: r.error.code })
  }
  return {
    hostInfo: () => call(CHANNELS.hostInfo),
    openVolumes: (paths, choices) => call(CHANNELS.openVolumes, paths, ...(choices ? [choices] : [])),
    listSeries: (p) => call(CHANNELS.listSeries, p),
    readVoxels: (id) => call(CHANNELS.readVoxels, id),
    closeVolume: (id) => call(CHANNELS.closeVolume, id),
    openBundle: (dir) => call(CHANNELS.openBundle, dir),
    segment: (req) => call(CHANNELS.segment, req),
    cancel: () => call(CHANNELS.cancel),
    readLabels: (runId, volumeId) => call(CHANNELS.readLabels, runId, ...(volumeId ? [volumeId] : [])),
    exportRun: (runId, kind, out, options) => call(CHANNELS.exportRun, runId, kind, out, options ?? {}),
    forgetRun: (runId) => call(CHANNELS.forgetRun, runId),
    putEditedLabels: (edit) => call(CHANNELS.putEditedLabels, edit),
    interpolateLabels: (req) => call(CHANNELS.interpolateLabels, req),
    loadLabelFile: (volumeId, path, options) => call(CHANNELS.loadLabelFile, volumeId, path, options),
    summarizeBase: (dir) => call(CHANNELS.summarizeBase, dir),
    teach: (req) => call(CHANNELS.teach, req),
    saveTaught: (teachId, out, options) => call(CHANNELS.saveTaught, teachId, out, options ?? {}),
    onProgress: (listener) => subscribe(CHANNELS.progress, listener)
  }
}
