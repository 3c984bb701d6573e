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
import { resampleToGrid } from '../../src/engine/volume/resample'
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
  /** Sets an Edit panel field; the app takes the value when the field is left. */
  const setField = async (id: string, value: string) => {
    await page.fill(`[data-testid=${id}]`, value)
    await page.press(`[data-testid=${id}]`, 'Tab')
  }
  /** The paint brush: disc or sphere, radius (mm), and the active label when given. */
  const brush = async (shape: '2d' | '3d', radiusMm: string, label?: string) => {
    await page.click('[data-testid=tool-paint]')
    await page.click(`[data-testid=brush-${shape}]`)
    await setField('brush-radius', radiusMm)
    if (label) await setField('brush-label', label)
  }
  const CORNERS: [number, number][] = [[-40, -30], [30, -35], [45, 20], [-10, 40], [-45, 10]]

  it('a polygon clicked on the axial slice fills exactly the shared polygon tool\'s voxels, also within an intensity range; Esc cancels one', async () => {
    await page.fill('[data-testid=volume-path]', session.ct)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count()).toBe(1)
    // A refused tool (island on background) makes no edited segmentation.
    await page.click('[data-testid=tool-island]')
    await page.mouse.click(...(await axialCentre()))
    await expect.poll(() => page.textContent('[data-testid=error]')).toContain('holds background')
    await page.click('[data-testid=error] button')
    expect(await page.isVisible('[data-testid=labels-empty]')).toBe(true)
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
    await setField('brush-min', '90')
    await setField('brush-max', '3000')
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
    await brush('3d', '4', '2')
    await page.mouse.click(...insideA)
    await expect.poll(() => page.locator('[data-testid=label-table] tr[data-value="2"]').count()).toBe(1)
    const after = await exported()
    expect(offsetsOf(after, 2)).toEqual([]) // 5 mm slices: the 4 mm sphere stays on slice k, inside polygon A
    expect(offsetsOf(after, 1)).toEqual(offsetsOf(before, 1))
    // Erasing the locked label is refused.
    await setField('brush-label', '1')
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

  it('after an edit of label 3 the 3D view asks the mesh worker for label 3\'s surface only (label 1 is kept)', async () => {
    const view3d = '[data-view-3d]'
    await page.waitForSelector(`${view3d}[data-status*=triangles]`, { timeout: 30_000 })
    await page.waitForTimeout(600) // past the settle time of the edits before
    const asked = async () => Number(await page.getAttribute(view3d, 'data-mesh-asked'))
    const before = await asked()
    await brush('2d', '5')
    const [x, y] = await axialCentre()
    await page.mouse.click(x + 90, y) // outside polygon A: label 3's own voxels
    await expect.poll(() => page.getAttribute(view3d, 'data-mesh-last'), { timeout: 10_000 }).toBe('3')
    await page.waitForSelector(`${view3d}[data-status*="(label 3)"]`, { timeout: 30_000 })
    console.log(`3D view after the edit: ${await page.getAttribute(view3d, 'data-status')}; label surfaces asked: ${before} before, ${await asked()} after`)
    expect(await asked()).toBe(before + 1)

    // The editing tools at work, for docs/screenshot-editing.png: a polygon in progress over the edits.
    await page.click('[data-testid=tool-polygon]')
    for (const [dx, dy] of CORNERS.slice(0, 4)) await page.mouse.click(x + 90 + dx * 0.6, y - 60 + dy * 0.6)
    await page.mouse.move(x + 90 + CORNERS[4][0] * 0.6, y - 60 + CORNERS[4][1] * 0.6)
    await page.screenshot({ path: join(ARTIFACTS, 'editing-tools.png') })
    if (UPDATE_DOCS) writeFileSync(join(REPO, 'docs/screenshot-editing.png'), await composePngs(page, [await page.screenshot()], 0.6))
    await page.keyboard.press('Escape')
    expect(app.errors).toEqual([])
  }, 60_000)

  it('rename, recolour and delete of label 3 are undo steps (a refused colour is none): undo ×3 brings back its voxels, then its colour, then its name; redo ×3 deletes it again', async () => {
    const row3 = '[data-testid=label-table] tr[data-value="3"]'
    const values = () => page.$$eval('[data-testid=label-table] tbody tr', (r) => r.map((x) => x.getAttribute('data-value')))
    const nameAndColour = async () => [await page.getAttribute(row3, 'data-label'), await page.inputValue(`${row3} [data-testid=label-color]`)]
    const first = await exported()
    const [voxels1, voxels3] = [offsetsOf(first, 1), offsetsOf(first, 3)]
    expect(voxels3.length).toBeGreaterThan(0) // the disc of the test before
    expect(await nameAndColour()).toEqual(['label 3', '#0000ff'])
    await page.fill(`${row3} [data-testid=label-name]`, 'lesion')
    await page.press(`${row3} [data-testid=label-name]`, 'Tab')
    await page.locator(`${row3} [data-testid=label-color]`).fill('#ff8000')
    await expect.poll(nameAndColour).toEqual(['lesion', '#ff8000'])
    await page.locator(`${row3} [data-testid=label-color]`).fill('#808080') // refused: adds no step (the undos below would be one off)
    await expect.poll(() => page.textContent('[data-testid=error]')).toContain('too close to grey')
    await page.click('[data-testid=error] button')
    expect(await nameAndColour()).toEqual(['lesion', '#ff8000']) // the picker shows the kept colour again
    await page.click(`${row3} [data-testid=label-delete]`)
    await expect.poll(values).toEqual(['1'])
    const undo = async (expected: string[]) => {
      await page.keyboard.press('Control+z')
      await expect.poll(nameAndColour).toEqual(expected)
    }
    await undo(['lesion', '#ff8000']) // the delete, in one step: the row as it was, and its voxels
    const undeleted = await exported()
    expect([offsetsOf(undeleted, 3), offsetsOf(undeleted, 1)]).toEqual([voxels3, voxels1])
    await undo(['lesion', '#0000ff'])
    await undo(['label 3', '#0000ff'])
    expect(offsetsOf(await exported(), 3)).toEqual(voxels3) // the disc (the step before the rename) is still there
    await page.keyboard.press('Control+y')
    await page.keyboard.press('Control+y')
    await expect.poll(nameAndColour).toEqual(['lesion', '#ff8000'])
    await page.keyboard.press('Control+y')
    await expect.poll(values).toEqual(['1'])
    const redone = await exported()
    expect([offsetsOf(redone, 3), offsetsOf(redone, 1)]).toEqual([[], voxels1])
    expect(app.errors).toEqual([])
  }, 60_000)

  it('a brush dab on a 512² axial slice to the frame after its redraw (25 dabs, printed)', async () => {
    // spleen_ct is 164×166 in-plane: the real scan resampled (trilinear) to 512×512 in-plane, written as NRRD.
    const big = join(session.dir, 'spleen_ct_512.nrrd')
    writeNrrd(big, upsampledInPlane(scan, 512))
    await page.setViewportSize({ width: 1900, height: 1400 })
    const t512 = Date.now()
    await page.fill('[data-testid=volume-path]', big)
    await page.click('[data-testid=open-volume]')
    await expect.poll(() => page.locator('[data-testid=volume-panel] li').count(), { timeout: 20_000 }).toBe(2)
    await brush('2d', '3', '1')
    const [x, y] = await axialCentre()
    const opened = Date.now()
    const { dabs: t, frameMs } = (await page.evaluate(`(async () => {
      const c = document.querySelector('[data-view=axial] canvas')
      const frame = () => new Promise((r) => requestAnimationFrame(r))
      const out = []
      for (let n = 0; n < 26; n++) {
        await frame()
        await new Promise((r) => setTimeout(r, (n * 7) % 16)) // pointer events arrive at any time in a frame
        const o = { clientX: ${x} + 60 + 2 * n, clientY: ${y} + 45, button: 0, bubbles: true, pointerId: 1 } // off the crosshair lines
        let start = 0
        requestAnimationFrame(() => (start = performance.now())) // first callback of the next frame
        const t0 = performance.now()
        c.dispatchEvent(new PointerEvent('pointerdown', o))
        const handler = performance.now() - t0
        await Promise.resolve() // the views' redraw requests (Vue's flush) come before ours
        const t1 = await new Promise((r) => requestAnimationFrame(() => r(performance.now())))
        c.dispatchEvent(new PointerEvent('pointerup', o))
        if (n > 0) out.push([t1 - t0, handler + (t1 - start)]) // the first dab makes the edited copy
      }
      const f = [performance.now()]
      for (let n = 0; n < 10; n++) f.push(await new Promise((r) => requestAnimationFrame(() => r(performance.now()))))
      const gaps = f.slice(1).map((x, k) => x - f[k]).sort((a, b) => a - b)
      return { dabs: out, frameMs: gaps[gaps.length >> 1] }
    })()`)) as { dabs: [number, number][]; frameMs: number }
    const size = await page.evaluate(`(() => { const c = document.querySelector('[data-view=axial] canvas'); return c.width + 'x' + c.height })()`)
    const stat = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return `median ${s[s.length >> 1].toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms` }
    console.log(`brush dab (2D, 3 mm) on the 512x512 axial slice, ${size} px view, ${t.length} dabs: pointer event to the frame after the redraw ${stat(t.map((x) => x[0]))}; main-thread work (handler + that frame's redraws) ${stat(t.map((x) => x[1]))}; frame interval ${frameMs.toFixed(1)} ms`)
    const parts = await page.$$eval('[data-view]', (els) => els.map((e) => `${e.getAttribute('data-view')} ${e.getAttribute('data-render-ms')}`).join(', '))
    console.log(`last dab: tool ${await page.getAttribute('[data-testid=edit-toolbar]', 'data-dab-ms')} ms; slice renders (ms): ${parts}`)
    console.log(`(opening the 512² scan took ${opened - t512} ms, the dabs ${Date.now() - opened} ms)`)
    expect(t.length).toBe(25)
    expect(app.errors).toEqual([])
  }, 60_000)
})

