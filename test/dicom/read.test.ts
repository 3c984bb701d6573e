/**
 * DICOM in: series written by independent tools (a pydicom fixture script at full DS precision,
 * and plastimatch) from real scans, in shuffled file order, read back with exact geometry and checked against the NIfTI they came from and against
 * dcm2niix; pydicom's shipped files decode to pydicom's values; bad files are skipped and counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { scanDicom } from '../../src/engine/dicom/scan'
import { openDicom } from '../../src/engine/dicom/open'
import { readDicomSeries } from '../../src/engine/dicom/read-series'
import { readVolume } from '../../src/engine/volume/read'
import { isSegError } from '../../src/engine/errors'
import { compareInWorld, plastimatchSeries, pydicomSeries, PYTHON, toolsThere, TOOLS_HINT } from './dicom-helpers'

if (!toolsThere) console.warn(`DICOM read tests skipped: ${TOOLS_HINT}`)

describe.runIf(toolsThere)('DICOM series read against the NIfTI they were written from and dcm2niix', () => {
  const tmp = tempDir('segtransfer-dicom-')
  afterAll(() => tmp.cleanup())

  /** dcm2niix's conversion of a series folder, as a Volume. */
  const viaDcm2niix = async (dir: string) => {
    const out = `${dir}_dcm2niix`
    mkdirSync(out)
    const r = spawnSync('dcm2niix', ['-z', 'n', '-f', 'ref', '-o', out, dir], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    return readVolume(join(out, readdirSync(out).find((f) => f.endsWith('.nii'))!))
  }

  // pydicom writes the NIfTI's geometry at full DS precision (16 characters): 1e-4 mm holds against
  // the NIfTI and against dcm2niix, whose float32 affine is itself off by up to ~4e-5 mm here (one
  // float32 step at 400 mm is 3e-5 mm). Measured: NIfTI 5e-13 (CT, spine), 5.6e-6 (FLAIR: the
  // reader's polar decomposition); dcm2niix 2.0e-5, 5e-13, 4.1e-5 mm.
  it.each([
    ['ct/spleen_ct.nii.gz', 'axial CT with rescale intercept', 'CT'],
    ['spine/t2.nii.gz', 'PSR-stored spine MRI', 'MR'],
    ['mri/FLAIR.nii.gz', 'oblique FLAIR', 'MR']
  ] as const)('%s (%s), written by pydicom in shuffled order: voxels equal (native reader and GDCM), geometry within 1e-4 mm of the NIfTI and of dcm2niix', async (rel, _what, modality) => {
    const dir = pydicomSeries(data(rel), join(tmp.dir, rel.replace(/\W/g, '_')), { modality })
    const { volume, series } = await openDicom([dir])
    const viaGdcm = await readDicomSeries(series, undefined, 'gdcm') // the native reader agrees with GDCM
    expect(Array.from(volume.data)).toEqual(Array.from(viaGdcm.volume.data))
    for (const [against, ref] of [['NIfTI', await readVolume(data(rel))], ['dcm2niix', await viaDcm2niix(dir)]] as const) {
      const got = compareInWorld(volume, ref)
      console.log(`${rel} via pydicom: corners ${got.mm.toExponential(1)} mm from the ${against}, ${got.differing} voxels differ`)
      expect(got.size).toEqual(ref.size)
      expect(got.mm).toBeLessThan(1e-4)
      expect(got.differing).toBe(0)
    }
  }, 30_000)

  it('a header longer than the first bytes read of each file (a 40 kB private element before the pixels) reads the same voxels and geometry', async () => {
    const plain = pydicomSeries(data('ct/spleen_ct.nii.gz'), join(tmp.dir, 'spleen_plain'), { modality: 'CT' })
    const long = pydicomSeries(data('ct/spleen_ct.nii.gz'), join(tmp.dir, 'spleen_long_header'), { modality: 'CT', privateBytes: 40_000 })
    const [a, b] = [(await openDicom([plain])).volume, (await openDicom([long])).volume]
    const got = compareInWorld(b, a)
    expect(got.size).toEqual(a.size)
    expect(got.mm).toBe(0)
    expect(got.differing).toBe(0)
  }, 30_000)

  it('a slice cut short after the scan is refused when its pixels are read, naming the file, not read as zeros', async () => {
    const dir = pydicomSeries(data('ct/spleen_ct.nii.gz'), join(tmp.dir, 'spleen_cut_later'), { modality: 'CT' })
    const scan = await scanDicom([dir])
    const victim = scan.series[0].files[3].path
    const bytes = readFileSync(victim)
    writeFileSync(victim, bytes.subarray(0, bytes.length - 1000))
    const refusal = await readDicomSeries(scan.series[0]).then(() => null, (e: unknown) => e)
    expect(isSegError(refusal) && refusal.code).toBe('CORRUPT_FILE')
    expect((refusal as Error).message).toMatch(new RegExp(`^${victim.split('/').at(-1)} ends inside its pixel data`))
  }, 30_000)

  it('an 8-bit series mixing unsigned and signed slices reads the values pydicom gives (136 stays 136, not -120)', async () => {
    const dir = join(tmp.dir, 'mixed_sign_8bit')
    mkdirSync(dir)
    const py = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/mixed_sign_8bit.py'), dir], { encoding: 'utf8' })
    expect(py.status, py.stderr).toBe(0)
    const { volume } = await readDicomSeries((await scanDicom([dir])).series[0])
    expect(Array.from(volume.data)).toEqual(JSON.parse(py.stdout))
  })

  // The second, independent writer: plastimatch writes direction cosines with 6 decimals, which moves
  // a corner of the oblique FLAIR's 220 mm by 2-5e-4 mm whoever reads the series.
  it.each([
    ['spine/t2.nii.gz', 1e-4],
    ['mri/FLAIR.nii.gz', 5e-4]
  ])('%s written by plastimatch (renamed out of slice order): voxels equal the NIfTI, corners within %s mm', async (rel, tolMm) => {
    const dir = join(tmp.dir, `plastimatch_${rel.replace(/\W/g, '_')}`)
    plastimatchSeries(data(rel), dir)
    const nifti = await readVolume(data(rel))
    const got = compareInWorld((await openDicom([dir])).volume, nifti)
    console.log(`${rel} via plastimatch: corners ${got.mm.toExponential(1)} mm from the NIfTI, ${got.differing} voxels differ`)
    expect(got.size).toEqual(nifti.size)
    expect(got.mm).toBeLessThan(tolMm)
    expect(got.differing).toBe(0)
  }, 30_000)

  it('a series with a missing slice warns naming the gap in mm; a truncated and a bad-transfer-syntax file are skipped and counted', async () => {
    const dir = join(tmp.dir, 'gappy')
    const files = plastimatchSeries(data('ct/spleen_ct.nii.gz'), dir)
    const headers = await scanDicom([dir])
    const byPosition = [...headers.series[0].files].sort((a, b) => a.positions[0][2] - b.positions[0][2])
    rmSync(byPosition[10].path) // 5 mm slices: a 10 mm gap
    const truncated = readFileSync(byPosition[3].path)
    writeFileSync(byPosition[3].path, truncated.subarray(0, truncated.length - 1000))
    const bad = Buffer.from(readFileSync(byPosition[5].path))
    const at = bad.indexOf('1.2.840.10008.1.2.1\0', 0, 'latin1') // explicit VR LE in the meta header
    bad.write('1.2.840.10008.1.2.99', at, 'latin1') // same length, no such syntax
    writeFileSync(byPosition[5].path, bad)
    expect(files.length).toBe(26)

    const opened = await openDicom([dir])
    expect(opened.volume.size).toEqual([164, 166, 23])
    const notes = opened.volume.source!.notes.join('\n')
    expect(notes).toMatch(/irregular slice spacing: a gap of 10 mm .* where the series steps 5 mm/)
    expect(opened.scan.skipped).toEqual({ 'truncated or corrupt DICOM': 1, 'unknown transfer syntax 1.2.840.10008.1.2.99': 1 })
    expect(notes).toContain('2 files skipped')
  }, 30_000)

  it('an enhanced multi-frame file (frames stored out of order, positions in functional groups) equals the single-frame series, with either decoder', async () => {
    const dir = join(tmp.dir, 'spine_single')
    plastimatchSeries(data('spine/t2.nii.gz'), dir)
    const file = join(tmp.dir, 'enhanced.dcm')
    const r = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/make_multiframe.py'), dir, file], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const single = await openDicom([dir])
    const multi = await openDicom([file])
    expect(multi.series.files).toHaveLength(1)
    expect(multi.series.frames).toBe(52)
    const viaGdcm = await readDicomSeries(multi.series, undefined, 'gdcm')
    for (const v of [multi.volume, viaGdcm.volume]) {
      expect(v.size).toEqual(single.volume.size)
      expect(v.origin).toEqual(single.volume.origin)
      expect(v.direction).toEqual(single.volume.direction)
      expect(v.spacing).toEqual(single.volume.spacing)
      expect(Array.from(v.data)).toEqual(Array.from(single.volume.data))
    }
  }, 30_000)

  it.runIf(existsSync('/proc/self/io'))('scanning a 300-frame enhanced file reads about 1 MiB of it (its ~90 kB header), not the whole 2.4 MB file', async () => {
    const nii = join(tmp.dir, 'frames300.nii.gz')
    const py = spawnSync(PYTHON, ['-c', `
import sys, nibabel as nib, numpy as np
a = (np.arange(64 * 64 * 300) % 1000).reshape(64, 64, 300).astype(np.int16)
nib.save(nib.Nifti1Image(a, np.eye(4)), sys.argv[1])`, nii], { encoding: 'utf8' })
    expect(py.status, py.stderr).toBe(0)
    const dir = join(tmp.dir, 'frames300')
    plastimatchSeries(nii, dir)
    const file = join(tmp.dir, 'frames300.dcm')
    const r = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/make_multiframe.py'), dir, file], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const readSoFar = (): number => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1])
    const before = readSoFar()
    const scan = await scanDicom([file])
    const read = readSoFar() - before
    expect(scan.series[0].frames).toBe(300)
    expect(statSync(file).size).toBeGreaterThan(2 * 2 ** 20)
    expect(read).toBeLessThan(1.6 * 2 ** 20) // the 16 KiB head, then the 1 MiB one (1.02 MiB); never the whole 2.36 MiB file
  }, 30_000)

  it('a folder with two series and a stray file: info lists both (no PHI unless asked), segment refuses to guess, --series picks one and says what it skipped', async () => {
    const dir = join(tmp.dir, 'two')
    plastimatchSeries(data('ct/spleen_ct.nii.gz'), join(dir, 'a'))
    plastimatchSeries(data('spine/t2.nii.gz'), join(dir, 'b', 'deeper'))
    writeFileSync(join(dir, 'notes.txt'), 'not an image\n')

    const info = await cli('info', dir)
    expect(info.code).toBe(0)
    expect(info.out).toMatch(/2 series in 79 file/)
    expect(info.out).toMatch(/series 1: CT 164×166×26/)
    expect(info.out).toMatch(/series 2: CT 60×55×52/)
    expect(info.out).toMatch(/skipped +1 file skipped \(not DICOM: 1\)/)
    const phi = (await scanDicom([dir])).series.flatMap((s) => [s.display.patientName, s.display.patientId])
    expect(phi.every((x) => x.length > 0)).toBe(true)

    const out = join(tmp.dir, 'two_mask.nii.gz')
    const model = join(REPO, 'resources/models/demo-tissue')
    const guess = await cli('segment', '--model', model, '--input', dir, '--out', out, '--quiet')
    expect(guess.code).toBe(2)
    expect(guess.err.split('\n')).toHaveLength(1)
    expect(guess.err).toMatch(/2 image series found; choose one with --series .*1: CT 164×166×26.*2: CT 60×55×52/)
    for (const x of phi) expect(info.out + guess.err).not.toContain(x) // patient names and IDs stay out of listings and errors
    expect((await cli('info', dir, '--show-phi')).out).toContain(phi[1]) // shown only when asked

    const picked = await cli('segment', '--model', model, '--input', dir, '--series', '2', '--out', out, '--quiet')
    expect(picked.code, picked.err).toBe(0)
    expect(picked.err).toMatch(/note: 1 file skipped \(not DICOM: 1\)/)
    const mask = await readVolume(out)
    expect(mask.size).toEqual([60, 55, 52]) // the spine series' grid, not the CT's

    // one slice of a series stands for its series; a DICOM-SEG output needs a DICOM input, refused before inference
    const oneFile = join(dir, 'b', 'deeper', readdirSync(join(dir, 'b', 'deeper'))[0])
    const sliceOut = join(tmp.dir, 'one_slice_mask.nii.gz')
    const fromSlice = await cli('segment', '--model', model, '--input', oneFile, '--out', sliceOut, '--quiet')
    expect(fromSlice.code, fromSlice.err).toBe(0)
    expect((await readVolume(sliceOut)).size).toEqual([60, 55, 52])
    const segFromNifti = await cli('segment', '--model', model, '--input', data('spine/t2.nii.gz'), '--out', join(tmp.dir, 'x.dcm'), '--quiet')
    expect(segFromNifti.code).toBe(2)
    expect(segFromNifti.err).toMatch(/^error: .*x\.dcm asks for DICOM-SEG, which needs a DICOM series as the first --input/)
    const empty = join(tmp.dir, 'empty')
    mkdirSync(empty)
    writeFileSync(join(empty, 'readme.txt'), 'nothing here\n')
    const none = await cli('info', empty)
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/no DICOM series in .*empty \(1 file\(s\), 1 file skipped \(not DICOM: 1\)\)/)
  }, 60_000)
})

