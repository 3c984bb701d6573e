/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts): reading the spleen CT.
 * Opened through the bridge's file browser (rooted at a temp folder); the readout under a still
 * pointer follows wheel and arrow-key slice changes (value, voxel and slice number), in HU, equal to
 * the file's own voxel; a ruler dragged between two points measures their world distance; a screenshot
 * of the axial view downloads as a PNG of the canvas's size with the ruler in it; a file dropped on
 * the window is uploaded to the bridge and opens; an empty path says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { PNG } from 'pngjs'
import { data, REPO, tempDir } from '../helpers/data'
import { ARTIFACTS, composePngs, HAVE_CHROMIUM, startE2eApp, UPDATE_DOCS, type E2eApp } from '../helpers/e2e'
import { readVolume } from '../../src/engine/volume/read'
import type { Volume } from '../../src/engine/volume/volume'

describe.skipIf(!HAVE_CHROMIUM)('reading: readout, HU, slice number, ruler, screenshot, file browser, upload', () => {
  const tmp = tempDir('segtransfer-e2e-read-')
  const root = join(tmp.dir, 'scans')
  let app: E2eApp
  let page: Page
  let scan: Volume

  beforeAll(async () => {
    mkdirSync(join(root, 'abdomen'), { recursive: true })
    copyFileSync(data('ct/spleen_ct.nii.gz'), join(root, 'abdomen', 'spleen_ct.nii.gz'))
    scan = await readVolume(data('ct/spleen_ct.nii.gz'))
    app = await startE2eApp(tmp.dir, { roots: [root] })
    page = app.page
  })
  afterAll(async () => {
    await app?.close()
    tmp.cleanup()
  })

  const text = (id: string) => page.textContent(`[data-testid=${id}]`).then((t) => t ?? '')
  /** The status line's voxel (i, j, k), value and slice "k / n". */
  const readout = async () => {
    const ijk = (await text('status-ijk')).match(/\((\d+), (\d+), (\d+)\)/)!.slice(1).map(Number)
    return { ijk, value: await text('status-value'), slice: (await text('status-slice')).replace(/^axial slice /, '') }
  }
  const fileValue = (ijk: number[]) => scan.data[ijk[0] + scan.size[0] * (ijk[1] + scan.size[1] * ijk[2])]
  const axialBox = async () => (await page.locator('[data-view=axial] canvas').boundingBox())!

  it('opens a scan from the file browser, rooted at the allowed folder only', async () => {
    await page.click('[data-testid=browse]')
    await expect.poll(() => text('file-browser-path')).toBe('allowed folders')
    expect(await page.locator('[data-testid=file-browser] [data-entry]').count()).toBe(1) // the one root, nothing else
    await page.click(`[data-entry="${realpathSync(root)}"]`)
    await page.click('[data-entry=abdomen]')
    await page.click('[data-entry="spleen_ct.nii.gz"]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(1)
    expect(await page.locator('[data-testid=file-browser]').count()).toBe(0)
    expect(await page.$$eval('[data-testid=recent-files] option', (o) => o.map((x) => x.getAttribute('value')))).toEqual(['', join(realpathSync(root), 'abdomen', 'spleen_ct.nii.gz')])
  })

  it('the readout follows wheel and key slice changes without a mouse move, in HU, equal to the file', async () => {
    const box = await axialBox()
    await page.mouse.move(Math.round(box.x + box.width / 2) + 13, Math.round(box.y + box.height / 2) - 9)
    const seen = [await readout()]
    await page.mouse.wheel(0, -120) // one slice up, the pointer where it was
    await expect.poll(async () => (await readout()).slice).not.toBe(seen[0].slice)
    seen.push(await readout())
    await page.keyboard.press('ArrowUp')
    await expect.poll(async () => (await readout()).slice).not.toBe(seen[1].slice)
    seen.push(await readout())
    const n = scan.size[2]
    const k0 = seen[0].ijk[2]
    expect(seen.map((r) => r.slice)).toEqual([0, 1, 2].map((d) => `${k0 + d + 1} / ${n}`))
    expect(seen.map((r) => r.ijk)).toEqual([0, 1, 2].map((d) => [seen[0].ijk[0], seen[0].ijk[1], k0 + d]))
    for (const r of seen) {
      const m = r.value.match(/^value (-?[\d.]+) HU$/)
      expect(m, r.value).not.toBeNull()
      expect(Number(m![1])).toBeCloseTo(fileValue(r.ijk), 0)
    }
    expect(await page.getAttribute('[data-view=axial]', 'data-slice')).toBe(seen[2].slice)
    console.log(`readout at voxel ${seen.map((r) => `(${r.ijk.join(',')}) ${r.value}`).join(' → ')}; file: ${seen.map((r) => fileValue(r.ijk)).join(', ')}`)
  })

  it('a ruler dragged between two points measures their distance in world mm; a screenshot holds it', async () => {
    await page.click('[data-testid=ruler-mode]')
    const box = await axialBox()
    const [x0, y0] = [Math.round(box.x) + 120, Math.round(box.y) + 110]
    const [dx, dy] = [90, 60]
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    await page.mouse.move(x0 + dx, y0 + dy, { steps: 4 })
    await page.mouse.up()
    const mmPerPixel = Number(await page.getAttribute('[data-view=axial]', 'data-mm-per-pixel'))
    const want = Math.hypot(dx, dy) * mmPerPixel // axial: screen right = world x, down = world y
    const got = Number(await page.getAttribute('[data-view=axial]', 'data-ruler-mm'))
    console.log(`ruler: ${got.toFixed(3)} mm measured, ${want.toFixed(3)} mm expected (${dx}×${dy} px at ${mmPerPixel.toFixed(4)} mm/px)`)
    expect(got).toBeCloseTo(want, 3)
    expect(await text('ruler-length')).toBe(`${want.toFixed(1)} mm (axial)`)

    const shot = await page.screenshot({ path: join(ARTIFACTS, 'reading.png') })
    if (UPDATE_DOCS) writeFileSync(join(REPO, 'docs/screenshot-reading.png'), await composePngs(page, [shot], 0.7))
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=screenshot]')])
    const file = join(tmp.dir, download.suggestedFilename())
    await download.saveAs(file)
    const png = PNG.sync.read(readFileSync(file))
    const size = [Number(await page.getAttribute('[data-view=axial] canvas', 'width')), Number(await page.getAttribute('[data-view=axial] canvas', 'height'))]
    expect([png.width, png.height]).toEqual(size)
    expect(download.suggestedFilename()).toMatch(/^spleen_ct_axial_\d{14}\.png$/)
    let rulerPixels = 0
    for (let i = 0; i < png.data.length; i += 4) if (Math.abs(png.data[i] - 79) + Math.abs(png.data[i + 1] - 209) + Math.abs(png.data[i + 2] - 255) < 24) rulerPixels++
    expect(rulerPixels).toBeGreaterThan(40)
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getAttribute('[data-view=axial]', 'data-ruler-mm')).toBe('')
    await page.click('[data-testid=ruler-mode]')
  })

  it('a file dropped on the window is uploaded to the bridge and opens; an empty path says so', async () => {
    const bytes = readFileSync(data('ct/spleen_ct.nii.gz'))
    // What a browser does when a file is dropped on the window (the page, not Node, builds these objects).
    await page.evaluate(`(() => {
      const bin = Uint8Array.from(atob('${bytes.toString('base64')}'), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([bin], 'dropped ct.nii.gz'))
      document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    })()`)
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(2)
    const [batch] = readdirSync(app.bridge.uploadDir)
    const uploaded = join(app.bridge.uploadDir, batch, 'dropped ct.nii.gz')
    expect(readFileSync(uploaded).equals(bytes)).toBe(true)
    expect(statSync(uploaded).mode & 0o077).toBe(0)
    expect(await page.textContent('[data-testid=volume-panel]')).toContain('dropped ct.nii.gz')

    await page.fill('[data-testid=volume-path]', '  ')
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => text('error')).toMatch(/no path typed; expected the path of a scan file/)
    expect(app.errors).toEqual([])
  })
})
