/**
 * One set of assertions, run against both implementations of SegTransferApi: Electron's IPC handlers
 * (registered on a fake ipcMain, called as the preload calls them) and the browser build's HTTP bridge
 * (called through the browser client, with Node's fetch). Both run the real engine in a worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { registerIpc } from '../../src/main/ipc'
import { startBridge, tsxWorker, type Bridge } from '../../src/bridge/server'
import { createHttpApi } from '../../src/renderer/src/host/http-client'
import { createBridgeFiles } from '../../src/renderer/src/host/files-client'
import { CHANNELS, type Envelope, type ProgressEvent, type SegTransferApi } from '../../src/shared/contract'
import { createIpcApi } from '../../src/shared/ipc-client'
import { readVolume } from '../../src/engine/volume/read'

type Handler = (event: { sender: unknown }, ...args: unknown[]) => Promise<unknown>

/** The Electron side without Electron: handlers on a Map, called through the preload's own client. */
function ipcApi(): { api: SegTransferApi; handlers: Map<string, Handler>; sender: unknown } {
  const handlers = new Map<string, Handler>()
  const progress = new Set<(e: ProgressEvent) => void>()
  const win = { webContents: { send: (_c: string, e: ProgressEvent) => progress.forEach((l) => l(e)) } }
  registerIpc({ handle: (ch, fn) => handlers.set(ch, fn as Handler) }, win, { runWorker: tsxWorker })
  const api = createIpcApi(
    (ch, ...args) => handlers.get(ch)!({ sender: win.webContents }, ...args),
    (_ch, l) => (progress.add(l), () => progress.delete(l))
  )
  return { api, handlers, sender: win.webContents }
}

const tmp = tempDir('segtransfer-contract-')
let bundleDir = ''
let bridge: Bridge
const ipc = ipcApi()

beforeAll(async () => {
  bundleDir = join(tmp.dir, 'bundle')
  await conv3Bundle(bundleDir, { channels: [{ name: 'CT', modality: 'CT', normalization: { kind: 'window', lower: -57, upper: 164 } }] })
  bridge = await startBridge({ port: 0 })
})
afterAll(async () => {
  await bridge?.close()
  tmp.cleanup()
})

const impls: [string, () => SegTransferApi][] = [
  ['electron ipc', () => ipc.api],
  ['http bridge', () => createHttpApi(bridge.origin, bridge.token)]
]

describe.each(impls)('SegTransferApi over %s', (name, get) => {
  it('opens a volume and returns its grid and voxels', async () => {
    const api = get()
    const [v] = await api.openVolumes([data('ct/spleen_ct.nii.gz')])
    expect(v.size).toEqual([164, 166, 26])
    expect(v.dtype).toBe('float32')
    expect(v.orientation).toHaveLength(3)
    const vox = await api.readVoxels(v.id)
    expect(vox.dtype).toBe('float32')
    expect(vox.data.byteLength).toBe(164 * 166 * 26 * 4)
    const f = new Float32Array(vox.data)
    expect(Math.min(...f.subarray(0, 5000))).toBeGreaterThanOrEqual(v.range[0])
  })

  it('rejects invalid arguments and unknown files with one line', async () => {
    const api = get()
    await expect(api.openVolumes([])).rejects.toThrow(/^invalid arguments to openVolumes: 0: .*$/)
    await expect(api.readVoxels('../../etc/passwd')).rejects.toThrow(/invalid arguments to readVoxels/)
    await expect(api.exportRun('abc', 'video' as 'labels', '/tmp/x')).rejects.toThrow(/invalid arguments to exportRun: 1/)
    await expect(api.openVolumes(['/nonexistent/scan.nii.gz'])).rejects.toThrow(/scan\.nii\.gz/)
    await expect(api.readLabels('no-such-run')).rejects.toThrow(/run the model first/)
  })

  it('segments with progress, reads the labels, exports mask and statistics', async () => {
    const api = get()
    const host = await api.hostInfo()
    expect(host.kind).toBe(name === 'electron ipc' ? 'electron' : 'browser')
    const [v] = await api.openVolumes([data('ct/spleen_ct.nii.gz')])
    const b = await api.openBundle(bundleDir)
    expect(b.channels).toEqual([{ name: 'CT', modality: 'CT' }])
    const events: ProgressEvent[] = []
    const off = name === 'electron ipc' ? api.onProgress((e) => events.push(e)) : () => {}
    const run = await api.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })
    off()
    if (name === 'electron ipc') expect(events.at(-1)?.fraction).toBe(1)
    expect(run.provider).toMatch(/cpu/i)
    expect(run.volumeId).toBe(v.id)
    const labels = await api.readLabels(run.runId)
    expect(labels.data.byteLength).toBe(164 * 166 * 26 * (labels.dtype === 'uint8' ? 1 : 2))
    const out = join(tmp.dir, `${name.replace(' ', '-')}-mask.nii.gz`)
    expect(await api.exportRun(run.runId, 'labels', out)).toBe(out)
    const mask = await readVolume(out)
    let fg = 0
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] === 1) fg++
    const stat = run.stats.find((s) => s.value === 1)!
    expect(stat.voxels).toBe(fg)
    expect(stat.volumeMl).toBeCloseTo((fg * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000, 6)
    const csv = join(tmp.dir, `${name.replace(' ', '-')}-stats.csv`)
    await api.exportRun(run.runId, 'statistics', csv)
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toMatch(/value/)
    const obj = join(tmp.dir, `${name.replace(' ', '-')}-surface.obj`)
    await api.exportRun(run.runId, 'mesh', obj)
    const text = readFileSync(obj, 'utf8')
    expect(text).toMatch(/^o class_1$/m)
    expect(text).toMatch(/SPACE=LPS/)
    await expect(api.exportRun(run.runId, 'labels', data('ct/spleen_ct.nii.gz'))).rejects.toThrow()
    expect(existsSync(data('ct/spleen_ct.nii.gz'))).toBe(true)
  })

  it('cancels a running segmentation with a one-line CANCELLED error, then runs again', async () => {
    const api = get()
    const [v] = await api.openVolumes([data('ct/spleen_ct.nii.gz')])
    const run = api.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })
    await new Promise((r) => setTimeout(r, 50))
    await api.cancel()
    await expect(run).rejects.toThrow(/cancelled by the user/)
    const again = await api.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })
    expect(again.stats.length).toBeGreaterThan(0)
  })
})

