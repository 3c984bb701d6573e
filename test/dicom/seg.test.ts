/**
 * DICOM-SEG out: the shipped brain model's result on a FLAIR series (written from the public scan
 * by plastimatch) exported by `segment --out result.dcm`; dicom3tools' dciodvfy validates the
 * Segmentation IOD, pydicom reads the segments back, and our reader's labels equal the NIfTI export.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { readdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { expectFlairSeg, plastimatchSeries, toolsThere, TOOLS_HINT } from './dicom-helpers'

if (!toolsThere) console.warn(`DICOM-SEG tests skipped: ${TOOLS_HINT}`)

describe.runIf(toolsThere)('DICOM-SEG of the shipped model on a FLAIR series', () => {
  const tmp = tempDir('segtransfer-dicomseg-')
  afterAll(() => tmp.cleanup())

  it('passes dciodvfy, reads back in pydicom with its segments, and re-imports equal to the NIfTI export on the same grid; a long name works (one temp file, not two nested), one too long for its temp file is refused, and no partial file is left', async () => {
    const series = join(tmp.dir, 'flair')
    plastimatchSeries(data('mri/FLAIR.nii.gz'), series)
    const model = join(REPO, 'resources/models/brain-tissue-resunet')
    // A 220-character name: its one temp file's name fits the 255-byte limit; two nested ones' did not.
    const seg = join(tmp.dir, `${'r'.repeat(216)}.dcm`)
    const nii = join(tmp.dir, 'result.nii.gz')
    for (const out of [seg, nii]) {
      const r = await cli('segment', '--model', model, '--input', series, '--out', out, '--device', 'cpu', '--quiet')
      expect(r.code, r.err).toBe(0)
    }

    await expectFlairSeg(seg, series, nii, 1e-3)
    // A name leaving no room for its temp file's: refused in one line before the run, nothing left behind.
    const tooLong = join(tmp.dir, `${'x'.repeat(240)}.dcm`)
    const r = await cli('segment', '--model', model, '--input', series, '--out', tooLong, '--device', 'cpu', '--quiet')
    expect([r.code, r.err.trim()]).toEqual([2, expect.stringMatching(/^error: \S+x\.dcm: the file name is 244 bytes; expected at most 2\d\d bytes \(room for the temp file written beside it\)$/)])
    expect(readdirSync(tmp.dir).sort()).toEqual([basename(seg), 'flair', 'result.nii.gz'].sort())
  }, 80_000)
})