/** pydicom's own test files: single-series greyscale images in the syntaxes GDCM decodes. */
const PYDICOM_FILES = [
  'CT_small.dcm', 'MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_expb.dcm', 'MR_small_padded.dcm',
  'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'JPEG2000.dcm', 'JPGExtended.dcm',
  'image_dfl.dcm'
]

/** Lossless copies of another shipped file (same pixels by construction). */
const LOSSLESS_OF: Record<string, string> = { 'MR_small_jpeg_ls_lossless.dcm': 'MR_small.dcm' }

describe.runIf(toolsThere)("pydicom's shipped test files", () => {
  const tmp = tempDir('segtransfer-pydicom-')
  let verdicts: Record<string, string> = {}
  let testFiles = ''
  beforeAll(() => {
    const r = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/pydicom_pixels.py'), tmp.dir, ...PYDICOM_FILES], { encoding: 'utf8' })
    verdicts = JSON.parse(r.stdout)
    testFiles = spawnSync(PYTHON, ['-c', 'import pydicom.data,os;print(os.path.dirname(pydicom.data.get_testdata_file("CT_small.dcm")))'], { encoding: 'utf8' }).stdout.trim()
  })
  afterAll(() => tmp.cleanup())

  it('decode to the values pydicom gives (RescaleSlope/Intercept applied), or refuse clearly (unsupported compression, no 3D geometry)', async () => {
    let compared = 0
    const refused: string[] = []
    for (const name of PYDICOM_FILES) {
      const scan = await scanDicom([join(testFiles, name)])
      const decoded = scan.series.length === 1 ? await readDicomSeries(scan.series[0]).catch((e) => e) : new Error(JSON.stringify(scan.skipped))
      if (decoded instanceof Error) {
        // a clear one-line refusal: an unsupported compression, or no 3D geometry (e.g. NM without positions)
        expect(isSegError(decoded), `${name}: ${decoded.message}`).toBe(true)
        expect(decoded.message, name).toMatch(/unsupported compression: |without a position, orientation or pixel spacing/)
        refused.push(name)
        continue
      }
      // pydicom has no JPEG-LS decoder here; the file is MR_small compressed losslessly, so it must equal that
      const oracle = verdicts[name] === 'ok' ? name : LOSSLESS_OF[name]
      if (!oracle) continue // pydicom cannot decode it here (lossy): ours decoding it is enough
      const want = new Float64Array(readFileSync(join(tmp.dir, `${oracle}.f64`)).buffer.slice(0))
      const got = decoded.volume.data
      expect(got.length, name).toBe(want.length)
      let differing = 0
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differing++
      expect(differing, name).toBe(0)
      compared++
    }
    // NM and secondary-capture pictures carry no patient position: 2D, not slices of a 3D volume
    expect(refused).toEqual(['JPEG2000.dcm', 'JPGExtended.dcm', 'image_dfl.dcm'])
    expect(compared).toBe(9) // CT_small and the MR_small family (native, big-endian, padded, RLE, JPEG 2000, JPEG-LS)
  }, 60_000)

  it('a DICOMDIR stands for the files its records reference; a file pydicom marks truncated is skipped', async () => {
    const scan = await scanDicom([join(testFiles, 'dicomdirtests', 'DICOMDIR')])
    expect(scan.filesSeen).toBe(31) // its 31 image records, not the other DICOMDIR variants beside it
    expect(scan.skipped).toEqual({})
    expect(scan.series.map((s) => `${s.modality} ${s.images}`).sort()).toEqual(
      ['CR 1', 'CR 1', 'CR 1', 'CT 2', 'CT 4', 'CT 5', 'MR 1', 'MR 1', 'MR 1', 'MR 1', 'MR 3', 'MR 3', 'MR 7'])
    const walked = await scanDicom([join(testFiles, 'dicomdirtests')])
    expect(scan.series.every((s) => walked.series.some((w) => w.uid === s.uid && w.images >= s.images))).toBe(true)
    const truncated = await scanDicom([join(testFiles, 'MR_truncated.dcm')])
    expect(truncated.series).toHaveLength(0)
    expect(truncated.skipped).toEqual({ 'truncated or corrupt DICOM': 1 })
  })
})
