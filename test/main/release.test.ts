/**
 * The app core releases what the renderer drops: closeVolume and forgetRun free the voxels (the
 * process's ArrayBuffer memory returns to where it started), both transports carry them, and the
 * core refuses to hold more than its budget with a message that says to close something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { data, tempDir } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { registerIpc } from '../../src/main/ipc'
import { startBridge, tsxWorker, type Bridge } from '../../src/bridge/server'
import { createHttpApi } from '../../src/renderer/src/host/http-client'
import { createIpcApi } from '../../src/shared/ipc-client'
import type { SegTransferApi } from '../../src/shared/contract'

const T1 = data('mri/t1_crop.nii.gz') // 256³ uint8: 16.8 MB of voxels
const T1_BYTES = 256 ** 3
/** The repro is 64 opens (1.07 GB, 50 s here: each open decodes the file); 16 show the same leak or release 4× faster. */
const OPENS = 16

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
/**
 * Off-heap bytes of the process once garbage is collected (V8 sweeps array buffers concurrently: let
 * it finish). `external`, not `arrayBuffers`: voxels decoded in the reader's worker thread arrive by
 * transfer, and their backing store stays on the worker allocator's `arrayBuffers` count.
 */
async function arrayBuffers(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 20))
  }
  return process.memoryUsage().external
}

const core = () => createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })

const tmp = tempDir('segtransfer-release-')
let bundleDir = ''
let bridge: Bridge
beforeAll(async () => {
  bundleDir = join(tmp.dir, 'bundle')
  await conv3Bundle(bundleDir, { classes: 3 })
  bridge = await startBridge({ port: 0 })
})
afterAll(async () => {
  await bridge?.close()
  tmp.cleanup()
})

