/**
 * DICOM-SEG out: the shipped brain model's result on a FLAIR series (written from the public scan
 * by plastimatch) exported by `segment --out result.dcm`; dicom3tools' dciodvfy validates the
 * Segmentation IOD, pydicom reads the segments back, and our reader's labels equal the NIfTI export.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { readDicomSeg } from '../../src/engine/dicom/seg'
import { readVolume } from '../../src/engine/volume/read'
import { cornerDistance, plastimatchSeries, PYTHON, toolsThere, TOOLS_HINT } from './dicom-helpers'

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

    const v = spawnSync('dciodvfy', [seg], { encoding: 'utf8' })
    const report = v.stdout + v.stderr
    expect(report).toMatch(/^Segmentation$/m) // the IOD it validated against
    expect(report.split('\n').filter((l) => /^Error/.test(l))).toEqual([])

    const py = spawnSync(PYTHON, ['-c', `
import json, sys, pydicom
d = pydicom.dcmread(sys.argv[1])
print(json.dumps({"sop": d.SOPClassUID, "frames": int(d.NumberOfFrames), "for": d.FrameOfReferenceUID,
  "series": d.ReferencedSeriesSequence[0].SeriesInstanceUID, "refs": len(d.ReferencedSeriesSequence[0].ReferencedInstanceSequence),
  "segments": [[int(s.SegmentNumber), s.SegmentLabel, s.SegmentAlgorithmType, s.SegmentAlgorithmName,
    s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator + ":" + s.SegmentedPropertyTypeCodeSequence[0].CodeValue,
    list(s.RecommendedDisplayCIELabValue)] for s in d.SegmentSequence],
  "pixels": list(d.pixel_array.shape)}))`, seg], { encoding: 'utf8' })
    expect(py.status, py.stderr).toBe(0)
    const got = JSON.parse(py.stdout)
    const src = spawnSync(PYTHON, ['-c', `
import glob, json, sys, pydicom
d = pydicom.dcmread(sorted(glob.glob(sys.argv[1] + "/*.dcm"))[0])
print(json.dumps([d.FrameOfReferenceUID, d.SeriesInstanceUID]))`, series], { encoding: 'utf8' })
    const [frameOfReference, seriesUid] = JSON.parse(src.stdout)
    expect(got.sop).toBe('1.2.840.10008.5.1.4.1.1.66.4')
    expect(got.for).toBe(frameOfReference)
    expect(got.series).toBe(seriesUid)
    expect(got.refs).toBe(140)
    expect(got.frames).toBe(3 * 140) // three segments, every slice of the series
    expect(got.pixels).toEqual([420, 160, 124])
    expect(got.segments.map((s: unknown[]) => s.slice(0, 5))).toEqual([
      [1, 'CSF', 'AUTOMATIC', expect.stringMatching(/^Brain tissue ResUNet .* \d{4}-\d\d-\d\d$/), 'SCT:65216001'],
      [2, 'grey matter', 'AUTOMATIC', expect.any(String), 'SCT:389081007'],
      [3, 'white matter', 'AUTOMATIC', expect.any(String), 'SCT:389080008']
    ])

    const back = await readDicomSeg(seg)
    const ref = await readVolume(nii)
    expect(back.labels.size).toEqual(ref.size)
    expect(cornerDistance(back.labels, ref)).toBeLessThan(1e-3)
    let differing = 0
    for (let i = 0; i < ref.data.length; i++) if (back.labels.data[i] !== ref.data[i]) differing++
    expect(differing).toBe(0)
    expect(back.segments.map((s) => s.label)).toEqual(['CSF', 'grey matter', 'white matter'])
  }, 80_000)
})
