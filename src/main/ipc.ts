/**
 * IPC handlers: validate, call the engine, return plain data. Errors cross as {code, message}.
 */
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import segmentWorkerPath from '../engine/service/segment-worker?modulePath'
import { CHANNELS, type BundleInfo, type SegmentSummary, type VolumeInfo } from '../shared/contract'
import { validateIpcArgs, type IpcMethod } from './ipc-validation'
import { isSegError, SegError } from '../engine/errors'
import { readVolume } from '../engine/volume/read'
import { orientationOf } from '../engine/volume/orientation'
import { loadBundle } from '../engine/bundle/bundle'
import { runSegmentationInWorker, type WorkerRun, type WorkerResult } from '../engine/service/run-in-worker'
import { labelStatistics, writeLabelMap } from '../engine/export'

export function registerIpc(ipc: IpcMain, win: BrowserWindow, addRecent: (p: string) => void): void {
  const volumes = new Map<string, VolumeInfo>()
  const runs = new Map<string, { result: WorkerResult; inputs: string[] }>()
  let current: WorkerRun | undefined

  const handle = <M extends IpcMethod>(method: M, fn: (...args: any[]) => Promise<unknown>) => {
    ipc.handle(CHANNELS[method], async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      if (event.sender !== win.webContents) throw new Error('IPC from an unknown sender')
      try {
        return { ok: true, value: await fn(...(validateIpcArgs(method, args) as unknown[])) }
      } catch (e) {
        return { ok: false, error: isSegError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String((e as Error)?.message ?? e) } }
      }
    })
  }

  handle('openVolumes', async (paths: string[]) => {
    const out: VolumeInfo[] = []
    for (const p of paths) {
      const v = await readVolume(p)
      let min = Infinity
      let max = -Infinity
      for (let i = 0; i < v.data.length; i++) {
        if (v.data[i] < min) min = v.data[i]
        if (v.data[i] > max) max = v.data[i]
      }
      const info: VolumeInfo = { id: randomUUID(), path: p, name: path.basename(p), size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, orientation: orientationOf(v), range: [min, max], notes: v.source?.notes ?? [] }
      volumes.set(info.id, info)
      addRecent(p)
      out.push(info)
    }
    return out
  })

  handle('openBundle', async (dir: string): Promise<BundleInfo> => {
    const b = await loadBundle(dir)
    const m = b.manifest
    return { dir: b.dir, name: m.name, description: m.description, channels: m.channels.map((c) => ({ name: c.name, modality: c.modality })), labels: m.output.labels, classes: m.classification?.classes }
  })

  handle('segment', async (req: { bundleDir: string; volumeIds: string[]; device: 'auto' }): Promise<SegmentSummary> => {
    const inputs = req.volumeIds.map((id) => {
      const v = volumes.get(id)
      if (!v) throw new SegError('BAD_ARGUMENT', `volume ${id} is not open; open it first`)
      return v.path
    })
    const runId = randomUUID()
    const t0 = Date.now()
    current = runSegmentationInWorker(segmentWorkerPath, { bundleDir: req.bundleDir, inputs, device: req.device }, (p) =>
      win.webContents.send(CHANNELS.progress, { runId, ...p })
    )
    const result = await current.result.finally(() => (current = undefined))
    runs.set(runId, { result, inputs })
    const bundle = await loadBundle(req.bundleDir)
    const names = Object.fromEntries(bundle.manifest.output.labels.map((l) => [l.value, l.name]))
    const stats = labelStatistics(result.labels, names).map((s) => ({ value: s.value, name: s.name, voxels: s.voxels, volumeMl: s.volumeMl }))
    return { runId, provider: result.provider, notes: result.notes, elapsedMs: Date.now() - t0, stats, classification: result.classification }
  })

  handle('cancel', async () => current?.cancel())

  handle('exportLabels', async (runId: string, outPath: string) => {
    const run = runs.get(runId)
    if (!run) throw new SegError('BAD_ARGUMENT', `no segmentation ${runId} to export; run the model first`)
    await writeLabelMap(run.result.labels, outPath, { like: run.result.reference, inputs: run.inputs })
    return outPath
  })
}
