/**
 * The browser build's file browser and uploads, over real HTTP against the real bridge and real files:
 * listings stay inside the allowed root (`..`, links out of it and hidden entries refused in one line
 * or left out), and a dropped file is written whole into the bridge's own folder, then opens as a scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../../src/bridge/server'
import { defaultRoots } from '../../src/bridge/files'
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
    bridge = await startBridge({ port: 0, roots: [root], runWorker: noRuns })
    small = await startBridge({ port: 0, roots: [root], runWorker: noRuns, maxUploadBytes: 1000 })
  })
  afterAll(async () => {
    await bridge?.close()
    await small?.close()
    tmp.cleanup()
  })

  it('lists the roots, then a root: folders first, no hidden entries, no link leaving the root', async () => {
    const real = realpathSync(root)
    expect((await list()).value).toEqual({ path: '', parent: null, entries: [{ name: real, kind: 'folder' }], truncated: false })
    const top = (await list(real)).value
    expect(top.parent).toBe('')
    expect(top.entries).toEqual([{ name: 'alias', kind: 'folder' }, { name: 'study 1', kind: 'folder' }])
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
    ['the system root', () => '/', /is outside the folders/]
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

  it('a root that does not exist stops the bridge in one line; a missing home only empties the browser', async () => {
    await expect(startBridge({ port: 0, roots: [join(tmp.dir, 'nope')], runWorker: noRuns })).rejects.toThrow(/^file browser root .*nope does not exist; expected an existing folder$/)
    await expect(startBridge({ port: 0, roots: [join(root, 'study 1', 'ct.nii.gz')], runWorker: noRuns })).rejects.toThrow(/is a file; expected a folder$/)
    expect(defaultRoots(join(tmp.dir, 'nope'))).toEqual([])
    expect(defaultRoots(root)).toEqual([realpathSync(root)])
  })
})
