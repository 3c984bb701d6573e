/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts): the brush on the real spleen CT.
 * A 3D sphere of radius 5 mm, label 1, painted with one click on the axial view, exported through the
 * app core and read back by the engine's reader, is exactly the voxels whose centres lie within 5 mm
 * of the dab's world point (the set computed here by brute force over the file's own grid), and with an
 * intensity range only those of them in range. Undo, and
 * the export (replacing the file only after the confirmation) holds none of them; redo, all again.
 * The edited map is uploaded to the core only when it changed since its last upload. DICOM-SEG export is
 * disabled, with its reason shown, for this scan not opened from a DICOM series.
 * Two axial discs 8 slices apart, filled between by the engine's interpolation over the contract.
 * (The dab time is printed by editing-tools.e2e.test.ts, on a 512² slice.)
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { Page, Request } from 'playwright-core'
import { data } from '../helpers/data'
import { ARTIFACTS, HAVE_CHROMIUM, type E2eApp } from '../helpers/e2e'
import { exportLabels, spleenSession } from './editing-session'
import { readVolume } from '../../src/engine/volume/read'
import { nonzeroOffsets as nonzero, voxelsWithinMm as withinRadius } from '../helpers/grid'
import type { Volume } from '../../src/engine/volume/volume'


describe.skipIf(!HAVE_CHROMIUM)('editing: paint, undo, redo and export on the scan grid', () => {
  const session = spleenSession('segtransfer-e2e-edit-')
  let page: Page
  let scan: Volume
  let app: E2eApp
  beforeAll(() => void ({ page, scan, app } = session))

  /** Exports the shown segmentation's label map to `out` and returns its labelled voxel offsets. */
  const exportTo = async (out: string) => nonzero(await exportLabels(page, out))
  const axialCentre = async () => {
    const box = (await page.locator('[data-view=axial] canvas').boundingBox())!
    return [box.x + box.width / 2, box.y + box.height / 2]
  }

  it('a 5 mm sphere of label 1 exports exactly the voxels within 5 mm of its centre; undo removes them, redo brings them back; the map is uploaded only when changed since its last upload; DICOM-SEG is disabled, with its reason, for this NIfTI scan', async () => {
    await page.fill('[data-testid=volume-path]', session.ct)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(1)
    await page.click('[data-testid=tool-paint]')
    await page.click('[data-testid=brush-3d]')
    await page.fill('[data-testid=brush-radius]', '5')
    await page.press('[data-testid=brush-radius]', 'Tab')
    const [x, y] = await axialCentre()
    await page.mouse.click(x + 7, y - 11)
    await expect.poll(() => page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab')).not.toBe('')
    const centre = (await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab'))!.split(',').map(Number)
    const want = withinRadius(scan, centre, 5)
    console.log(`sphere r=5 mm at LPS (${centre.map((c) => c.toFixed(2)).join(', ')}): ${want.length} voxels within 5 mm`)
    expect(want.length).toBeGreaterThan(50)
    expect(await page.$$eval('[data-testid=label-table] tbody tr', (rows) => rows.map((r) => r.children[3].textContent))).toEqual([want.length.toLocaleString('en-US')])
    expect(await page.textContent('[data-testid=segmentation-select] option')).toBe('edited')

    let uploads = 0 // the edited map handed to the core (the bridge's putEditedLabels), counted as the page sends it
    const count = (r: Request) => void (r.url().endsWith('/api/putEditedLabels') && uploads++)
    page.on('request', count)
    const out = join(session.dir, 'edited.nii.gz')
    expect(await exportTo(out)).toEqual(want)
    expect(await exportTo(join(session.dir, 'again.nii.gz'))).toEqual(want)
    expect(uploads).toBe(1) // unchanged since the first export: not uploaded again
    // DICOM-SEG must reference the series the scan came from: for this NIfTI scan its row is disabled, saying why.
    expect([await page.isDisabled('[data-testid=export-seg]'), await page.isDisabled('[data-testid=export-seg-path]')]).toEqual([true, true])
    expect(await page.textContent('[data-testid=export-seg-why]')).toBe(`${basename(session.ct)} was not opened from a DICOM series, which a DICOM-SEG must reference.`)

    await page.keyboard.press('Control+z')
    // Label 1 joined the table with this first paint, in the same undo step: the edited copy is empty again, its table too.
    await expect.poll(() => page.$$eval('[data-testid=label-table] tbody tr', (rows) => rows.map((r) => r.children[3].textContent))).toEqual([])
    const [bytes, mtime] = [readFileSync(out), statSync(out).mtimeMs]
    await page.fill('[data-testid=export-labels-path]', out)
    await page.click('[data-testid=export-labels]')
    await page.click('[data-testid=confirm-keep]') // the existing file is replaced only when confirmed
    expect([readFileSync(out).equals(bytes), statSync(out).mtimeMs]).toEqual([true, mtime])
    await page.click('[data-testid=export-labels]')
    await page.click('[data-testid=confirm-overwrite]')
    await expect.poll(async () => nonzero((await readVolume(out)).data).length).toBe(0)
    expect(uploads).toBe(2) // the undo's state once, though three exports were asked for

    await page.keyboard.press('Control+y')
    expect(await exportTo(join(session.dir, 'redone.nii.gz'))).toEqual(want)
    expect(uploads).toBe(3)
    page.off('request', count)
    await page.screenshot({ path: join(ARTIFACTS, 'editing-sphere.png') })
    expect(app.errors).toEqual([])
  }, 120_000)

  it('a 5 mm sphere painted only over [90, 3000] HU exports exactly the voxels within 5 mm whose intensity lies in the range; undo removes it, with the keys also from the colour picker but not from a text field', async () => {
    const set = async (id: string, value: string) => {
      await page.fill(`[data-testid=${id}]`, value)
      await page.press(`[data-testid=${id}]`, 'Tab')
    }
    const earlier = await exportTo(join(session.dir, 'before-range.nii.gz'))
    await set('brush-label', '3')
    await page.check('[data-testid=brush-range]')
    await set('brush-min', '90')
    await set('brush-max', '3000')
    const before = await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab')
    const [x, y] = await axialCentre()
    await page.mouse.click(x + 30, y + 25)
    await expect.poll(() => page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab')).not.toBe(before)
    const centre = (await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab'))!.split(',').map(Number)
    const sphere = withinRadius(scan, centre, 5)
    const want = sphere.filter((o) => scan.data[o] >= 90 && scan.data[o] <= 3000)
    console.log(`sphere r=5 mm over [90, 3000] HU at LPS (${centre.map((c) => c.toFixed(2)).join(', ')}): ${want.length} of its ${sphere.length} voxels in range`)
    expect(want.length).toBeGreaterThan(0)
    expect(want.length).toBeLessThan(sphere.length) // the range cut it: a test that could not fail otherwise
    const labels = await exportLabels(page, join(session.dir, 'in-range.nii.gz'))
    expect(nonzero(Array.from(labels, (v) => (v === 3 ? 1 : 0)))).toEqual(want)
    // Undo and redo keys act from the colour picker (it has no text to undo), never from a text field (Ctrl+Z is its own undo there).
    const rows = () => page.$$eval('[data-testid=label-table] tbody tr', (rs) => rs.map((r) => r.getAttribute('data-value')))
    expect(await rows()).toEqual(['1', '3'])
    await page.focus('[data-testid=label-table] tr[data-value="1"] [data-testid=label-name]')
    await page.keyboard.press('Control+z')
    expect(await rows()).toEqual(['1', '3'])
    await page.focus('[data-testid=label-table] tr[data-value="1"] [data-testid=label-color]')
    await page.keyboard.press('Control+z')
    await expect.poll(rows).toEqual(['1']) // label 3 joined the table with its paint, in the same undo step
    await page.keyboard.press('Control+Shift+z')
    await expect.poll(rows).toEqual(['1', '3'])
    await page.keyboard.press('Control+z')
    await expect.poll(rows).toEqual(['1'])
    await page.uncheck('[data-testid=brush-range]')
    await set('brush-label', '1')
    expect(await exportTo(join(session.dir, 'in-range-undone.nii.gz'))).toEqual(earlier) // the first test's sphere, as it was
    expect(app.errors).toEqual([])
  }, 120_000)

  it('two axial discs 8 slices apart, filled between: every slice between holds the label, with an area between the two', async () => {
    await page.click('[data-testid=brush-2d]')
    await page.fill('[data-testid=brush-label]', '2')
    await page.press('[data-testid=brush-label]', 'Tab')
    const disc = async (radius: string) => {
      await page.fill('[data-testid=brush-radius]', radius)
      await page.press('[data-testid=brush-radius]', 'Tab')
      const [x, y] = await axialCentre()
      await page.mouse.click(x - 20, y + 15)
    }
    await disc('12')
    const first = (await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab'))!.split(',').map(Number)
    for (let n = 0; n < 8; n++) await page.keyboard.press('ArrowUp') // the pointer is over the axial view
    await disc('6')
    const second = (await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-dab'))!.split(',').map(Number)
    await page.selectOption('[data-testid=interpolate-plane]', 'axial')
    await page.click('[data-testid=interpolate]')
    await page.waitForSelector('[data-testid=interpolate]:not([disabled])')
    const out = join(session.dir, 'filled.nii.gz')
    await exportTo(out)
    const labels = (await readVolume(out)).data
    const [nx, ny] = scan.size
    const d = scan.direction
    /** The k index of a world point: its offset from the origin along index axis k's direction (orthonormal directions). */
    const slice = (p: number[]) => Math.round(((p[0] - scan.origin[0]) * d[2] + (p[1] - scan.origin[1]) * d[5] + (p[2] - scan.origin[2]) * d[8]) / scan.spacing[2])
    const [k0, k1] = [slice(first), slice(second)].sort((a, b) => a - b)
    const areas = Array.from({ length: k1 - k0 + 1 }, (_, n) => Array.from(labels.subarray((k0 + n) * nx * ny, (k0 + n + 1) * nx * ny)).filter((x) => x === 2).length)
    console.log(`interpolated in the app, axial slices ${k0}..${k1}: areas ${areas.join(', ')} voxels`)
    expect(k1 - k0).toBe(8)
    const [big, small] = [Math.max(areas[0], areas[8]), Math.min(areas[0], areas[8])]
    expect(small).toBeGreaterThan(0)
    for (const a of areas.slice(1, -1)) {
      expect(a).toBeGreaterThanOrEqual(small) // inclusive: next to the small disc a slice may equal it
      expect(a).toBeLessThanOrEqual(big)
    }
    expect(app.errors).toEqual([])
  }, 120_000)

  it('loading spleen_ct_seg onto spleen_ct shows a label layer whose mL is the file voxel count times the voxel volume', async () => {
    const file = data('ct/spleen_ct_seg.nii.gz')
    await page.fill('[data-testid=label-file-path]', file)
    await page.click('[data-testid=load-labels]')
    await expect.poll(() => page.textContent('[data-testid=segmentation-select] option:checked'), { timeout: 15_000 }).toBe('spleen_ct_seg.nii.gz')
    const count = nonzero((await readVolume(file)).data).length
    const ml = (count * scan.spacing[0] * scan.spacing[1] * scan.spacing[2]) / 1000
    const shown = await page.$$eval('[data-testid=label-ml]', (els) => els.map((e) => Number(e.textContent)))
    console.log(`loaded spleen_ct_seg: table ${shown.join(', ')} mL; file ${count} voxels x voxel volume = ${ml.toFixed(2)} mL`)
    expect(shown.reduce((a, x) => a + x, 0)).toBeCloseTo(ml, 2)
    expect(app.errors).toEqual([])
  }, 60_000)

  it("removing an edited segmentation frees the core's copy of it too (the copy its exports uploaded), not only the page's", async () => {
    await page.selectOption('[data-testid=segmentation-select]', { label: 'edited' })
    await page.click('[data-testid=brush-3d]')
    const [x, y] = await axialCentre()
    await page.mouse.click(x - 40, y - 30) // an edit, so the next export uploads the map
    const uploaded = page.waitForResponse((r) => r.url().endsWith('/api/putEditedLabels'))
    await exportTo(join(session.dir, 'before-remove.nii.gz'))
    const coreRunId = ((await (await uploaded).json()) as { value: { runId: string } }).value.runId
    const forgotten: string[] = []
    const onRequest = (r: Request) => void (r.url().endsWith('/api/forgetRun') && forgotten.push(...(JSON.parse(r.postData()!) as { args: string[] }).args))
    page.on('request', onRequest)
    await page.click('[data-testid=segmentation-remove]')
    await expect.poll(() => forgotten).toContain(coreRunId)
    page.off('request', onRequest)
    expect(await page.$$eval('[data-testid=segmentation-select] option', (os) => os.map((o) => o.textContent))).not.toContain('edited')
    expect(app.errors).toEqual([])
  }, 60_000)
})
