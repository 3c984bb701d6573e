/**
 * The end-to-end harness shared by test/e2e/*: the renderer built by vite (vite.browser.config.ts),
 * served by the Node bridge, driven by playwright-core in Debian's chromium, plus small page probes.
 * Needs /usr/bin/chromium (CI: apt-get install chromium) or SEGTRANSFER_CHROMIUM.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { build } from 'vite'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { data, REPO, tempDir } from './data'
import { startBridge, type Bridge, type BridgeOptions } from '../../src/bridge/server'

export const CHROMIUM = process.env.SEGTRANSFER_CHROMIUM ?? '/usr/bin/chromium'
export const HAVE_CHROMIUM = existsSync(CHROMIUM)
if (!HAVE_CHROMIUM) console.warn(`e2e skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set SEGTRANSFER_CHROMIUM)`)
export const ARTIFACTS = join(REPO, 'test-artifacts')
/** Set UPDATE_DOCS_SCREENSHOTS=1 to refresh docs/screenshot-*.png (tracked) from this run. */
export const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === '1'

export interface E2eApp {
  page: Page
  bridge: Bridge
  /** Page errors and console errors seen so far (a test expects none). */
  errors: string[]
  close(): Promise<void>
}

/** Builds the renderer into `dir`/renderer, starts the bridge (with `bridge` options) and opens its link in a headless chromium. */
export async function startE2eApp(dir: string, bridgeOptions: Partial<BridgeOptions> = {}): Promise<E2eApp> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const staticDir = join(dir, 'renderer')
  await build({ configFile: join(REPO, 'vite.browser.config.ts'), logLevel: 'error', build: { outDir: staticDir, emptyOutDir: true } })
  const bridge = await startBridge({ port: 0, staticDir, ...bridgeOptions })
  const ctx: BrowserContext = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 820 }
  })
  const page = ctx.pages()[0] ?? (await ctx.newPage())
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  await page.goto(bridge.url)
  return { page, bridge, errors, close: async () => { await ctx.close(); await bridge.close() } }
}

export interface E2eSession {
  /** The temporary folder: the copied scans, the built renderer, exports. */
  dir: string
  /** Each copied file's path in `dir`, by the shared-data path it was copied from. */
  files: Record<string, string>
  app: E2eApp
  page: Page
}

/**
 * Registers beforeAll / afterAll for a describe block: copies shared-data files (paths relative to
 * ../shared/data) into a temporary folder under their own names and starts the app there; the
 * returned object is filled in beforeAll.
 */
export function e2eSession(prefix: string, dataFiles: readonly string[], bridgeOptions: Partial<BridgeOptions> = {}): E2eSession {
  const tmp = tempDir(prefix)
  const files = Object.fromEntries(dataFiles.map((f) => [f, join(tmp.dir, basename(f))]))
  const session = { dir: tmp.dir, files } as E2eSession
  beforeAll(async () => {
    for (const f of dataFiles) copyFileSync(data(f), files[f])
    session.app = await startE2eApp(tmp.dir, bridgeOptions)
    session.page = session.app.page
  })
  afterAll(async () => {
    await session.app?.close()
    tmp.cleanup()
  })
  return session
}

/** An attribute's value ('' when absent). */
export const attrOf = (page: Page, sel: string, name: string): Promise<string> => page.getAttribute(sel, name).then((x) => x ?? '')

/** A cheap hash of a slice view's pixels: equal hashes = the same picture. */
export const canvasHash = (page: Page, view: string): Promise<unknown> =>
  page.evaluate(`(() => { const c = document.querySelector('[data-view=${view}] canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0; return h })()`)

/** PNGs side by side, each scaled by `f`, composed and re-encoded by the browser itself (no image library needed). */
export async function composePngs(page: Page, pngs: Buffer[], f: number): Promise<Buffer> {
  const srcs = JSON.stringify(pngs.map((p) => `data:image/png;base64,${p.toString('base64')}`))
  const b64 = (await page.evaluate(`(async () => {
    const imgs = await Promise.all(${srcs}.map(async (s) => { const i = new Image(); i.src = s; await i.decode(); return i }))
    const c = document.createElement('canvas')
    c.width = Math.round(imgs.reduce((w, i) => w + i.width, 0) * ${f}); c.height = Math.round(Math.max(...imgs.map((i) => i.height)) * ${f})
    const g = c.getContext('2d'); g.imageSmoothingQuality = 'high'
    let x = 0
    for (const i of imgs) { g.drawImage(i, x, 0, Math.round(i.width * ${f}), Math.round(i.height * ${f})); x += Math.round(i.width * ${f}) }
    return c.toDataURL('image/png').split(',')[1]
  })()`)) as string
  return Buffer.from(b64, 'base64')
}

/** Exports the shown segmentation's label map through the Export panel to `out` and waits until it is written. */
export async function exportShownLabels(page: Page, out: string): Promise<void> {
  await page.fill('[data-testid=export-labels-path]', out)
  await page.click('[data-testid=export-labels]')
  // Polled from here: the app's CSP forbids the string evaluation waitForFunction needs.
  await page.locator('[data-testid=last-export]', { hasText: `Saved ${out}` }).waitFor()
}
