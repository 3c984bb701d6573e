/**
 * The editing e2e files' shared set-up: a copy of the real spleen CT in a temporary folder, read by the
 * engine, and the app in chromium (test/helpers/e2e.ts); plus exporting the shown segmentation.
 */
import { afterAll, beforeAll, expect } from 'vitest'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { data, tempDir } from '../helpers/data'
import { startE2eApp, type E2eApp } from '../helpers/e2e'
import { readVolume } from '../../src/engine/volume/read'
import type { Volume } from '../../src/engine/volume/volume'

export interface SpleenSession {
  dir: string
  /** The scan's path in `dir`. */
  ct: string
  app: E2eApp
  page: Page
  scan: Volume
}

/** Registers beforeAll / afterAll for a describe block; the returned object is filled in beforeAll. */
export function spleenSession(prefix: string): SpleenSession {
  const tmp = tempDir(prefix)
  const session = { dir: tmp.dir, ct: join(tmp.dir, 'spleen_ct.nii.gz') } as SpleenSession
  beforeAll(async () => {
    copyFileSync(data('ct/spleen_ct.nii.gz'), session.ct)
    session.scan = await readVolume(session.ct)
    session.app = await startE2eApp(tmp.dir)
    session.page = session.app.page
  })
  afterAll(async () => {
    await session.app?.close()
    tmp.cleanup()
  })
  return session
}

/** Exports the shown segmentation's label map to `out` through the app core and reads it back (its voxel values). */
export async function exportLabels(page: Page, out: string): Promise<ArrayLike<number>> {
  await page.fill('[data-testid=export-labels-path]', out)
  await page.click('[data-testid=export-labels]')
  await expect.poll(() => page.textContent('[data-testid=last-export]').catch(() => '')).toBe(`Saved ${out}`)
  return (await readVolume(out)).data
}
