/**
 * IPC handlers: one channel per contract method, each checking the sender and handing the call to the
 * shared app core (api-core.ts), which validates the arguments and answers with an envelope.
 * Only `electron` types are imported here, so tests can register the handlers on a fake registry.
 */
import type { IpcMainInvokeEvent } from 'electron'
import { CHANNELS, type ApiMethod, type HostInfo, type ProgressEvent } from '../shared/contract'
import { createApiCore, dispatch, type ApiCore, type CoreDeps } from '../app-core/api-core'

/** The part of `ipcMain` the handlers need (a plain object in tests). */
export interface IpcRegistry {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void
}

/** The part of a BrowserWindow the handlers need: its webContents, to check senders and send progress. */
export interface IpcWindow {
  webContents: { send(channel: string, payload: ProgressEvent): void }
}

export interface RegisterOptions {
  runWorker: CoreDeps['runWorker']
  runTeachWorker?: CoreDeps['runTeachWorker']
  host?: HostInfo
  addRecent?: (p: string) => void
}

export function registerIpc(ipc: IpcRegistry, win: IpcWindow, opts: RegisterOptions): ApiCore {
  const core = createApiCore({
    host: opts.host ?? { kind: 'electron' },
    runWorker: opts.runWorker,
    runTeachWorker: opts.runTeachWorker,
    addRecent: opts.addRecent,
    emit: (e) => win.webContents.send(CHANNELS.progress, e)
  })
  for (const method of Object.keys(CHANNELS) as (ApiMethod | 'progress')[]) {
    if (method === 'progress') continue
    ipc.handle(CHANNELS[method], async (event, ...args) => {
      // Only our own window may call; anything else (a webview, a stray frame) is refused.
      if (event.sender !== (win.webContents as unknown)) return { ok: false, error: { code: 'BAD_ARGUMENT', message: 'IPC from an unknown sender' } }
      return dispatch(core, method, args)
    })
  }
  return core
}
