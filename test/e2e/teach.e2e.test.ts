/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts): the Teach panel on the real cervical
 * spine T2. Its cord mask is loaded as a label layer, every 3rd axial slice is marked complete, a
 * linear head is trained in the core's worker with a live curve; the preview becomes a segmentation
 * of the scan whose Dice against the mask on the other slices is printed; Save writes the bundle
 * (a second Save asks first, and Keep leaves it byte-identical); the saved bundle, opened in the
 * Model panel and run on the scan through the app core, gives exactly the preview's labels. The
 * preview, corrected with the brush, trains again. Cancel stops a run within a second. A second open
 * scan listed in the panel trains with the shown one, and the saved bundle names both.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { REPO } from '../helpers/data'
import { ARTIFACTS, exportShownLabels, e2eSession, HAVE_CHROMIUM, UPDATE_DOCS, type E2eApp } from '../helpers/e2e'
import { readVolume } from '../../src/engine/volume/read'
import { parseLabelledSlices, sliceMask } from '../../src/engine/teach/labelled-slices'
import { dice } from '../../src/engine/labelmap/metrics'

const BASE = join(REPO, 'resources/models/brain-tissue-resunet')

/** Dice of label > 0 between `a` and `b` over the voxels where `where` is 1 (the engine's dice on the rest zeroed). */
function diceWhere(a: ArrayLike<number>, b: ArrayLike<number>, where: Uint8Array): number {
  const only = (d: ArrayLike<number>) => Uint16Array.from(where, (w, o) => (w ? d[o] : 0))
  return dice(only(a), only(b), (v) => v > 0, (v) => v > 0)
}