describe('app core releases volumes and runs', () => {
  it(`${OPENS} opens of one 256³ volume hold ${OPENS} × 16.8 MB; closing them returns off-heap memory to where it started`, async () => {
    const c = core()
    const start = await arrayBuffers()
    const ids: string[] = []
    for (let i = 0; i < OPENS; i++) ids.push(...(await c.openVolumes([T1])).map((v) => v.id))
    expect(c.heldBytes()).toBe(OPENS * T1_BYTES)
    expect((await arrayBuffers()) - start).toBeGreaterThan((OPENS - 2) * T1_BYTES)
    for (const id of ids) await c.closeVolume(id)
    expect(c.heldBytes()).toBe(0)
    expect((await arrayBuffers()) - start).toBeLessThan(2 * T1_BYTES)
    await expect(c.readVoxels(ids[0])).rejects.toThrow(/is not open; open it first/)
    await c.closeVolume(ids[0]) // harmless twice
  })

  it('refuses to hold more than its budget, saying to close something; after a close it opens again', async () => {
    const c = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined, maxHeldBytes: 2.5 * T1_BYTES })
    const [a] = await c.openVolumes([T1])
    await c.openVolumes([T1])
    const refused = await dispatch(c, 'openVolumes', [[T1]])
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    expect(refused.error.code).toBe('TOO_LARGE')
    expect(refused.error.message).toMatch(/^opening t1_crop\.nii\.gz needs 16\.8 MB but the app already holds 33\.6 MB in 2 open volume\(s\) and 0 result\(s\) \(limit 41\.9 MB, .*\); close a volume or a result first$/)
    await c.closeVolume(a.id)
    expect(await c.openVolumes([T1])).toHaveLength(1)
  })

  it('refuses a segmentation whose result would not fit, before running it', async () => {
    const c = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined, maxHeldBytes: 1.5 * T1_BYTES })
    const [v] = await c.openVolumes([T1])
    const r = await dispatch(c, 'segment', [{ bundleDir, volumeIds: [v.id], device: 'cpu' }])
    expect(r.ok || r.error.message).toMatch(/^keeping the result of this segmentation needs 16\.8 MB but the app already holds 16\.8 MB in 1 open volume\(s\) and 0 result\(s\)/)
  })

  it('forgetRun frees a run’s label map; its id is unknown afterwards', async () => {
    const c = core()
    const [v] = await c.openVolumes([data('mri/FLAIR.nii.gz')])
    const run = await c.segment({ bundleDir, volumeIds: [v.id], device: 'cpu' })
    const volumeBytes = c.heldBytes()
    expect((await c.readLabels(run.runId)).data.byteLength).toBeGreaterThan(0)
    await c.forgetRun(run.runId)
    expect(c.heldBytes()).toBeLessThan(volumeBytes)
    expect(c.heldBytes()).toBe((await c.readVoxels(v.id)).data.byteLength)
    await expect(c.readLabels(run.runId)).rejects.toThrow(/run the model first/)
  })

  const ipcApi = (): SegTransferApi => ipcHost().api
  /** Electron's IPC without Electron: the handlers on a Map, called through the preload's own client; also the core behind them. */
  function ipcHost(): { api: SegTransferApi; core: ApiCore } {
    const handlers = new Map<string, (e: { sender: unknown }, ...a: unknown[]) => Promise<unknown>>()
    const win = { webContents: { send: () => undefined } }
    const core = registerIpc({ handle: (ch, fn) => handlers.set(ch, fn as never) }, win, { runWorker: tsxWorker })
    return { api: createIpcApi((ch, ...args) => handlers.get(ch)!({ sender: win.webContents }, ...args), () => () => undefined), core }
  }

  interface SessionStore {
    run?: { runId: string }
    activeId: string
    activeScan?: { segmentations: { runId: string }[] }
    openVolumes(paths: string[]): Promise<void>
    openBundle(dir: string): Promise<void>
    runModel(): Promise<void>
    removeSegmentation(runId: string): Promise<void>
    closeScan(volumeId: string): Promise<void>
  }
  it('the renderer’s session store keeps every result of a scan, and frees what it removes or closes', async () => {
    const { api, core: c } = ipcHost()
    ;(globalThis as { window?: unknown }).window = { segtransfer: api }
    const { createPinia, setActivePinia } = await import('pinia')
    setActivePinia(createPinia())
    // The store is renderer code (web tsconfig, DOM types): imported by a runtime path, typed by what the test uses.
    const storePath = '../../src/renderer/src/stores/session'
    const { useSessionStore } = (await import(/* @vite-ignore */ storePath)) as { useSessionStore: () => SessionStore }
    const store = useSessionStore()
    await store.openVolumes([data('mri/FLAIR.nii.gz')])
    const volumeBytes = c.heldBytes()
    await store.openBundle(bundleDir)
    await store.runModel()
    const first = store.run!.runId
    const runBytes = c.heldBytes() - volumeBytes
    await store.runModel()
    expect(store.run!.runId).not.toBe(first)
    expect(store.activeScan!.segmentations.map((x) => x.runId)).toEqual([first, store.run!.runId])
    expect(c.heldBytes()).toBe(volumeBytes + 2 * runBytes)
    await store.removeSegmentation(first)
    await expect(api.readLabels(first)).rejects.toThrow(/run the model first/)
    expect(c.heldBytes()).toBe(volumeBytes + runBytes)
    await store.closeScan(store.activeId)
    expect(c.heldBytes()).toBe(0)
    expect(store.run).toBeUndefined()
  })
  it.each([
    ['electron ipc', ipcApi],
    ['http bridge', () => createHttpApi(bridge.origin, bridge.token)]
  ])('closeVolume and forgetRun cross %s and validate their ids', async (_name, get) => {
    const api = get()
    const [v] = await api.openVolumes([data('mri/FLAIR.nii.gz')])
    await api.closeVolume(v.id)
    await expect(api.readVoxels(v.id)).rejects.toThrow(/is not open/)
    await api.forgetRun('no-such-run')
    await expect(api.closeVolume('../etc/passwd')).rejects.toThrow(/invalid arguments to closeVolume/)
  })
})
