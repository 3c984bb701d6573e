/**
 * The editing e2e files' shared set-up: a copy of the real spleen CT in a temporary folder, read by the
 * engine, and the app in chromium (test/helpers/e2e.ts); plus exporting the shown segmentation.
 */
import { beforeAll, expect } from 'vitest'
import type { Page } from 'playwright-core'
import { e2eSession, type E2eApp } from '../helpers/e2e'
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

/** Registers beforeAll / afterAll for a describe block (e2eSession); the returned object is filled in beforeAll. */
export function spleenSession(prefix: string): SpleenSession {
  const base = e2eSession(prefix, ['ct/spleen_ct.nii.gz'])
  const session = { dir: base.dir, ct: base.files['ct/spleen_ct.nii.gz'] } as SpleenSession
  beforeAll(async () => {
    session.scan = await readVolume(session.ct)
    session.app = base.app
    session.page = base.page
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
