/**
 * The browser build's file browser and uploads, over real HTTP against the real bridge and real files:
 * listings stay inside the allowed root (`..`, links out of it and hidden entries refused in one line
 * or left out), and a dropped file is written whole into the bridge's own folder, then opens as a scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import http from 'node:http'
import net from 'node:net'
import { startBridge, type Bridge } from '../../src/bridge/server'
import { defaultRoots, MAX_ENTRIES, UPLOADS_PER_SESSION } from '../../src/bridge/files'
import type { FolderListing } from '../../src/shared/folder-listing'
import { data, tempDir } from '../helpers/data'

const noRuns = () => {
  throw new Error('no segmentation in this test')
}

describe('bridge file browser: confined to the allowed roots', () => {
  const tmp = tempDir('segtransfer-bridge-files-')
  const root = join(tmp.dir, 'scans')
  const outside = join(tmp.dir, 'private')
  let bridge: Bridge
  let small: Bridge
  /** Takes the attacks on uploads, so the other tests see only their own batches. */
  let spare: Bridge

  const post = (b: Bridge, route: string, body: string | Buffer, type = 'application/json', token = b.token) =>
    fetch(`${b.origin}/api/files/${route}`, { method: 'POST', headers: { 'Content-Type': type, 'X-SegTransfer-Token': token }, body })
  const list = async (p?: string) => (await (await post(bridge, 'list', JSON.stringify({ path: p }))).json()) as { ok: boolean; value: FolderListing; error: { code: string; message: string } }

  beforeAll(async () => {
    mkdirSync(join(root, 'study 1'), { recursive: true })
    mkdirSync(join(root, '.secret'))
    mkdirSync(outside)
    copyFileSync(data('ct/spleen_ct.nii.gz'), join(root, 'study 1', 'ct.nii.gz'))
    writeFileSync(join(root, '.hidden.nii'), 'x')
    writeFileSync(join(outside, 'other-patient.nii'), 'x')
    symlinkSync(outside, join(root, 'escape'))
    symlinkSync(join(root, 'study 1'), join(root, 'alias'))
    mkdirSync(join(root, 'crowded'))
    for (let i = 0; i < MAX_ENTRIES; i++) writeFileSync(join(root, 'crowded', `.cache-${i}`), '')
    for (const n of ['a.nii', 'm.nii', 'z.nii']) writeFileSync(join(root, 'crowded', n), '')
    bridge = await startBridge({ port: 0, roots: [root], runWorker: noRuns })
    small = await startBridge({ port: 0, roots: [root], runWorker: noRuns, maxUploadBytes: 1000 })
    spare = await startBridge({ port: 0, roots: [root], runWorker: noRuns })
  })
  afterAll(async () => {
    await bridge?.close()
    await small?.close()
    await spare?.close()
    tmp.cleanup()
  })

  it('lists the roots, then a root: folders first, no hidden entries, no link leaving the root', async () => {
    const real = realpathSync(root)
    expect((await list()).value).toEqual({ path: '', parent: null, entries: [{ name: real, kind: 'folder' }], truncated: false })
    const top = (await list(real)).value
    expect(top.parent).toBe('')
    expect(top.entries).toEqual([{ name: 'alias', kind: 'folder' }, { name: 'crowded', kind: 'folder' }, { name: 'study 1', kind: 'folder' }])
    const study = (await list(join(real, 'study 1'))).value
    expect(study.entries).toEqual([{ name: 'ct.nii.gz', kind: 'file', size: readFileSync(data('ct/spleen_ct.nii.gz')).length }])
    expect(study.parent).toBe(real)
  })

  it.each([
    ['`..` out of the root', (r: string) => join(r, '..'), /is outside the folders this bridge may show/],
    ['`..` through a subfolder', (r: string) => `${r}/study 1/../../private`, /is outside the folders this bridge may show/],
    ['a link pointing out of the root', (r: string) => join(r, 'escape'), /is outside the folders this bridge may show/],
    ['a hidden folder', (r: string) => join(r, '.secret'), /is a hidden folder or file/],
    ['a relative path', () => 'scans', /is not an absolute path/],
    ['the system root', () => '/', /is outside the folders/],
    ['a NUL byte', (r: string) => `${r}/study 1\0/../..`, /contains a NUL byte; expected a folder listed by the file browser$/]
  ])('refuses %s in one line', async (_what, at, message) => {
    const r = await list(at(root))
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe('BAD_ARGUMENT')
    expect(r.error.message).toMatch(message)
    expect(r.error.message).not.toContain('\n')
  })

  it('refuses listings without the token and bodies that are not JSON', async () => {
    expect((await post(bridge, 'list', '{}', 'application/json', 'wrong')).status).toBe(401)
    expect((await post(bridge, 'list', '{}', 'text/plain')).status).toBe(415)
  })

  it.each([
    ['text that is not JSON', 'not json', 'the listing request is not JSON; expected {"path": "<folder>"}'],
    ['JSON null', 'null', 'path must be a string; expected a folder from the listing']
  ])('refuses a listing body of %s with one BAD_ARGUMENT line, not an internal error', async (_what, body, message) => {
    const r = (await (await post(bridge, 'list', body)).json()) as { ok: boolean; error: { code: string; message: string } }
    expect(r).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message } })
  })

  it('a JSON body above 1 MiB, to the file browser or to an API call, gets one TOO_LARGE line (not a reset connection)', async () => {
    const line = { code: 'TOO_LARGE', message: 'the request body is larger than 1 MiB; expected a smaller request' }
    const huge = JSON.stringify({ path: 'x'.repeat(2 << 20), args: ['x'.repeat(2 << 20)] })
    expect(await (await post(spare, 'list', huge)).json()).toEqual({ ok: false, error: line })
    const api = await fetch(`${spare.origin}/api/openVolumes`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-SegTransfer-Token': spare.token }, body: huge })
    expect([api.status, await api.json()]).toEqual([413, { ok: false, error: line }])
  })

  it('a folder of thousands of hidden files still lists its visible ones, untruncated (hidden names do not count against the bound)', async () => {
    const crowded = (await list(join(realpathSync(root), 'crowded'))).value
    expect([crowded.entries.map((e) => e.name), crowded.truncated]).toEqual([['a.nii', 'm.nii', 'z.nii'], false])
  })

  it('refuses uploads from another Host (DNS rebinding), another origin or without the token, writing nothing', async () => {
    const rawPost = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${spare.origin}/api/files/upload?name=x.nii&batch=badbadbad0`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '3', 'X-SegTransfer-Token': spare.token, ...headers } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end('abc')
      })
    expect(await rawPost({ Host: `evil.example:${new URL(spare.origin).port}` })).toBe(403)
    expect(await rawPost({ Origin: 'http://evil.example' })).toBe(403)
    expect(await rawPost({ 'X-SegTransfer-Token': 'wrong' })).toBe(401)
    expect(readdirSync(spare.uploadDir)).not.toContain('badbadbad0')
  })

  it('an upload whose client stops before its declared size leaves no file, not even a hidden partial one', async () => {
    const { port } = new URL(spare.origin)
    await new Promise<void>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => {
        s.write(`POST /api/files/upload?name=cut.nii&batch=c0ffee00 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-SegTransfer-Token: ${spare.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`)
        s.write(Buffer.alloc(5000, 7), () => setTimeout(() => s.destroy(), 100))
      })
      s.on('close', () => resolve())
    })
    const batch = join(spare.uploadDir, 'c0ffee00')
    await expect.poll(() => readdirSync(batch), { timeout: 2000 }).toEqual([])
  })

  it('concurrent uploads of one name: one is kept whole, the others are refused in one line', async () => {
    const bodies = [1, 2, 3].map((k) => Buffer.alloc(300_000, k))
    const rs = (await Promise.all(bodies.map(async (b) => (await post(spare, 'upload?name=same.nii&batch=5a5e5a5e', b, 'application/octet-stream')).json()))) as { ok: boolean; value?: { path: string }; error?: { code: string; message: string } }[]
    const kept = rs.filter((r) => r.ok)
    expect(kept).toHaveLength(1)
    expect(rs.filter((r) => !r.ok).map((r) => r.error)).toEqual([1, 2].map(() => ({ code: 'OUTPUT_CONFLICT', message: 'same.nii is already uploaded in this drop; expected each file name once per drop' })))
    expect(bodies.some((b) => b.equals(readFileSync(kept[0].value!.path)))).toBe(true)
    expect(readdirSync(join(spare.uploadDir, '5a5e5a5e'))).toEqual(['same.nii'])
  })

  it('takes an upload name of the full 200 characters with a long extension (its temp name stays within the file-system limit)', async () => {
    const name = `scan.${'x'.repeat(195)}`
    const r = (await (await post(spare, `upload?name=${name}&batch=10261026`, Buffer.from('abc'), 'application/octet-stream')).json()) as { ok: boolean; value: { path: string } }
    expect(r).toEqual({ ok: true, value: { path: join(spare.uploadDir, '10261026', name) } })
    expect(readFileSync(r.value.path, 'utf8')).toBe('abc')
  })

  it('an uploaded file lands byte-identical in the bridge folder and opens as a scan', async () => {
    const bytes = readFileSync(data('ct/spleen_ct.nii.gz'))
    const res = await post(bridge, 'upload?name=ct%20copy.nii.gz&batch=0123abcd0123abcd', bytes, 'application/octet-stream')
    const r = (await res.json()) as { ok: boolean; value: { path: string } }
    expect(r.ok).toBe(true)
    expect(r.value.path).toBe(join(bridge.uploadDir, '0123abcd0123abcd', 'ct copy.nii.gz'))
    expect(readFileSync(r.value.path).equals(bytes)).toBe(true)
    const opened = await fetch(`${bridge.origin}/api/openVolumes`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-SegTransfer-Token': bridge.token }, body: JSON.stringify({ args: [[r.value.path]] }) })
    const info = ((await opened.json()) as { value: { size: number[]; modality: string }[] }).value[0]
    expect([info.size, info.modality]).toEqual([[164, 166, 26], 'CT'])
  })

  it.each([
    ['a name with a path', 'upload?name=..%2Fx.nii&batch=0123abcd', /is not a plain file name/],
    ['a hidden name', 'upload?name=.bashrc&batch=0123abcd', /is not a plain file name/],
    ['a malformed batch', 'upload?name=x.nii&batch=..', /batch id is malformed/]
  ])('refuses an upload with %s and writes nothing', async (_what, route, message) => {
    const r = (await (await post(bridge, route, Buffer.from('abc'), 'application/octet-stream')).json()) as { ok: boolean; error: { message: string } }
    expect([r.ok, r.error.message]).toEqual([false, expect.stringMatching(message)])
    expect(readdirSync(bridge.uploadDir).filter((d) => d !== '0123abcd0123abcd')).toEqual([])
  })

  it('refuses an upload without a declared size (a chunked body) in one line', async () => {
    const body = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(10)); c.close() } })
    const res = await fetch(`${bridge.origin}/api/files/upload?name=x.nii&batch=abcdabcd`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'X-SegTransfer-Token': bridge.token }, body, duplex: 'half' } as RequestInit)
    const r = (await res.json()) as { ok: boolean; error: { message: string } }
    expect([r.ok, r.error.message]).toEqual([false, "upload of x.nii without a Content-Length; expected the file's size up front"])
  })

  it('refuses an upload above the limit before writing anything', async () => {
    const r = (await (await post(small, 'upload?name=big.nii&batch=feedfeed', Buffer.alloc(5000), 'application/octet-stream')).json()) as { ok: boolean; error: { code: string; message: string } }
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe('TOO_LARGE')
    expect(r.error.message).toMatch(/^big\.nii is 5\.0 kB, above the upload limit of .+; expected a smaller file, or open it by its path$/)
    expect(readdirSync(small.uploadDir)).toEqual([])
  })

  it('refuses an upload that would take the session past UPLOADS_PER_SESSION × the per-file limit, before writing it', async () => {
    const up = async (batch: string) => (await (await post(small, `upload?name=part.nii&batch=${batch}`, Buffer.alloc(900), 'application/octet-stream')).json()) as { ok: boolean; error?: { code: string; message: string } }
    for (let i = 0; i < UPLOADS_PER_SESSION; i++) expect((await up(`0000000${i}`)).ok).toBe(true)
    const r = await up('0000000f')
    expect(r.error?.code).toBe('TOO_LARGE')
    expect(r.error?.message).toMatch(/^part\.nii \(0\.9 kB\) would take this session's uploads to 4\.5 kB, above 4\.0 kB; expected fewer uploads, or open files by their path$/)
    expect(readdirSync(small.uploadDir)).not.toContain('0000000f')
  })

  it('a root that does not exist stops the bridge in one line; a missing home only empties the browser', async () => {
    await expect(startBridge({ port: 0, roots: [join(tmp.dir, 'nope')], runWorker: noRuns })).rejects.toThrow(/^file browser root .*nope does not exist; expected an existing folder$/)
    await expect(startBridge({ port: 0, roots: [join(root, 'study 1', 'ct.nii.gz')], runWorker: noRuns })).rejects.toThrow(/is a file; expected a folder$/)
    expect(defaultRoots(join(tmp.dir, 'nope'))).toEqual([])
    expect(defaultRoots(root)).toEqual([realpathSync(root)])
  })
})
