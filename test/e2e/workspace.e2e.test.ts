/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts): the workspace's document model and
 * the no-overwrite rule. Two scans are open; each owns its segmentations, and everything shown (slice
 * overlays, captions, label table, 3D view, export) follows the shown scan. An export onto an
 * existing file asks first; refused, the file stays byte-identical; an open scan is never written over.
 * Uses the small demo-tissue bundle and copies of two small real scans (exports land beside them).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { REPO } from '../helpers/data'
import { ARTIFACTS, canvasHash, composePngs, e2eSession, HAVE_CHROMIUM, UPDATE_DOCS, type E2eApp } from '../helpers/e2e'
import { readVolume } from '../../src/engine/volume/read'

const BUNDLE = join(REPO, 'resources/models/demo-tissue')
const MODEL = 'Demo tissue classifier (Gaussian, not a trained network)'

describe.skipIf(!HAVE_CHROMIUM)('workspace: each scan owns its segmentations; nothing is overwritten unasked', () => {
  const session = e2eSession('segtransfer-e2e-ws-', ['geometry/t1_RAS.nii.gz', 'spine/t2.nii.gz'])
  const tmp = { dir: session.dir }
  const t1 = session.files['geometry/t1_RAS.nii.gz']
  const spine = session.files['spine/t2.nii.gz']
  let app: E2eApp
  let page: Page
  const shots: Buffer[] = []
  beforeAll(() => void ({ app, page } = session))

  const text = (id: string) => page.textContent(`[data-testid=${id}]`).catch(() => null)
  const captions = () => page.$$eval('[data-testid=view-caption]', (els) => els.map((e) => e.textContent?.trim()))
  const show = async (name: string) => {
    await page.click(`[data-testid=volume-panel] li:has-text("${name}")`)
    await expect.poll(() => page.textContent('[data-testid=volume-panel] li.on .name')).toBe(name)
  }
  const run = async (name: string) => {
    const before = (await page.$$('[data-testid=segmentation-select] option')).length
    await page.click('[data-testid=run]')
    await expect.poll(() => page.$$('[data-testid=segmentation-select] option').then((o) => o.length), { timeout: 60_000 }).toBe(before + 1)
    await page.waitForSelector('[data-testid=run]:not([disabled])')
    expect(await page.getAttribute('[data-testid=run]', 'title')).toBe(`Segment ${name}`)
  }
  /** Whether the axial view draws an overlay: toggling it (key M) changes the picture only if there is one. */
  const overlayDrawn = async () => {
    await page.mouse.move(5, 5)
    const on = await canvasHash(page, 'axial')
    await page.keyboard.press('m')
    await page.waitForTimeout(120)
    const off = await canvasHash(page, 'axial')
    await page.keyboard.press('m')
    await page.waitForTimeout(120)
    return on !== off
  }
  const tableMl = () => page.$$eval('[data-testid=label-table] tbody tr', (rows) => rows.map((r) => `${r.getAttribute('data-label')} ${r.querySelector('[data-testid=label-ml]')?.textContent}`))

  it('a result on one scan stays with it: the other scan shows no overlay, no labels, no export', async () => {
    await page.fill('[data-testid=volume-path]', `${t1};${spine}`)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count(), { timeout: 15_000 }).toBe(2) // reading two scans takes over 1 s on a loaded machine
    await page.fill('[data-testid=bundle-path]', BUNDLE)
    await page.click('[data-testid=open-bundle]')
    await expect.poll(() => text('bundle-name')).toBe(MODEL)
    await page.selectOption('[data-testid=device]', 'cpu')
    await show('t1_RAS.nii.gz')
    expect(await text('channel-0')).toBe('t1_RAS.nii.gz')
    await run('t1_RAS.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t1_RAS.nii.gz`)) // three slice views and the 3D view
    expect(await overlayDrawn()).toBe(true)
    const t1Table = await tableMl()
    expect(t1Table.length).toBeGreaterThan(0)
    await page.waitForSelector('[data-view-3d][data-status*=triangles]', { timeout: 30_000 })
    shots.push(await page.screenshot({ path: join(ARTIFACTS, 'workspace-t1.png') }))

    await show('t2.nii.gz')
    expect(await page.$('[data-testid=label-table]')).toBeNull()
    expect(await page.$('[data-view-3d]')).toBeNull()
    expect(await overlayDrawn()).toBe(false)
    expect(await captions()).toEqual(Array(3).fill('t2.nii.gz · no segmentation'))
    expect(await text('labels-empty')).toBe('No segmentation of t2.nii.gz yet: run a model on it.')
    expect(await page.$('[data-testid=export-labels]')).toBeNull()
    expect(await text('export-none')).toContain('t2.nii.gz')
    expect(await text('status')).not.toMatch(/label /)

    await show('t1_RAS.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t1_RAS.nii.gz`))
    expect(await tableMl()).toEqual(t1Table)
    expect(await overlayDrawn()).toBe(true)
    expect(await text('export-target')).toBe(`${MODEL} of t1_RAS.nii.gz`)
    expect(await page.inputValue('[data-testid=export-labels-path]')).toBe(join(tmp.dir, 't1_RAS.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.nii.gz'))
    expect(app.errors).toEqual([])
  })

  it('a run on the second scan keeps both results; several results per scan are selectable', async () => {
    await show('t2.nii.gz')
    expect(await text('channel-0')).toBe('t2.nii.gz')
    await run('t2.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t2.nii.gz`))
    const spineTable = await tableMl()
    expect(await page.inputValue('[data-testid=export-labels-path]')).toBe(join(tmp.dir, 't2.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.nii.gz'))
    await page.waitForSelector('[data-view-3d][data-status*=triangles]', { timeout: 30_000 })
    shots.push(await page.screenshot({ path: join(ARTIFACTS, 'workspace-t2.png') }))

    await show('t1_RAS.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t1_RAS.nii.gz`))
    expect(await tableMl()).not.toEqual(spineTable)
    await run('t1_RAS.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} #2 on t1_RAS.nii.gz`))
    expect(await page.$$eval('[data-testid=segmentation-select] option', (o) => o.map((x) => x.textContent))).toEqual([MODEL, `${MODEL} #2`])
    expect(await page.inputValue('[data-testid=export-labels-path]')).toMatch(/t1_RAS\.segtransfer-demo-tissue-classifier-gaussian-not-a-tr-2\.nii\.gz$/)
    await page.selectOption('[data-testid=segmentation-select]', { index: 0 })
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t1_RAS.nii.gz`))
    await show('t2.nii.gz')
    expect(await tableMl()).toEqual(spineTable)
    expect(app.errors).toEqual([])
    if (UPDATE_DOCS) {
      writeFileSync(join(REPO, 'docs/screenshot-workspace.png'), await composePngs(page, shots, 0.45))
      expect(statSync(join(REPO, 'docs/screenshot-workspace.png')).size).toBeGreaterThan(10_000)
    }
  })

  it('exporting onto an existing file asks first; refused, the file is byte-identical; an open scan is never written over', async () => {
    await show('t2.nii.gz')
    const out = await page.inputValue('[data-testid=export-labels-path]')
    await page.click('[data-testid=export-labels]')
    await expect.poll(() => text('last-export')).toBe(`Saved ${out}`)
    const mask = await readVolume(out)
    expect(mask.size).toEqual((await readVolume(spine)).size)
    const first = readFileSync(out)
    const mtime = statSync(out).mtimeMs

    await page.click('[data-testid=export-labels]')
    await page.waitForSelector('[data-testid=confirm-replace]')
    expect(await text('confirm-path')).toBe(out)
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-confirm.png') })
    await page.click('[data-testid=confirm-keep]')
    await expect.poll(() => page.$('[data-testid=confirm-replace]')).toBeNull()
    expect(readFileSync(out).equals(first)).toBe(true)
    expect(statSync(out).mtimeMs).toBe(mtime)
    expect(await page.$('[data-testid=error]')).toBeNull()
    expect(await page.$('[data-testid=last-export]')).toBeNull()

    await page.click('[data-testid=export-labels]')
    await page.click('[data-testid=confirm-overwrite]')
    await expect.poll(() => text('last-export')).toBe(`Saved ${out}`)
    expect(statSync(out).mtimeMs).toBeGreaterThan(mtime)

    // The other open scan's file: refused outright (no confirmation can lift it), left as it was.
    const t1Bytes = readFileSync(t1)
    await page.fill('[data-testid=export-labels-path]', t1)
    await page.click('[data-testid=export-labels]')
    await expect.poll(() => text('error')).toMatch(/is an input file/)
    expect(await page.$('[data-testid=confirm-replace]')).toBeNull()
    expect(readFileSync(t1).equals(t1Bytes)).toBe(true)
    expect(app.errors).toEqual([])
  })

  it('closing a scan closes its segmentations; the other scan keeps its own', async () => {
    await page.click('[data-testid=error] button')
    await page.click('[data-testid="close-t2.nii.gz"]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(1)
    expect(await page.textContent('[data-testid=volume-panel] li.on .name')).toBe('t1_RAS.nii.gz')
    expect(await captions()).toEqual(Array(4).fill(`${MODEL} on t1_RAS.nii.gz`))
    expect(await page.$$eval('[data-testid=segmentation-select] option', (o) => o.length)).toBe(2)
    expect(app.errors).toEqual([])
  })
})
