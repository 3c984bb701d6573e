/**
 * The browser-side SegTransferApi: the same contract as Electron's preload, over the local HTTP bridge
 * (src/bridge/server.ts). Runs in the renderer: DOM APIs only (fetch, EventSource), no Node.
 */
import { ApiCallError, BINARY_METHODS, type ApiMethod, type Envelope, type ProgressEvent, type SegTransferApi, type VoxelBuffer, type VoxelType } from '../../../shared/contract'

/** The bridge token from the page's link (`…/#token=…`), when running in a page. */
export function tokenFromLocation(): string {
  // Through globalThis so the file also compiles (and is tested) under Node's types.
  const hash = (globalThis as { location?: { hash: string } }).location?.hash ?? ''
  return new URLSearchParams(hash.replace(/^#/, '')).get('token') ?? ''
}

/**
 * The one way the page calls the bridge (API methods and the files routes): a POST with the token,
 * answered by an envelope, or, with `binary`, by raw voxels. An unreachable bridge and a refusal
 * both become ApiCallError with the envelope's code (INTERNAL when the bridge is gone).
 * @param url the route, e.g. `${base}/api/hostInfo`
 * @param body the request body and its Content-Type
 * @param binary whether an application/octet-stream answer is voxels (BINARY_METHODS)
 */
export async function bridgePost<T>(url: string, token: string, body: { data: string | Blob; type: string }, binary = false): Promise<T> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': body.type, 'X-SegTransfer-Token': token }, body: body.data })
  } catch (e) {
    throw new ApiCallError({ code: 'INTERNAL', message: `the SegTransfer bridge is not reachable (${(e as Error).message}); is it still running?` })
  }
  if (binary && (res.headers.get('Content-Type') ?? '').startsWith('application/octet-stream')) {
    const buf: VoxelBuffer = { dtype: res.headers.get('X-Voxel-Type') as VoxelType, data: await res.arrayBuffer() }
    return buf as T
  }
  const env = (await res.json()) as Envelope<T>
  if (env.ok) return env.value
  throw new ApiCallError(env.error)
}

/**
 * @param base the bridge origin ('' = the page's own)
 * @param token the bridge's API token (default: from the page's `#token=…`)
 */
export function createHttpApi(base = '', token = tokenFromLocation()): SegTransferApi {
  const call = <T>(method: ApiMethod, ...args: unknown[]): Promise<T> =>
    bridgePost<T>(`${base}/api/${method}`, token, { data: JSON.stringify({ args }), type: 'application/json' }, BINARY_METHODS.includes(method))

  const listeners = new Set<(e: ProgressEvent) => void>()
  let source: EventSource | undefined

  return {
    hostInfo: () => call('hostInfo'),
    openVolumes: (paths, choices) => call('openVolumes', paths, ...(choices ? [choices] : [])),
    listSeries: (p) => call('listSeries', p),
    readVoxels: (id) => call('readVoxels', id),
    closeVolume: (id) => call('closeVolume', id),
    openBundle: (dir) => call('openBundle', dir),
    segment: (req) => call('segment', req),
    cancel: () => call('cancel'),
    readLabels: (runId, volumeId) => call('readLabels', runId, ...(volumeId ? [volumeId] : [])),
    exportRun: (runId, kind, out, options) => call('exportRun', runId, kind, out, options ?? {}),
    forgetRun: (runId) => call('forgetRun', runId),
    putEditedLabels: (edit) => call('putEditedLabels', edit),
    interpolateLabels: (req) => call('interpolateLabels', req),
    loadLabelFile: (volumeId, path, options) => call('loadLabelFile', volumeId, path, options),
    summarizeBase: (dir) => call('summarizeBase', dir),
    teach: (req) => call('teach', req),
    saveTaught: (teachId, out, options) => call('saveTaught', teachId, out, options ?? {}),
    onProgress(listener) {
      listeners.add(listener)
      if (!source) {
        source = new EventSource(`${base}/api/events?token=${encodeURIComponent(token)}`)
        source.onmessage = (m: MessageEvent) => {
          const e = JSON.parse(m.data as string) as ProgressEvent
          for (const l of listeners) l(e)
        }
      }
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0) {
          source?.close()
          source = undefined
        }
      }
    }
  }
}
