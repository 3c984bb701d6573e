/**
 * The bridge's static route, over real HTTP with a real folder as the built renderer: an encoded `..`
 * cannot leave it, a malformed percent-encoding is one 400 line (not a 500 with the decoder's text),
 * and an unknown path gets index.html under the app's Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../../src/bridge/server'
import { CONTENT_SECURITY_POLICY } from '../../src/app-core/security'
import { tempDir } from '../helpers/data'

describe('bridge static route', () => {
  const tmp = tempDir('segtransfer-bridge-static-')
  const app = join(tmp.dir, 'app')
  let bridge: Bridge
  beforeAll(async () => {
    mkdirSync(app)
    writeFileSync(join(app, 'index.html'), '<title>app</title>')
    writeFileSync(join(tmp.dir, 'secret.txt'), 'not for the page')
    bridge = await startBridge({ port: 0, staticDir: app, roots: [tmp.dir], runWorker: () => { throw new Error('no runs here') } })
  })
  afterAll(async () => {
    await bridge?.close()
    tmp.cleanup()
  })

  it('refuses an encoded `..` out of the app folder (403) and never serves the file beside it', async () => {
    const r = await fetch(`${bridge.origin}/..%2fsecret.txt`)
    expect([r.status, await r.text()]).toEqual([403, JSON.stringify({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'outside the app' } })])
  })

  it('answers a malformed percent-encoding with one 400 line', async () => {
    const r = await fetch(`${bridge.origin}/%E0%A4%A`)
    expect([r.status, await r.json()]).toEqual([400, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'malformed percent-encoding in the URL; expected a path of the app' } }])
  })

  it('serves index.html for an unknown path, under the Content-Security-Policy', async () => {
    const r = await fetch(`${bridge.origin}/no/such/page`)
    expect([r.status, r.headers.get('content-security-policy'), await r.text()]).toEqual([200, CONTENT_SECURITY_POLICY, '<title>app</title>'])
  })
})