describe.skipIf(!HAVE_CHROMIUM)('teach panel: learn the cord from every 3rd axial slice, preview, save, segment', () => {
  const session = e2eSession('segtransfer-e2e-teach-', ['spine/t2.nii.gz', 'spine/t2_cord_seg.nii.gz'])
  const tmp = { dir: session.dir }
  const t2 = session.files['spine/t2.nii.gz']
  const mask = session.files['spine/t2_cord_seg.nii.gz']
  let app: E2eApp
  let page: Page
  beforeAll(() => void ({ app, page } = session))

  const exportShown = async (out: string) => {
    await exportShownLabels(page, out)
    return readVolume(out)
  }
  const shownSegmentation = () => page.textContent('[data-testid=segmentation-select] option:checked')

  it('trains with a live curve, previews a layer of the scan, saves a bundle that segments the scan exactly as previewed', async () => {
    await page.fill('[data-testid=volume-path]', t2)
    await page.click('[data-testid=open-volume]')
    await page.fill('[data-testid=label-file-path]', mask)
    await page.click('[data-testid=load-labels]')
    await expect.poll(shownSegmentation, { timeout: 15_000 }).toBe('t2_cord_seg.nii.gz')

    await page.fill('[data-testid=teach-base]', BASE)
    await page.press('[data-testid=teach-base]', 'Tab')
    await page.waitForSelector('[data-testid=teach-summary]')
    const table = (await page.textContent('[data-testid=teach-summary] pre'))!
    expect(table).toMatch(/Trainable params: 0\b/) // the base network is frozen: only the new head trains
    await page.click('[data-testid=teach-complete]')
    await page.selectOption('[data-testid=teach-plane]', 'axial')
    await page.fill('[data-testid=teach-every]', '3')
    await page.press('[data-testid=teach-every]', 'Tab')
    await page.click('[data-testid=teach-linear]')
    await page.fill('[data-testid=teach-epochs]', '20')
    await page.press('[data-testid=teach-epochs]', 'Tab')
    expect(await page.isChecked('[data-testid=teach-learn-1]')).toBe(true)

    await page.click('[data-testid=teach-train]')
    // The curve grows while the worker trains: a point is drawn before the run ends.
    await page.waitForSelector('[data-testid=teach-curve]', { timeout: 60_000 })
    const liveWhileRunning = await page.isEnabled('[data-testid=teach-cancel]')
    await expect.poll(shownSegmentation, { timeout: 60_000 }).toBe('taught label 1 (linear)')
    const points = Number(await page.getAttribute('[data-testid=teach-curve]', 'data-points'))
    expect(points).toBeGreaterThanOrEqual(2)
    expect(await page.textContent('[data-view=axial] [data-testid=view-caption]')).toContain('taught label 1 (linear) on t2.nii.gz')

    const reference = await readVolume(mask)
    const preview = await exportShown(join(tmp.dir, 'preview.nii.gz'))
    const sel = parseLabelledSlices('axial:every:3', reference)
    const other = sliceMask(reference.size, sel).map((x) => 1 - x)
    const cordDice = diceWhere(preview.data, reference.data, other)
    console.log(`teach panel, spine/t2 cord, axial every 3rd (${sel.slices.length} slices, axis ${'ijk'[sel.axis]}), linear head: ${points} curve points (live while running: ${liveWhileRunning}); Dice on the other slices ${cordDice.toFixed(4)}`)
    expect(cordDice).toBeGreaterThan(0.7)
    await page.evaluate(`document.querySelector('[data-testid=teach-panel]').scrollIntoView({ block: 'start' })`)
    await page.screenshot({ path: join(ARTIFACTS, 'teach.png') })
    if (UPDATE_DOCS) await page.screenshot({ path: join(REPO, 'docs/screenshot-teach.png') })

    const bundle = join(tmp.dir, 'taught-label-1')
    expect(await page.inputValue('[data-testid=teach-save-path]')).toBe(bundle)
    await page.click('[data-testid=teach-save]')
    await expect.poll(() => page.textContent('[data-testid=teach-saved]').catch(() => '')).toBe(`Saved ${bundle}`)
    const manifest = readFileSync(join(bundle, 'manifest.json'))
    await page.click('[data-testid=teach-save]')
    await page.click('[data-testid=teach-keep]') // an existing bundle is replaced only when confirmed
    expect(readFileSync(join(bundle, 'manifest.json')).equals(manifest)).toBe(true)

    await page.fill('[data-testid=bundle-path]', bundle)
    await page.click('[data-testid=open-bundle]')
    await page.click('[data-testid=run]')
    await expect.poll(shownSegmentation, { timeout: 60_000 }).toBe('taught-label-1')
    const saved = await exportShown(join(tmp.dir, 'saved-bundle.nii.gz'))
    let differing = 0
    for (let o = 0; o < saved.data.length; o++) if (saved.data[o] !== preview.data[o]) differing++
    console.log(`saved bundle through the app core vs the preview: ${differing} of ${saved.data.length} voxels differ`)
    expect(differing).toBe(0)
    expect(app.errors).toEqual([])
  }, 180_000)

  it('a corrected preview (an edited copy, painted with the brush) trains again into a second preview', async () => {
    await page.selectOption('[data-testid=segmentation-select]', { label: 'taught label 1 (linear)' })
    await page.click('[data-testid=tool-paint]')
    await page.click('[data-testid=brush-3d]')
    const box = (await page.locator('[data-view=axial] canvas').boundingBox())!
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    await page.click('[data-testid=tool-none]')
    await expect.poll(shownSegmentation).toBe('taught label 1 (linear) edited')
    await page.click('[data-testid=teach-train]')
    await expect.poll(shownSegmentation, { timeout: 60_000 }).toBe('taught label 1 (linear) #2')
    expect(Number(await page.getAttribute('[data-testid=teach-curve]', 'data-points'))).toBeGreaterThanOrEqual(2)
    expect(app.errors).toEqual([])
  }, 90_000)

  it('Cancel stops a training run within a second and adds no segmentation', async () => {
    await page.selectOption('[data-testid=segmentation-select]', { label: 't2_cord_seg.nii.gz' })
    const before = await page.locator('[data-testid=segmentation-select] option').count()
    await page.click('[data-testid=teach-mlp]')
    await page.fill('[data-testid=teach-epochs]', '500')
    await page.press('[data-testid=teach-epochs]', 'Tab')
    await page.click('[data-testid=teach-train]')
    await expect.poll(() => page.textContent('[data-testid=teach-message]'), { timeout: 60_000 }).toMatch(/bringing|features|epoch/) // the worker runs
    await page.click('[data-testid=teach-cancel]')
    await expect.poll(() => page.textContent('[data-testid=teach-message]'), { timeout: 5_000 }).toBe('cancelled')
    await expect.poll(() => page.getAttribute('[data-testid=teach-message]', 'data-cancel-ms').then(Number)).toBeGreaterThan(0)
    const ms = Number(await page.getAttribute('[data-testid=teach-message]', 'data-cancel-ms'))
    console.log(`teach cancel: the run ended ${ms} ms after Cancel`)
    expect(ms).toBeLessThan(1000)
    expect(await page.locator('[data-testid=segmentation-select] option').count()).toBe(before)
    expect(await page.locator('[data-testid=error]').count()).toBe(0) // a cancel is a note, not an error
    expect(app.errors).toEqual([])
  }, 90_000)

  it('teaches from a second open scan listed in the panel, and the saved bundle names both scans', async () => {
    const [t2b, maskB] = [join(tmp.dir, 't2_b.nii.gz'), join(tmp.dir, 't2_b_cord.nii.gz')]
    copyFileSync(t2, t2b)
    copyFileSync(mask, maskB)
    await page.fill('[data-testid=volume-path]', t2b)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.textContent('[data-testid=volume-panel] li.on .name')).toBe('t2_b.nii.gz')
    await page.fill('[data-testid=label-file-path]', maskB)
    await page.click('[data-testid=load-labels]')
    await expect.poll(shownSegmentation, { timeout: 15_000 }).toBe('t2_b_cord.nii.gz')
    await page.click('[data-testid=volume-panel] li:has-text("t2.nii.gz")')
    await page.selectOption('[data-testid=segmentation-select]', { label: 't2_cord_seg.nii.gz' })

    await page.click('[data-testid=teach-add-scan]')
    expect(await page.textContent('[data-testid=teach-scan-2] select >> nth=0 >> option:checked')).toBe('t2_b.nii.gz')
    expect(await page.inputValue('[data-testid=teach-scan-2] input')).toBe('axial:every:3') // the shown scan's choice to start with
    await page.fill('[data-testid=teach-scan-2] input', 'axial:every:4')
    await page.click('[data-testid=teach-linear]')
    await page.fill('[data-testid=teach-epochs]', '5')
    await page.press('[data-testid=teach-epochs]', 'Tab')
    await page.click('[data-testid=teach-train]')
    await expect.poll(shownSegmentation, { timeout: 60_000 }).toBe('taught label 1 (linear) #3')

    const bundle = join(tmp.dir, 'taught-two-scans')
    await page.fill('[data-testid=teach-save-path]', bundle)
    await page.click('[data-testid=teach-save]')
    await expect.poll(() => page.textContent('[data-testid=teach-saved]').catch(() => '')).toBe(`Saved ${bundle}`)
    const scans = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).provenance.at(-1).details.scans
    expect(scans.map((x: { name: string; labelledSlices: string }) => `${x.name} ${x.labelledSlices}`)).toEqual(['t2.nii.gz axial:every:3', 't2_b.nii.gz axial:every:4'])
    expect(app.errors).toEqual([])
  }, 90_000)
})
