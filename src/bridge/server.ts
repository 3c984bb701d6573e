/**
 * The browser build's host: a small local HTTP server that serves the built renderer and the same
 * SegTransferApi as Electron's IPC, by handing every call to the shared app core (src/app-core/api-core.ts,
 * which validates arguments with the zod schemas of src/app-core/validation.ts).
 *
 * Wire format (see docs/ui.md):
 *   POST /api/<method>   body {"args": [...]} (application/json) → JSON envelope {ok, value | error};
 *                        readVoxels/readLabels answer raw bytes (application/octet-stream) with the
 *                        voxel type in `X-Voxel-Type`, or a JSON envelope on failure.
 *   GET  /api/events     server-sent events: one `data:` line per ProgressEvent.
 *   POST /api/files/list    {"path"} (JSON) → envelope of a FolderListing, confined to the allowed roots.
 *   POST /api/files/upload?name=&batch=   the file's bytes (application/octet-stream, bounded) → envelope
 *                        {path} of the copy in the bridge's upload folder (files.ts).
 *   GET  /*              the static renderer (index.html for unknown paths).
 *
 * Local only: it binds 127.0.0.1, refuses other Host headers (DNS rebinding) and cross-origin calls,
 * and takes JSON bodies only (a foreign page cannot send one without a CORS preflight we never grant).
 * Every API call must carry the bridge's random token (header `X-SegTransfer-Token`, or `?token=` for
 * the event stream), which only the link printed at start-up holds (`#token=…`, as Jupyter does):
 * another user or process on the same machine cannot read scans through it.
 */
import http from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdtempSync, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { BINARY_METHODS, type ApiMethod, type HostInfo, type ProgressEvent, type VoxelBuffer } from '../shared/contract'
import { createApiCore, dispatch, type CoreDeps } from '../app-core/api-core'
import { CONTENT_SECURITY_POLICY } from '../app-core/security'
import { runSegmentationInWorker, runTeachInWorker } from '../engine/service/run-in-worker'
import { errorOf, isSegError, SegError } from '../engine/errors'
import { DEFAULT_MAX_UPLOAD, defaultRoots, listFolder, MAX_UPLOAD_LIMIT, realRoots, saveUpload } from './files'
import type { TeachWorkerRunner } from '../app-core/teach'

export interface BridgeOptions {
  /** 0 picks a free port. */
  port: number
  /** The built renderer (vite build of vite.browser.config.ts); omit to serve the API only. */
  staticDir?: string
  /** A bundle folder the UI offers first. */
  defaultBundleDir?: string
  /** The API token; default: 24 random bytes. */
  token?: string
  /** Override how segmentations run (tests); default: the engine's worker through tsx. */
  runWorker?: CoreDeps['runWorker']
  /** Folders the file browser may show; default: the user's home folder. */
  roots?: string[]
  /** Where dropped files are kept; default: a new private temp folder, removed on close. */
  uploadDir?: string
  /** Largest upload, bytes (default DEFAULT_MAX_UPLOAD, at most MAX_UPLOAD_LIMIT). */
  maxUploadBytes?: number
}

export interface Bridge {
  /** The link to open: origin plus `#token=…` (the fragment never reaches a server or a log). */
  url: string
  origin: string
  token: string
  /** The real paths of the folders the file browser may show. */
  roots: string[]
  /** The folder that holds uploaded files. */
  uploadDir: string
  close(): Promise<void>
}

const MAX_BODY = 1 << 20
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.wasm': 'application/wasm', '.map': 'application/json', '.ico': 'image/x-icon'
}

const workerEntry = new URL('../engine/service/segment-worker.ts', import.meta.url)

/** The engine's worker from its .ts source (run-in-worker starts it through tsx, as the CLI runs). */
export const tsxWorker: CoreDeps['runWorker'] = (request, onProgress) => runSegmentationInWorker(workerEntry, request, onProgress)
const teachEntry = new URL('../engine/service/teach-worker.ts', import.meta.url)
/** The Teach panel's worker from its .ts source. */
export const tsxTeachWorker: TeachWorkerRunner = (request, onProgress) => runTeachInWorker(teachEntry, request, onProgress)

