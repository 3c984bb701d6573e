/**
 * The app core opens what a clinician or researcher brings: a DICOM folder (its series listed for a
 * picker, one opened by its UID, patient name and ID never in an error or note) and one volume of a
 * 4D file (refused with the count until one is chosen). Series written by plastimatch from real scans;
 * the 4D file is nibabel's own test data (Debian's python3-nibabel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'
import { openDicom } from '../../src/engine/dicom/open'
import { readVolume } from '../../src/engine/volume/read'
import type { PathContents, SegmentSummary, VolumeInfo, VoxelBuffer } from '../../src/shared/contract'
import { join } from 'node:path'
import { REPO, tempDir } from '../helpers/data'
import { HAVE_PLASTIMATCH, PATIENT, SERIES, twoSeriesFolder } from '../helpers/dicom-folder'

const BUNDLE = join(REPO, 'resources/models/demo-tissue')
const FOUR_D = '/usr/lib/python3/dist-packages/nibabel/tests/data/functional.nii'
const call = async <T>(core: ApiCore, method: string, ...args: unknown[]): Promise<{ value?: T; code?: string; message?: string }> => {
  const r = await dispatch(core, method, args)
  return r.ok ? { value: r.value as T } : { code: r.error.code, message: r.error.message }
}
const noPhi = (text: string) => {
  expect(text).not.toContain(PATIENT.name)
  expect(text).not.toContain(PATIENT.shown)
  expect(text).not.toContain(PATIENT.id)
}
const bytes = (b: VoxelBuffer) => Buffer.from(b.data)

let core: ApiCore
beforeAll(() => {
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
})

describe.skipIf(!HAVE_PLASTIMATCH)('a DICOM folder with two series (plastimatch) and a stray file', () => {
  const tmp = tempDir('segtransfer-dicom-open-')
  let folder: string
  let listing: PathContents
  beforeAll(async () => {
    folder = twoSeriesFolder(tmp.dir)
    listing = (await call<PathContents>(core, 'listSeries', folder)).value!
  }, 60_000)
  afterAll(() => tmp.cleanup())

  it('listSeries lists both series with description, modality, images and dimensions (and the PHI, for the picker only), and the skipped file', () => {
    expect(listing.dicom).toBe(true)
    const got = listing.series.map((s) => [s.seriesDescription, s.kind, s.images, s.dimensions]).sort()
    const want = SERIES.map((s) => [s.description, 'image', s.size[2], [...s.size]]).sort()
    expect(got).toEqual(want)
    expect(listing.series.every((s) => s.modality.length > 0 && /^\d{8}$/.test(s.date) && s.uid.length > 0)).toBe(true)
    expect(listing.series.map((s) => [s.patientName, s.patientId])).toEqual([[PATIENT.shown, PATIENT.id], [PATIENT.shown, PATIENT.id]])
    expect(listing.skipped).toMatch(/1 file skipped \(not DICOM: 1\)/)
    expect(listing.volumes).toBe(1)
  })

  it('opening the folder without a choice, or with a UID it does not hold, is refused in one line naming the series and no PHI', async () => {
    const none = await call(core, 'openVolumes', [folder])
    expect(none.code).toBe('BAD_ARGUMENT')
    expect(none.message).toMatch(/2 image series found/)
    const wrong = await call(core, 'openVolumes', [folder], [{ series: '1.2.3.4' }])
    expect(wrong.code).toBe('BAD_ARGUMENT')
    expect(wrong.message).toMatch(/1\.2\.3\.4 matches no series/)
    for (const m of [none.message!, wrong.message!]) {
      expect(m.split('\n')).toHaveLength(1)
      noPhi(m)
      for (const s of SERIES) expect(m).toContain(s.description)
    }
    const bad = await call(core, 'openVolumes', [folder], [{ series: 'Doe' }])
    expect(bad).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/expected a SeriesInstanceUID/) })
    expect(core.heldBytes()).toBe(0)
  })

  it('opening one series by its UID gives exactly the engine openDicom volume: grid, voxels, notes without PHI', async () => {
    for (const want of SERIES) {
      const s = listing.series.find((x) => x.seriesDescription === want.description)!
      const [info] = (await call<VolumeInfo[]>(core, 'openVolumes', [folder], [{ series: s.uid }])).value!
      const engine = (await openDicom([folder], s.uid)).volume
      expect(info.size).toEqual([...want.size])
      expect([info.size, info.spacing, info.origin, info.direction]).toEqual([engine.size, engine.spacing, engine.origin, engine.direction])
      expect(bytes((await call<VoxelBuffer>(core, 'readVoxels', info.id)).value!).equals(Buffer.from(engine.data.buffer, engine.data.byteOffset, engine.data.byteLength))).toBe(true)
      expect(info.name).toBe(`study · ${want.description}`)
      expect(info.path).toBe(folder)
      noPhi(JSON.stringify(info))
      await core.closeVolume(info.id)
    }
  }, 60_000)
  it('a chosen series segments (demo-tissue): the model gets the series, not the folder path', async () => {
    const s = listing.series.find((x) => x.seriesDescription === SERIES[1].description)!
    const [info] = (await call<VolumeInfo[]>(core, 'openVolumes', [folder], [{ series: s.uid }])).value!
    const run = await call<SegmentSummary>(core, 'segment', { bundleDir: BUNDLE, volumeIds: [info.id], device: 'cpu' })
    expect(run.message).toBeUndefined()
    expect(run.value!.stats.length).toBeGreaterThan(0)
    expect((await call<VoxelBuffer>(core, 'readLabels', run.value!.runId, info.id)).value!.data.byteLength).toBe(64 * 79 * 67)
    noPhi(JSON.stringify(run.value))
    await core.closeVolume(info.id)
  }, 60_000)
})

describe.skipIf(!existsSync(FOUR_D))('a 4D file (nibabel functional.nii, 17×21×3 × 20 volumes)', () => {
  it('listSeries says it holds 20 volumes; opening it without a choice is refused with the count; volume 7 opens as the reader reads it', async () => {
    expect((await call<PathContents>(core, 'listSeries', FOUR_D)).value).toEqual({ dicom: false, series: [], skipped: '', volumes: 20 })
    const refused = await call(core, 'openVolumes', [FOUR_D])
    expect(refused).toMatchObject({ code: 'BAD_DIMENSION', message: expect.stringMatching(/functional\.nii has 20 volumes; choose one/) })
    const [info] = (await call<VolumeInfo[]>(core, 'openVolumes', [FOUR_D], [{ volume: 7 }])).value!
    const engine = await readVolume(FOUR_D, { volume: 7 })
    expect(info.size).toEqual([17, 21, 3])
    expect(info.name).toBe('functional.nii · volume 7 of 20')
    expect(info.volumeIndex).toBe(7) // export names carry it (.v7): two volumes of one file never share one
    expect(bytes((await call<VoxelBuffer>(core, 'readVoxels', info.id)).value!).equals(Buffer.from(engine.data.buffer, engine.data.byteOffset, engine.data.byteLength))).toBe(true)
    await core.closeVolume(info.id)
  })

  it('a volume outside the file, a negative or fractional index, a series of a non-DICOM file or more choices than paths are refused in one line', async () => {
    expect(await call(core, 'openVolumes', [FOUR_D], [{ volume: 20 }])).toMatchObject({ code: 'BAD_DIMENSION', message: expect.stringMatching(/volume 20 does not exist in functional\.nii; expected 0\.\.19/) })
    for (const volume of [-1, 1.5]) expect(await call(core, 'openVolumes', [FOUR_D], [{ volume }])).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/^invalid arguments to openVolumes: 1\.0\.volume/) })
    expect(await call(core, 'openVolumes', [FOUR_D], [{ series: '1.2.3' }])).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/is not DICOM: it has no series to choose/) })
    expect(await call(core, 'openVolumes', [FOUR_D], [{ volume: 1 }, { volume: 2 }])).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/2 choices for 1 path/) })
    expect(core.heldBytes()).toBe(0)
  })
})