describe('transport guards', () => {
  it('IPC handlers refuse a foreign sender', async () => {
    const r = (await ipc.handlers.get(CHANNELS.hostInfo)!({ sender: {} })) as Envelope<unknown>
    expect(r).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'IPC from an unknown sender' } })
  })

  it('the browser client says so when the bridge is gone', async () => {
    await expect(createHttpApi('http://127.0.0.1:9', 'x').hostInfo()).rejects.toThrow(/bridge is not reachable/)
  })

  it("the page's files client turns a gone bridge and a refused listing into the same coded errors as the API client", async () => {
    const gone = /^the SegTransfer bridge is not reachable \(.+\); is it still running\?$/
    await expect(createBridgeFiles('http://127.0.0.1:9', 'x').list()).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(gone) })
    await expect(createHttpApi('http://127.0.0.1:9', 'x').hostInfo()).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(gone) })
    const files = createBridgeFiles(bridge.origin, bridge.token)
    await expect(files.list(join(tmp.dir, 'not-a-root'))).rejects.toMatchObject({ name: 'ApiCallError', code: 'FILE_NOT_FOUND' })
    expect((await files.list()).path).toBe('') // the roots: a call that succeeds goes the same way
  })

  it('the bridge streams progress as server-sent events', async () => {
    const ctrl = new AbortController()
    const res = await fetch(`${bridge.origin}/api/events?token=${bridge.token}`, { signal: ctrl.signal })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = res.body!.getReader()
    const api = createHttpApi(bridge.origin, bridge.token)
    const [v] = await api.openVolumes([data('ct/spleen_ct.nii.gz')])
    const done = api.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })
    let text = ''
    await done
    while (!text.includes('"fraction":1')) {
      const r = await reader.read()
      if (r.done) break
      text += new TextDecoder().decode(r.value)
    }
    ctrl.abort()
    expect(text).toMatch(/data: \{"runId":"[0-9a-f-]+","stage":"read"/)
  })

  it('the bridge refuses calls without its token, cross-origin, non-JSON and foreign-Host requests', async () => {
    const post = (headers: Record<string, string>) => fetch(`${bridge.origin}/api/hostInfo`, { method: 'POST', headers, body: '{"args":[]}' })
    const t = { 'X-SegTransfer-Token': bridge.token }
    expect((await post({ 'Content-Type': 'application/json' })).status).toBe(401)
    expect((await post({ 'Content-Type': 'application/json', 'X-SegTransfer-Token': bridge.token.slice(1) })).status).toBe(401)
    expect((await fetch(`${bridge.origin}/api/events?token=nope`)).status).toBe(401)
    expect((await post({ ...t, 'Content-Type': 'text/plain' })).status).toBe(415)
    expect((await post({ ...t, 'Content-Type': 'application/json', Origin: 'https://evil.example' })).status).toBe(403)
    expect((await post({ ...t, 'Content-Type': 'application/json' })).status).toBe(200)
    expect(bridge.url).toBe(`${bridge.origin}/#token=${bridge.token}`)
    const http = await import('node:http')
    const status = await new Promise<number>((resolve) => {
      http.get(`${bridge.origin}/`, { headers: { Host: 'evil.example' } }, (r) => resolve(r.statusCode ?? 0))
    })
    expect(status).toBe(403)
  })
})