/** `v` resampled (trilinear) to n × n voxels in-plane over the same extent, slices kept. */
function upsampledInPlane(v: Volume, n: number): Volume {
  const spacing: Vec3 = [(v.size[0] * v.spacing[0]) / n, (v.size[1] * v.spacing[1]) / n, v.spacing[2]]
  // The first voxel centre moves from half an old voxel to half a new one inside the same edge.
  const shift = [0, 1].map((a) => (spacing[a] - v.spacing[a]) / 2)
  const d = v.direction
  const origin = [0, 1, 2].map((r) => v.origin[r] + d[r * 3] * shift[0] + d[r * 3 + 1] * shift[1]) as Vec3
  return resampleToGrid(v, { size: [n, n, v.size[2]], spacing, origin, direction: [...d] }, { interpolation: 'linear', fill: -1024 })
}

/** A float32 NRRD (raw, little-endian, LPS), the simplest file the reader opens with its full geometry. */
function writeNrrd(path: string, v: Volume): void {
  const d = v.direction
  const axis = (a: number) => `(${[0, 1, 2].map((r) => d[r * 3 + a] * v.spacing[a]).join(',')})`
  const header = ['NRRD0004', 'type: float', 'dimension: 3', 'space: left-posterior-superior', `sizes: ${v.size.join(' ')}`,
    `space directions: ${[0, 1, 2].map(axis).join(' ')}`, 'kinds: domain domain domain', 'endian: little', 'encoding: raw', `space origin: (${v.origin.join(',')})`, '', ''].join('\n')
  const data = Float32Array.from(v.data)
  writeFileSync(path, Buffer.concat([Buffer.from(header), Buffer.from(data.buffer)]))
}
