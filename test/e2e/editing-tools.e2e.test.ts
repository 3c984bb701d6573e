/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts), on the real spleen CT: the editing
 * tools wired in the app. Polygons drawn by clicks and exported through the app core are exactly the
 * shared polygon tool's voxels for the same vertices (with and without the intensity range); island
 * remove / keep; the label table's rename, recolour, lock (painting over a locked label changes
 * nothing), add and delete; the 3D view recomputes only the edited label's surface; and the time
 * of a brush dab on the 512² axial slice to the frame after its redraw (printed).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { REPO } from '../helpers/data'
import { ARTIFACTS, composePngs, HAVE_CHROMIUM, UPDATE_DOCS, type E2eApp } from '../helpers/e2e'
import { exportLabels, spleenSession } from './editing-session'
import type { Volume } from '../../src/engine/volume/volume'
import { polygonFill, worldPolygon, type LabelMap, type PaintRule, type Vec3 } from '../../src/shared/editing'

describe.skipIf(!HAVE_CHROMIUM)('editing tools in the app: polygon, islands, label table, surfaces, dab time', () => {
  const session = spleenSession('segtransfer-e2e-tools-')
  let app: E2eApp
  let page: Page
  let scan: Volume
  let exports = 0
  /** Polygon A (slice k, no range) and B (slice k + 3, intensity range) as the pure tool fills them. */
  let polyA: number[] = []
  let polyB: number[] = []
  /** Screen point inside polygon A on the axial view, off the crosshair. */
  let insideA: [number, number] = [0, 0]
  beforeAll(() => void ({ app, page, scan } = session))

  /** The shown segmentation exported through the app core and read back: its voxel values. */
  const exported = () => exportLabels(page, join(session.dir, `export-${++exports}.nii.gz`))
  const offsetsOf = (a: ArrayLike<number>, value?: number): number[] => {
    const out: number[] = []
    for (let o = 0; o < a.length; o++) if (value === undefined ? a[o] !== 0 : a[o] === value) out.push(o)
    return out
  }
  const axialCentre = async (): Promise<[number, number]> => {
    const box = (await page.locator('[data-view=axial] canvas').boundingBox())!
    return [box.x + box.width / 2, box.y + box.height / 2]
  }
  /** The shared polygon tool's voxels for world vertices on the scan's grid, with the app's default label 1. */
  const pureFill = (points: Vec3[], intensity?: PaintRule['intensity']): number[] => {
    const map: LabelMap = { size: scan.size, spacing: scan.spacing, origin: scan.origin, direction: scan.direction, data: new Uint8Array(scan.data.length) }
    return Array.from(polygonFill(map, worldPolygon(map, 'axial', points), { mode: 'paint', label: 1, intensity }).indices)
  }
  const lastPolygon = async (): Promise<Vec3[]> =>
    (await page.getAttribute('[data-testid=edit-toolbar]', 'data-last-polygon'))!.split(';').map((p) => p.split(',').map(Number) as Vec3)
  /** The in-progress polygon's vertex count drawn on the axial view, or null when none is drawn (no waiting). */
  const vertices = () => page.evaluate(`document.querySelector('[data-view=axial] [data-testid=polygon-overlay]')?.getAttribute('data-vertices') ?? null`)
  const voxelsColumn = () => page.$$eval('[data-testid=label-table] tbody tr', (rows) => rows.map((r) => `${r.getAttribute('data-value')}:${r.children[3].textContent}`))
  const CORNERS: [number, number][] = [[-40, -30], [30, -35], [45, 20], [-10, 40], [-45, 10]]

  it('a polygon clicked on the axial slice fills exactly the shared polygon tool\'s voxels, also within an intensity range; Esc cancels one', async () => {
    await page.fill('[data-testid=volume-path]', session.ct)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(1)
    await page.click('[data-testid=tool-polygon]')
    const [x, y] = await axialCentre()
    insideA = [x + 10, y + 12] // off the crosshair lines
    for (const [dx, dy] of CORNERS.slice(0, 4)) await page.mouse.click(x + dx, y + dy)
    expect(await vertices()).toBe('4') // drawn while in progress
    const [dx, dy] = CORNERS[4]
    await page.mouse.dblclick(x + dx, y + dy)
    await expect.poll(vertices).toBe(null)
    const a = await lastPolygon()
    expect(a.length).toBe(5)
    polyA = pureFill(a)
    expect(offsetsOf(await exported())).toEqual(polyA)

    // Three slices up, with the range [90, 3000] HU, closed by Enter: only the in-range voxels.
    for (let n = 0; n < 3; n++) await page.keyboard.press('ArrowUp') // the pointer is over the axial view
    await page.check('[data-testid=brush-range]')
    await page.fill('[data-testid=brush-min]', '90')
    await page.press('[data-testid=brush-min]', 'Tab')
    await page.fill('[data-testid=brush-max]', '3000')
    await page.press('[data-testid=brush-max]', 'Tab')
    for (const [dx, dy] of CORNERS) await page.mouse.click(x + dx * 1.5, y + dy * 1.5)
    await page.keyboard.press('Enter')
    await expect.poll(vertices).toBe(null)
    const b = await lastPolygon()
    polyB = pureFill(b, { scan: scan.data, min: 90, max: 3000 })
    const unconstrained = pureFill(b).length
    console.log(`polygon A: ${polyA.length} voxels; polygon B three slices up: ${unconstrained} voxels, ${polyB.length} of them in [90, 3000] HU`)
    expect(polyB.length).toBeGreaterThan(0)
    expect(polyB.length).toBeLessThan(unconstrained)
    expect(offsetsOf(await exported())).toEqual([...polyA, ...polyB].sort((p, q) => p - q))
    await page.uncheck('[data-testid=brush-range]')

    // Esc cancels a polygon in progress: nothing changes.
    await page.mouse.click(x - 30, y - 30)
    await page.mouse.click(x + 30, y - 30)
    await page.mouse.click(x, y + 30)
    expect(await vertices()).toBe('3')
    await page.screenshot({ path: join(ARTIFACTS, 'editing-polygon.png') })
    if (UPDATE_DOCS) writeFileSync(join(REPO, 'docs/screenshot-editing.png'), await composePngs(page, [await page.screenshot()], 0.6))
    await page.keyboard.press('Escape')
    await expect.poll(vertices).toBe(null)
    expect(await voxelsColumn()).toEqual([`1:${(polyA.length + polyB.length).toLocaleString('en-US')}`])
    expect(app.errors).toEqual([])
  }, 120_000)

  it('island remove deletes the clicked connected island of the active label, keep leaves only it; both undoable', async () => {
    for (let n = 0; n < 3; n++) await page.keyboard.press('ArrowDown') // back to polygon A's slice
    await page.click('[data-testid=tool-island]')
    await page.check('[data-testid=island-remove]')
    await page.mouse.click(...insideA)
    await expect.poll(voxelsColumn).toEqual([`1:${polyB.length.toLocaleString('en-US')}`])
    expect(offsetsOf(await exported())).toEqual(polyB)
    await page.keyboard.press('Control+z')
    await page.check('[data-testid=island-keep]')
    await page.mouse.click(...insideA)
    await expect.poll(voxelsColumn).toEqual([`1:${polyA.length.toLocaleString('en-US')}`])
    expect(offsetsOf(await exported())).toEqual(polyA)
    console.log(`islands: remove A leaves ${polyB.length} voxels (B), keep A leaves ${polyA.length} (A)`)
    await page.keyboard.press('Control+z')
    await expect.poll(voxelsColumn).toEqual([`1:${(polyA.length + polyB.length).toLocaleString('en-US')}`])
    expect(app.errors).toEqual([])
  }, 60_000)

  it('label table: rename and recolour show at once; painting over a locked label changes nothing; add and delete', async () => {
    const row1 = '[data-testid=label-table] tr[data-value="1"]'
    await page.fill(`${row1} [data-testid=label-name]`, 'spleen')
    await page.press(`${row1} [data-testid=label-name]`, 'Tab')
    await expect.poll(() => page.getAttribute(row1, 'data-label')).toBe('spleen')

    // Recolour to pure green: the overlay inside polygon A turns green (R = B, G well above).
    await page.locator(`${row1} [data-testid=label-color]`).fill('#00ff00')
    const pixel = () => page.evaluate(`(() => { const c = document.querySelector('[data-view=axial] canvas'); const r = c.getBoundingClientRect(); return Array.from(c.getContext('2d').getImageData(${insideA[0]} - r.left, ${insideA[1]} - r.top, 1, 1).data.slice(0, 3)) })()`) as Promise<number[]>
    await expect.poll(async () => { const [r, g, b] = await pixel(); return r === b && g > r + 60 }).toBe(true)
    // A colour too close to grey is refused with a one-line message, the colour kept.
    await page.locator(`${row1} [data-testid=label-color]`).fill('#f0f0f0')
    await expect.poll(() => page.textContent('[data-testid=error]')).toContain('too close to grey')
    await page.click('[data-testid=error] button')

    // Lock label 1; paint label 2 with a 3D sphere over polygon A: the map is unchanged.
    await page.check(`${row1} [data-testid=label-lock]`)
    const before = await exported()
    await page.click('[data-testid=tool-paint]')
    await page.click('[data-testid=brush-3d]')
    await page.fill('[data-testid=brush-radius]', '4')
    await page.press('[data-testid=brush-radius]', 'Tab')
    await page.fill('[data-testid=brush-label]', '2')
    await page.press('[data-testid=brush-label]', 'Tab')
    await page.mouse.click(...insideA)
    await expect.poll(() => page.locator('[data-testid=label-table] tr[data-value="2"]').count()).toBe(1)
    const after = await exported()
    expect(offsetsOf(after, 2)).toEqual([]) // 5 mm slices: the 4 mm sphere stays on slice k, inside polygon A
    expect(offsetsOf(after, 1)).toEqual(offsetsOf(before, 1))
    // Erasing the locked label is refused.
    await page.fill('[data-testid=brush-label]', '1')
    await page.press('[data-testid=brush-label]', 'Tab')
    await page.click('[data-testid=tool-erase]')
    await page.mouse.click(...insideA)
    await expect.poll(() => page.textContent('[data-testid=error]')).toContain('label 1 is locked')
    await page.click('[data-testid=error] button')

    await page.click('[data-testid=label-add]')
    await expect.poll(() => page.$$eval('[data-testid=label-table] tbody tr', (r) => r.map((x) => x.getAttribute('data-value')))).toEqual(['1', '2', '3'])
    expect(await page.inputValue('[data-testid=brush-label]')).toBe('3')
    await page.click('[data-testid=label-table] tr[data-value="2"] [data-testid=label-delete]')
    await expect.poll(() => page.$$eval('[data-testid=label-table] tbody tr', (r) => r.map((x) => x.getAttribute('data-value')))).toEqual(['1', '3'])
    expect(await page.isDisabled(`${row1} [data-testid=label-delete]`)).toBe(true) // locked
    expect(app.errors).toEqual([])
  }, 60_000)
})
