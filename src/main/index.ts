/**
 * Electron shell: one secure window, the application menu, and the IPC handlers that serve the
 * shared contract by calling the engine (segmentation itself runs in a worker thread).
 */
import { app, BrowserWindow, Menu, dialog, ipcMain, session } from 'electron'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { CONTENT_SECURITY_POLICY, WEB_PREFERENCES, isAllowedNavigation } from '../app-core/security'
import { registerIpc } from './ipc'
import segmentWorkerPath from '../engine/service/segment-worker?modulePath'
import teachWorkerPath from '../engine/service/teach-worker?modulePath'
import { runSegmentationInWorker, runTeachInWorker } from '../engine/service/run-in-worker'
import readWorkerPath from '../engine/volume/read-worker?modulePath'

// The volume reader decodes in a worker under a deadline; in the built app it loads the compiled
// worker (read-in-worker.ts). Set before any read; inherited by the segmentation worker.
process.env.SEGTRANSFER_READ_WORKER ??= readWorkerPath

function appUrl(): string {
  return process.env.ELECTRON_RENDERER_URL ?? `file://${join(__dirname, '../renderer/index.html')}`
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'SegTransfer',
    webPreferences: { ...WEB_PREFERENCES, preload: join(__dirname, '../preload/index.cjs') }
  })
  win.once('ready-to-show', () => win.show())
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl())) event.preventDefault()
  })
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  if (process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL)
  else void win.loadFile(join(__dirname, '../renderer/index.html'))
  return win
}

function buildMenu(win: BrowserWindow): void {
  const send = (action: string, payload?: unknown) => win.webContents.send('segtransfer:menu', { action, payload })
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      {
        label: 'File',
        submenu: [
          {
            label: 'Open Volume(s)…',
            accelerator: 'CmdOrCtrl+O',
            click: async () => {
              const r = await dialog.showOpenDialog(win, { properties: ['openFile', 'multiSelections'], filters: [{ name: 'Volumes', extensions: ['nii', 'gz', 'nrrd', 'nhdr', 'mha', 'mhd', 'mgz', 'mgh', 'hdr', 'img', 'dcm'] }, { name: 'All files (DICOM)', extensions: ['*'] }] })
              if (!r.canceled) send('open-volumes', r.filePaths)
            }
          },
          {
            // Windows and Linux dialogs pick files or folders, not both: a DICOM folder has its own item.
            label: 'Open DICOM Folder…',
            accelerator: 'CmdOrCtrl+Shift+O',
            click: async () => {
              const r = await dialog.showOpenDialog(win, { properties: ['openDirectory'] })
              if (!r.canceled) send('open-volumes', r.filePaths)
            }
          },
          {
            label: 'Open Model Bundle…',
            accelerator: 'CmdOrCtrl+B',
            click: async () => {
              const r = await dialog.showOpenDialog(win, { properties: ['openDirectory'] })
              if (!r.canceled) send('open-bundle', r.filePaths[0])
            }
          },
          { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => send('export') },
          { role: 'recentDocuments' as const, label: 'Recent Files' },
          { type: 'separator' },
          { role: 'quit' }
        ]
      },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'help', submenu: [{ label: 'Keyboard Shortcuts', click: () => send('shortcuts') }] }
    ])
  )
}

app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
  })
  // Nothing leaves the user's machine: refuse every permission request (camera, geolocation…).
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false))
  const win = createWindow()
  buildMenu(win)
  const defaultBundle = join(app.getAppPath(), 'resources/models/brain-tissue-resunet')
  registerIpc(ipcMain, win, {
    host: { kind: 'electron', ...(existsSync(defaultBundle) ? { defaultBundleDir: defaultBundle } : {}) },
    runWorker: (request, onProgress) => runSegmentationInWorker(segmentWorkerPath, request, onProgress),
    runTeachWorker: (request, onProgress) => runTeachInWorker(teachWorkerPath, request, onProgress),
    addRecent: (path) => app.addRecentDocument(path)
  })
})

// Whatever web contents appear (devtools, a future panel): no webviews, no new windows.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

app.on('window-all-closed', () => app.quit())
