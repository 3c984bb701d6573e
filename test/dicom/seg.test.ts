/**
 * DICOM-SEG out: the shipped brain model's result on a FLAIR series (written from the public scan
 * by plastimatch) exported by `segment --out result.dcm`; dicom3tools' dciodvfy validates the
 * Segmentation IOD, pydicom reads the segments back, and our reader's labels equal the NIfTI export.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { expectFlairSeg, plastimatchSeries, toolsThere, TOOLS_HINT } from './dicom-helpers'

if (!toolsThere) console.warn(`DICOM-SEG tests skipped: ${TOOLS_HINT}`)

describe.runIf(toolsThere)('DICOM-SEG of the shipped model on a FLAIR series', () => {
  const tmp = tempDir('segtransfer-dicomseg-')
  afterAll(() => tmp.cleanup())

  it('passes dciodvfy, reads back in pydicom with its segments, and re-imports equal to the NIfTI export on the same grid', async () => {
    const series = join(tmp.dir, 'flair')
    plastimatchSeries(data('mri/FLAIR.nii.gz'), series)
    const model = join(REPO, 'resources/models/brain-tissue-resunet')
    const seg = join(tmp.dir, 'result.dcm')
    const nii = join(tmp.dir, 'result.nii.gz')
    for (const out of [seg, nii]) {
      const r = await cli('segment', '--model', model, '--input', series, '--out', out, '--device', 'cpu', '--quiet')
      expect(r.code, r.err).toBe(0)
    }

    await expectFlairSeg(seg, series, nii, 1e-3)
  }, 80_000)
})