/**
 * A JSON request's body, at most MAX_BODY bytes. A larger one is refused (TOO_LARGE) without reading
 * the rest, and its connection closes after the answer, so the client still gets the one line (a
 * reset socket would reach the page as a bare network error).
 */
function readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let n = 0
    const tooLarge = () => {
      req.off('data', onData)
      req.pause()
      res.setHeader('Connection', 'close')
      reject(new SegError('TOO_LARGE', `the request body is larger than ${MAX_BODY / 1024 ** 2} MiB; expected a smaller request`))
    }
    const onData = (c: Buffer) => {
      n += c.length
      if (n > MAX_BODY) tooLarge()
      else chunks.push(c)
    }
    if (Number(req.headers['content-length']) > MAX_BODY) return tooLarge()
    req.on('data', onData)
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function refuse(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { ok: false, error: { code: 'BAD_ARGUMENT', message } })
}

async function serveStatic(res: http.ServerResponse, staticDir: string, urlPath: string): Promise<void> {
  const root = path.resolve(staticDir)
  let rel: string
  try {
    rel = decodeURIComponent(urlPath.split('?')[0])
  } catch {
    return void refuse(res, 400, 'malformed percent-encoding in the URL; expected a path of the app')
  }
  if (rel.endsWith('/')) rel += 'index.html'
  let file = path.resolve(root, '.' + rel)
  if (file !== root && !file.startsWith(root + path.sep)) return void refuse(res, 403, 'outside the app')
  let body: Buffer
  try {
    body = await fs.readFile(file)
  } catch {
    file = path.join(root, 'index.html')
    try {
      body = await fs.readFile(file)
    } catch {
      return void refuse(res, 404, 'the renderer is not built; run the browser build first')
    }
  }
  res.writeHead(200, {
    'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache'
  })
  res.end(body)
}

/** The envelope of a file-browser call: its value, or its SegError as `{ ok: false, error }`. */
async function envelopeOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    return { ok: false, error: errorOf(e) }
  }
}

/** The `path` of a listing request's JSON body (`{}` or an empty body: the roots); anything else is one BAD_ARGUMENT line. */
function listRequestPath(text: string): string {
  let body: unknown
  try {
    body = JSON.parse(text || '{}')
  } catch {
    throw new SegError('BAD_ARGUMENT', 'the listing request is not JSON; expected {"path": "<folder>"}')
  }
  const p = body !== null && typeof body === 'object' ? (body as { path?: unknown }).path : null
  if (p !== undefined && typeof p !== 'string') throw new SegError('BAD_ARGUMENT', 'path must be a string; expected a folder from the listing')
  return p ?? ''
}

