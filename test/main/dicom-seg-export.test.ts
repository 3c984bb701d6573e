/**
 * DICOM-SEG export from the app core (the Export panel's fourth kind): a folder with two series
 * written by pydicom (test/fixtures/dicom/write_series.py) from real scans; the shipped brain model's
 * result on the FLAIR series exports as an AUTOMATIC SEG that dciodvfy accepts, pydicom reads and our
 * reader re-imports equal to the NIfTI export; an edited copy as MANUAL, over that file only once
 * replacing is confirmed (OUTPUT_EXISTS first, as every export); a scan not opened from DICOM is refused. The two series get different default
 * export names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync } from 'node:fs'
import { basename, join } from 'node:path'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'
import { readDicomSeg } from '../../src/engine/dicom/seg'
import { readVolume } from '../../src/engine/volume/read'
import { exportPaths } from '../../src/renderer/src/workspace/document'
import type { SegmentSummary, VolumeInfo } from '../../src/shared/contract'
import { data, REPO, tempDir } from '../helpers/data'
import { differingVoxels, expectFlairSeg, PYTHON, pydicomSeg, pydicomSeries, toolsThere, TOOLS_HINT } from '../dicom/dicom-helpers'

const MODEL = join(REPO, 'resources/models/brain-tissue-resunet')
const PATIENT = { name: 'Doe^Jane', id: 'PID-7731' }
const call = async <T>(core: ApiCore, method: string, ...args: unknown[]): Promise<{ value?: T; code?: string; message?: string }> => {
  const r = await dispatch(core, method, args)
  return r.ok ? { value: r.value as T } : { code: r.error.code, message: r.error.message }
}

if (!toolsThere) console.warn(`DICOM-SEG export tests skipped: ${TOOLS_HINT}`)

describe.runIf(toolsThere)('DICOM-SEG export from the app core', () => {
  const tmp = tempDir('segtransfer-seg-export-')
  const study = join(tmp.dir, 'study')
  let core: ApiCore
  let flair: VolumeInfo
  let spine: VolumeInfo
  let run: SegmentSummary
  beforeAll(async () => {
    const common = { patientName: PATIENT.name, patientId: PATIENT.id, studyUid: '1.2.826.0.1.3680043.8.498.1', modality: 'MR' } as const
    pydicomSeries(data('mri/FLAIR.nii.gz'), join(study, 'flair'), { ...common, seriesNumber: 1, description: 'FLAIR oblique', seed: 1 })
    pydicomSeries(data('spine/t2.nii.gz'), join(study, 'spine'), { ...common, seriesNumber: 2, description: 'Spine T2', seed: 2 })
    core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
    const listed = (await call<{ series: { uid: string; seriesDescription: string }[] }>(core, 'listSeries', study)).value!.series
    const open = async (d: string) => (await call<VolumeInfo[]>(core, 'openVolumes', [study], [{ series: listed.find((s) => s.seriesDescription === d)!.uid }])).value![0]
    flair = await open('FLAIR oblique')
    spine = await open('Spine T2')
    const r = await call<SegmentSummary>(core, 'segment', { bundleDir: MODEL, volumeIds: [flair.id], device: 'cpu' })
    expect(r.message).toBeUndefined()
    run = r.value!
  }, 60_000)
  afterAll(() => tmp.cleanup())

  it('each scan names the series it was opened from (number, description, UID; no PHI), so the two get different default export names', () => {
    expect([flair.series, spine.series].map((s) => [s?.number, s?.description])).toEqual([[1, 'FLAIR oblique'], [2, 'Spine T2']])
    expect(JSON.stringify([flair, spine])).not.toMatch(/Doe|Jane|PID-7731/)
    const names = [flair, spine].map((v) => exportPaths(v.path, 'Brain tissue ResUNet', 1, v.series))
    expect(names.map((n) => n.labels)).toEqual([`${study}.s1-flair-oblique.segtransfer-brain-tissue-resunet.nii.gz`, `${study}.s2-spine-t2.segtransfer-brain-tissue-resunet.nii.gz`])
    expect(names[0].dicomSeg).toBe(`${study}.s1-flair-oblique.segtransfer-brain-tissue-resunet.dcm`)
  })

  it("a model's result exports as an AUTOMATIC DICOM-SEG of the FLAIR series: dciodvfy 0 errors, pydicom reads its segments and references, it re-imports equal to the NIfTI export", async () => {
    const seg = join(tmp.dir, 'flair.dcm')
    const nii = join(tmp.dir, 'flair.nii.gz')
    expect(await call(core, 'exportRun', run.runId, 'dicom-seg', seg, { volumeId: flair.id })).toEqual({ value: seg })
    expect(await call(core, 'exportRun', run.runId, 'labels', nii, { volumeId: flair.id })).toEqual({ value: nii })

    await expectFlairSeg(seg, join(study, 'flair'), nii, 1e-4)
  }, 60_000)

  it('an edited copy exports as MANUAL (no algorithm name) with the edited voxels, over the earlier SEG only once replacing is confirmed; never over a slice', async () => {
    const slab = flair.size[0] * flair.size[1] * 70 // erase the lower half of the slices
    const edited = (await call<SegmentSummary>(core, 'putEditedLabels', { volumeId: flair.id, baseRunId: run.runId, runs: [0, slab, 0], labels: run.labels })).value!
    const seg = join(tmp.dir, 'flair.dcm') // the model's SEG, written by the test above
    const first = readFileSync(seg)
    expect(await call(core, 'exportRun', edited.runId, 'dicom-seg', seg, { volumeId: flair.id })).toMatchObject({ code: 'OUTPUT_EXISTS' })
    expect(readFileSync(seg).equals(first)).toBe(true)
    const slice = join(study, 'flair', readdirSync(join(study, 'flair'))[0])
    expect(await call(core, 'exportRun', edited.runId, 'dicom-seg', slice, { volumeId: flair.id, overwrite: true })).toMatchObject({ code: 'OUTPUT_CONFLICT' })

    expect(await call(core, 'exportRun', edited.runId, 'dicom-seg', seg, { volumeId: flair.id, overwrite: true })).toEqual({ value: seg })
    const nii = join(tmp.dir, 'edited.nii.gz')
    await call(core, 'exportRun', edited.runId, 'labels', nii, { volumeId: flair.id })
    expect(pydicomSeg(seg).segments.map((s) => [s[1], s[2], s[3]])).toEqual([['CSF', 'MANUAL', ''], ['grey matter', 'MANUAL', ''], ['white matter', 'MANUAL', '']])
    expect(differingVoxels((await readDicomSeg(seg)).labels, await readVolume(nii))).toBe(0)
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial-'))).toEqual([]) // atomic: no temp file left (tempPathFor)
  }, 60_000)

  it('a DICOM-SEG loads back as a label layer of its scan: its segments named, voxels equal to the NIfTI export; a DICOM image slice is refused in one line', async () => {
    const seg = join(tmp.dir, 'flair.dcm') // the edited copy's SEG, written by the test above
    const loaded = await call<SegmentSummary>(core, 'loadLabelFile', flair.id, seg)
    expect(loaded.message).toBeUndefined()
    const layer = loaded.value!
    expect(layer.labels.map((l) => [l.value, l.name])).toEqual([[1, 'CSF'], [2, 'grey matter'], [3, 'white matter']])
    expect(layer.labels.map((l) => l.color)).toEqual(run.labels.filter((l) => l.value > 0).map((l) => l.color)) // the recommended display colours
    expect(layer.notes[0]).toBe('flair.dcm: DICOM-SEG with 3 segment(s) (1 CSF, 2 grey matter, 3 white matter)')
    const back = join(tmp.dir, 'reloaded.nii.gz')
    expect(await call(core, 'exportRun', layer.runId, 'labels', back, { volumeId: flair.id })).toEqual({ value: back })
    expect(differingVoxels(await readVolume(back), await readVolume(join(tmp.dir, 'edited.nii.gz')))).toBe(0)
    const slice = join(study, 'flair', readdirSync(join(study, 'flair')).sort()[0])
    expect(await call(core, 'loadLabelFile', flair.id, slice)).toEqual({
      code: 'BAD_ARGUMENT', message: `${basename(slice)} is a DICOM image, not a segmentation; expected a DICOM-SEG, or a label image (NIfTI, NRRD, MetaImage); open an image as a scan`
    })
  }, 60_000)

  it('a DICOM-SEG whose segments overlap, or are not numbered 1..n, is refused in one line saying so (not a wasm trap, not segments silently emptied)', async () => {
    const seg = join(tmp.dir, 'flair.dcm')
    const [overlap, renumbered] = [join(tmp.dir, 'overlap.dcm'), join(tmp.dir, 'renumbered.dcm')]
    // pydicom: segment 3's frames marked everywhere (so it overlaps 1 and 2); segments renumbered 2, 5, 9.
    const py = spawnSync(PYTHON, ['-c', `
import sys, pydicom
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
d = pydicom.dcmread(sys.argv[1])
a = d.pixel_array.copy()
for i, f in enumerate(d.PerFrameFunctionalGroupsSequence):
    if int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber) == 3: a[i] = 1
d.PixelData = pack_bits(a.ravel())
d.save_as(sys.argv[2])
d = pydicom.dcmread(sys.argv[1])
m = {1: 2, 2: 5, 3: 9}
for s in d.SegmentSequence: s.SegmentNumber = m[int(s.SegmentNumber)]
for f in d.PerFrameFunctionalGroupsSequence:
    r = f.SegmentIdentificationSequence[0]; r.ReferencedSegmentNumber = m[int(r.ReferencedSegmentNumber)]
d.save_as(sys.argv[3])`, seg, overlap, renumbered], { encoding: 'utf8' })
    expect(py.stderr).toBe('')
    expect(await call(core, 'loadLabelFile', flair.id, overlap)).toEqual({
      code: 'BAD_ARGUMENT', message: expect.stringMatching(/^overlap\.dcm has overlapping segments \([12] and 3 share voxel \d+\); expected non-overlapping segments, as a label layer holds one label a voxel$/)
    })
    expect(await call(core, 'loadLabelFile', flair.id, renumbered)).toEqual({
      code: 'CORRUPT_FILE', message: 'renumbered.dcm numbers its segments 2, 5, 9; expected segment numbers 1, 2, 3… in order (DICOM PS3.3 C.8.20.2)'
    })
  }, 60_000)

  it('a scan not opened from a DICOM series, or a path that is not .dcm, is refused in one line before anything is written', async () => {
    const [nifti] = (await call<VolumeInfo[]>(core, 'openVolumes', [data('spine/t2.nii.gz')])).value!
    const loaded = (await call<SegmentSummary>(core, 'loadLabelFile', nifti.id, data('spine/t2_cord_seg.nii.gz'))).value!
    const out = join(tmp.dir, 'nifti.dcm')
    expect(await call(core, 'exportRun', loaded.runId, 'dicom-seg', out, { volumeId: nifti.id })).toEqual({
      code: 'BAD_ARGUMENT', message: 't2.nii.gz was not opened from a DICOM series, which a DICOM-SEG must reference; expected a scan opened from a DICOM folder or file (or a .nii.gz/.nrrd export)'
    })
    expect(await call(core, 'exportRun', run.runId, 'dicom-seg', join(tmp.dir, 'flair.nii.gz'), { volumeId: flair.id })).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/^flair\.nii\.gz: a DICOM-SEG is written as a \.dcm file; expected a path ending in \.dcm$/) })
    expect(existsSync(out)).toBe(false)
  })

  it('a slice deleted after the series was opened is refused in one FILE_NOT_FOUND line naming the file, without PHI, and nothing is written', async () => {
    const cord = (await call<SegmentSummary>(core, 'loadLabelFile', spine.id, data('spine/t2_cord_seg.nii.gz'), { resample: 'nearest' })).value!
    const folder = join(study, 'spine')
    const slices = readdirSync(folder).sort()
    unlinkSync(join(folder, slices[5]))
    const out = join(tmp.dir, 'spine.dcm')
    const r = await call(core, 'exportRun', cord.runId, 'dicom-seg', out, { volumeId: spine.id })
    expect(r).toEqual({ code: 'FILE_NOT_FOUND', message: `1 of the ${slices.length} files of study · Spine T2 are gone since it was opened (${slices[5]}); expected the series as opened, which a DICOM-SEG references` })
    expect(r.message).not.toMatch(/Doe|Jane|PID-7731/)
    expect(existsSync(out)).toBe(false)
  })

  it('a DICOM-SEG the writer fails on (a slice replaced by a folder since opening) is refused in one line and leaves only the earlier files', async () => {
    const folder = join(study, 'flair')
    const slice = join(folder, readdirSync(folder).sort()[3])
    unlinkSync(slice)
    mkdirSync(slice)
    const before = readdirSync(tmp.dir).sort()
    const out = join(tmp.dir, 'broken.dcm')
    expect(await call(core, 'exportRun', run.runId, 'dicom-seg', out, { volumeId: flair.id })).toEqual({
      code: 'OUTPUT_CONFLICT', message: `${out} could not be written: the DICOM-SEG converter (dcmqi) failed without a message; expected the scan's DICOM files as opened (each a readable slice) and a writable folder with room`
    })
    expect(readdirSync(tmp.dir).sort()).toEqual(before)
  })
})
