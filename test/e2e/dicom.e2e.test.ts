/**
 * End to end, in a real browser (harness: test/helpers/e2e.ts): a DICOM folder typed in the open bar
 * opens the series picker (two series written by plastimatch from real scans, with their patient,
 * description, modality, date, images and size); the chosen series opens as a scan and the
 * demo-tissue bundle segments it and its result exports as DICOM-SEG from the Export panel. Patient
 * name and ID are shown in the picker only. A 4D file opens
 * the volume picker and the chosen volume opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { REPO, tempDir } from '../helpers/data'
import { HAVE_CHROMIUM, startE2eApp, type E2eApp } from '../helpers/e2e'
import { HAVE_PLASTIMATCH, PATIENT, SERIES, twoSeriesFolder } from '../helpers/dicom-folder'

const BUNDLE = join(REPO, 'resources/models/demo-tissue')
const MODEL = 'Demo tissue classifier (Gaussian, not a trained network)'
const FOUR_D = '/usr/lib/python3/dist-packages/nibabel/tests/data/functional.nii'

describe.skipIf(!HAVE_CHROMIUM || !HAVE_PLASTIMATCH)('opening a DICOM folder and a 4D file in the app: the picker, then the scan', () => {
  const tmp = tempDir('segtransfer-e2e-dicom-')
  let folder: string
  let app: E2eApp
  let page: Page

  beforeAll(async () => {
    folder = twoSeriesFolder(tmp.dir)
    app = await startE2eApp(tmp.dir)
    page = app.page
  }, 120_000)
  afterAll(async () => {
    await app?.close()
    tmp.cleanup()
  })

  const names = () => page.$$eval('[data-testid=volume-panel] li .name', (els) => els.map((e) => e.textContent?.trim()))
  const open = async (p: string) => {
    await page.fill('[data-testid=volume-path]', p)
    await page.click('[data-testid=open-volume]')
  }

  it('typing the folder lists both series with patient, series, modality, date, images and size; choosing one opens it and the model runs on it', async () => {
    await open(folder)
    await page.waitForSelector('[data-testid=series-picker]')
    const rows = await page.$$eval('[data-testid=series-row]', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())))
    expect(rows).toHaveLength(2)
    for (const s of SERIES) {
      const row = rows.find((r) => r[4] === s.description)!
      expect(row.slice(1, 3)).toEqual([PATIENT.shown, PATIENT.id])
      expect(row[5]).toBe('CT') // plastimatch writes every image series as CT
      expect(row[6]).toMatch(/^\d{4}-\d\d-\d\d$/)
      expect(row.slice(7, 9)).toEqual([String(s.size[2]), s.size.join(' × ')])
    }
    expect(await page.textContent('[data-testid=series-skipped]')).toContain('not DICOM: 1')

    await page.click(`[data-testid=series-row]:has-text("${SERIES[1].description}") [data-testid=series-open]`)
    await expect.poll(names, { timeout: 15_000 }).toEqual([`study · ${SERIES[1].description}`])
    expect(await page.$('[data-testid=series-picker]')).toBeNull()
    expect(await page.textContent('[data-testid=volume-panel] li.on .meta')).toContain(`${SERIES[1].size.join(' × ')} voxels`)
    const body = (await page.textContent('body')) ?? ''
    expect(body).not.toContain(PATIENT.shown) // shown in the picker only
    expect(body).not.toContain(PATIENT.id)

    await page.fill('[data-testid=bundle-path]', BUNDLE)
    await page.click('[data-testid=open-bundle]')
    await expect.poll(() => page.textContent('[data-testid=bundle-name]'), { timeout: 15_000 }).toBe(MODEL)
    await page.selectOption('[data-testid=device]', 'cpu')
    await page.click('[data-testid=run]')
    await expect.poll(() => page.$$('[data-testid=segmentation-select] option').then((o) => o.length), { timeout: 60_000 }).toBe(1)
    expect(await page.$$eval('[data-testid=label-table] tbody tr', (r) => r.length)).toBeGreaterThan(0)

    // DICOM-SEG is offered for a scan opened from a series, under a name that says which series
    const seg = `${folder}.s2-brain-t1-axial.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.dcm`
    expect(await page.inputValue('[data-testid=export-seg-path]')).toBe(seg)
    expect(await page.$('[data-testid=export-seg-why]')).toBeNull()
    await page.click('[data-testid=export-seg]')
    await expect.poll(() => page.textContent('[data-testid=last-export]').catch(() => ''), { timeout: 30_000 }).toBe(`Saved ${seg}`)
    expect(readFileSync(seg).subarray(128, 132).toString('latin1')).toBe('DICM')
    expect(app.errors).toEqual([])
  }, 120_000)

  it.skipIf(!existsSync(FOUR_D))('a 4D file opens the volume picker; Cancel opens nothing, the chosen volume opens', async () => {
    await open(FOUR_D)
    await page.waitForSelector('[data-testid=volume-select]')
    expect(await page.$$eval('[data-testid=volume-select] option', (o) => o.length)).toBe(20)
    await page.click('[data-testid=picker-cancel]')
    expect(await page.$('[data-testid=series-picker]')).toBeNull()
    expect(await names()).toHaveLength(1)

    await open(FOUR_D)
    await page.selectOption('[data-testid=volume-select]', '7')
    await page.click('[data-testid=volume-open]')
    await expect.poll(names, { timeout: 15_000 }).toEqual([`study · ${SERIES[1].description}`, 'functional.nii · volume 7 of 20'])
    expect(app.errors).toEqual([])
  })
})