/** The file browser and uploads (files.ts) behind `/api/files/…`; the caller checked token and origin. */
async function serveFiles(req: http.IncomingMessage, res: http.ServerResponse, url: URL, files: { roots: string[]; uploadDir: string; maxUpload: number }): Promise<void> {
  const type = req.headers['content-type'] ?? ''
  if (url.pathname === '/api/files/list') {
    if (!type.startsWith('application/json')) return refuse(res, 415, 'expected application/json')
    const body = await envelopeOf(async () => {
      return listFolder(files.roots, listRequestPath(await readBody(req, res)))
    })
    return sendJson(res, 200, body)
  }
  if (url.pathname === '/api/files/upload') {
    if (!type.startsWith('application/octet-stream')) return refuse(res, 415, 'expected application/octet-stream')
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length'])
    const q = url.searchParams
    const body = await envelopeOf(async () => ({ path: await saveUpload(files.uploadDir, q.get('batch') ?? '', q.get('name') ?? '', req, files.maxUpload, declared) }))
    res.setHeader('Connection', 'close') // a refused body is not read: the connection goes with it
    return sendJson(res, 200, body)
  }
  return refuse(res, 404, `no such file route ${url.pathname}`)
}

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const listeners = new Set<http.ServerResponse>()
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD
  if (!(maxUpload > 0 && maxUpload <= MAX_UPLOAD_LIMIT)) throw new SegError('BAD_ARGUMENT', `upload limit ${maxUpload} bytes is out of range; expected 1 byte to ${MAX_UPLOAD_LIMIT / 1024 ** 3} GiB`)
  const ownUploads = !opts.uploadDir
  const files = { roots: opts.roots ? realRoots(opts.roots) : defaultRoots(os.homedir()), uploadDir: opts.uploadDir ?? mkdtempSync(path.join(os.tmpdir(), 'segtransfer-uploads-')), maxUpload }
  const host: HostInfo = { kind: 'browser', defaultBundleDir: opts.defaultBundleDir }
  const core = createApiCore({
    host,
    runWorker: opts.runWorker ?? tsxWorker,
    runTeachWorker: tsxTeachWorker,
    emit: (e: ProgressEvent) => {
      const line = `data: ${JSON.stringify(e)}\n\n`
      for (const res of listeners) res.write(line)
    }
  })
  let origin = ''
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const tokenBytes = Buffer.from(token)
  const authorised = (given: string | null | undefined): boolean => {
    const b = Buffer.from(given ?? '')
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes)
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const allowedHosts = [origin.slice('http://'.length), origin.replace('127.0.0.1', 'localhost').slice('http://'.length)]
      if (!allowedHosts.includes(req.headers.host ?? '')) return refuse(res, 403, 'unexpected Host header')
      const url = req.url ?? '/'
      if (url.startsWith('/api/')) {
        const given = url.startsWith('/api/events') ? new URL(url, origin).searchParams.get('token') : (req.headers['x-segtransfer-token'] as string | undefined)
        if (!authorised(given)) return refuse(res, 401, 'missing or wrong bridge token; open the link the bridge printed at start-up')
      }
      if (url.split('?')[0] === '/api/events' && req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
        res.write(': connected\n\n')
        listeners.add(res)
        req.on('close', () => listeners.delete(res))
        return
      }
      if (url.startsWith('/api/')) {
        if (req.method !== 'POST') return refuse(res, 405, 'API calls are POST')
        if (req.headers.origin && req.headers.origin !== origin && req.headers.origin !== origin.replace('127.0.0.1', 'localhost')) return refuse(res, 403, 'cross-origin call refused')
        if (url.startsWith('/api/files/')) return serveFiles(req, res, new URL(url, origin), files)
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'expected application/json')
        const method = url.slice('/api/'.length)
        let args: unknown
        try {
          args = (JSON.parse(await readBody(req, res)) as { args?: unknown }).args ?? []
        } catch (e) {
          if (isSegError(e)) return sendJson(res, 413, { ok: false, error: errorOf(e) })
          return refuse(res, 400, `bad request body: ${(e as Error).message}`)
        }
        const r = await dispatch(core, method, Array.isArray(args) ? args : [args])
        if (r.ok && BINARY_METHODS.includes(method as ApiMethod)) {
          const v = r.value as VoxelBuffer
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Voxel-Type': v.dtype, 'Content-Length': v.data.byteLength, 'Cache-Control': 'no-store' })
          res.end(Buffer.from(v.data))
          return
        }
        return sendJson(res, 200, r)
      }
      if (req.method !== 'GET') return refuse(res, 405, 'method not allowed')
      if (!opts.staticDir) return refuse(res, 404, 'no renderer served')
      return serveStatic(res, opts.staticDir, url)
    })().catch((e: unknown) => {
      if (!res.headersSent) refuse(res, 500, String((e as Error)?.message ?? e))
      else res.end()
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, '127.0.0.1', () => resolve())
  })
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    roots: files.roots,
    uploadDir: files.uploadDir,
    close: async () => {
      await new Promise<void>((resolve) => {
        for (const res of listeners) res.end()
        listeners.clear()
        server.closeAllConnections()
        server.close(() => resolve())
      })
      if (ownUploads) await fs.rm(files.uploadDir, { recursive: true, force: true })
    }
  }
}
