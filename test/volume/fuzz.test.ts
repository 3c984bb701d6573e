/**
 * The reader under header fuzzing (issue 13): a few hundred mutations of the public scans' headers
 * (NIfTI-1 both byte orders, NIfTI-2, NRRD, MHA; test/volume/fuzz-cases.ts), each read with a
 * deadline. Every case must give a plausible volume or one SegError line with a known code: no
 * hang, no crash, no raw or unexpected error, no internal text. `npm run fuzz` runs 10,000+.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { DATA, tempDir } from './fixtures'
import { loadSeeds, runFuzz } from './fuzz-cases'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const NIFTI2 = fileURLToPath(new URL('../fixtures/nifti2/le_int16_scaled_sform.nii.gz', import.meta.url))

describe('reader fuzz', () => {
  it('300 mutated headers (seed 2026): 0 hangs, 0 crashes, 0 raw errors, every refusal one known-code line naming the file', async () => {
    const seeds = await loadSeeds(DATA, NIFTI2, tmp.dir)
    const report = await runFuzz({ seeds, count: 300, seed: 2026, workDir: tmp.dir, deadlineMs: 10_000 })
    expect(report.failures).toEqual([])
    expect(report.verdicts.read + report.verdicts.refused).toBe(300)
    // Both outcomes occur, so the mutations neither all break nor all miss the headers.
    expect(report.verdicts.read).toBeGreaterThan(30)
    expect(report.verdicts.refused).toBeGreaterThan(30)
  }, 120_000)
})
