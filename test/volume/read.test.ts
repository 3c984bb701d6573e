import { describe, expect, it, afterAll } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { readImageNode, writeImageNode } from '@itk-wasm/image-io'
import { toItkImage } from '../../src/engine/volume/itk-image'
import { readVolume } from '../../src/engine/volume/read'
import { parseNiftiHeader, readHeadBytes } from '../../src/engine/volume/nifti-header'
import { SegError } from '../../src/engine/errors'
import { craftNifti, data, maxAbsDiff, refusal, tempDir, writeCrafted } from './fixtures'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('readVolume on the real data', () => {
  it('reads t1_crop (256^3 uint8, LIA) with sform geometry matching itk-wasm', async () => {
    const v = await readVolume(data('mri/t1_crop.nii.gz')) // its speed: npm run bench -- --only read
    expect(v.size).toEqual([256, 256, 256])
    expect(v.data).toBeInstanceOf(Uint8Array)
    expect(v.source?.format).toBe('nifti')
    expect(v.source?.niftiHeader?.length).toBe(348)
    const itk = await readImageNode(data('mri/t1_crop.nii.gz'), { informationOnly: true })
    expect(maxAbsDiff(v.direction, itk.direction as Float64Array)).toBeLessThan(1e-6)
    expect(maxAbsDiff(v.origin, itk.origin)).toBeLessThan(1e-6)
    expect(maxAbsDiff(v.spacing, itk.spacing)).toBeLessThan(1e-6)
  })

  it('applies scl_slope (t1_RAS is stored uint8 with a slope: decoded float32, storedType uint8)', async () => {
    const v = await readVolume(data('geometry/t1_RAS.nii.gz'))
    expect(v.data).toBeInstanceOf(Float32Array)
    expect(v.source?.storedType).toBe('uint8')
    const h = parseNiftiHeader(await readHeadBytes(data('geometry/t1_RAS.nii.gz'), 348))!
    const raw = gunzipSync(readFileSync(data('geometry/t1_RAS.nii.gz'))).subarray(352)
    const k = raw.findIndex((x) => x > 0)
    expect(v.data[k]).toBeCloseTo(raw[k] * h.sclSlope + h.sclInter, 4)
  })

  it('reads the big-endian file without qform/sform with the stated default geometry', async () => {
    const v = await readVolume(data('geometry/minimal_no_orientation.nii.gz'))
    const h = parseNiftiHeader(await readHeadBytes(data('geometry/minimal_no_orientation.nii.gz'), 348))!
    expect(h.littleEndian).toBe(false)
    expect(v.size).toEqual([h.dim[1], h.dim[2], h.dim[3]])
    expect(v.spacing).toEqual([h.pixdim[1], h.pixdim[2], h.pixdim[3]])
    expect(v.origin).toEqual([0, 0, 0])
    expect(v.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1])
    expect(v.source?.notes.join(' ')).toContain('no qform/sform: default geometry')
    // The kept header is little-endian normalised: sizeof_hdr reads 348 little-endian.
    const raw = v.source!.niftiHeader!
    expect(new DataView(raw.buffer, raw.byteOffset).getInt32(0, true)).toBe(348)
    // Voxels equal the big-endian file's bytes (uint8: no swap needed), so decoding did not garble them.
    const bytes = gunzipSync(readFileSync(data('geometry/minimal_no_orientation.nii.gz')))
    const off = Math.floor(h.voxOffset)
    expect(Array.from(v.data.subarray(0, 4096))).toEqual(Array.from(bytes.subarray(off, off + 4096)))
  })

  it('takes the sheared CT geometry from the sform (RAS→LPS, polar-orthonormalised), with a note', async () => {
    const path = data('geometry/ct_gantry_tilt_shear.nii.gz')
    const v = await readVolume(path)
    const h = parseNiftiHeader(await readHeadBytes(path, 348))!
    expect(h.sformCode).toBeGreaterThan(0)
    const [x, y, z] = h.srow
    // LPS columns of the sform: flip the signs of the x and y rows.
    const cols = [0, 1, 2].map((c) => [-x[c], -y[c], z[c]])
    expect(v.origin[0]).toBeCloseTo(-x[3], 5)
    expect(v.origin[1]).toBeCloseTo(-y[3], 5)
    expect(v.origin[2]).toBeCloseTo(z[3], 5)
    cols.forEach((col, c) => expect(v.spacing[c]).toBeCloseTo(Math.hypot(...col), 6))
    // Direction: orthonormal, and the polar factor of the normalised sform N = R·S with S symmetric
    // positive definite (S = Rᵀ N).
    const R = (r: number, c: number): number => v.direction[r * 3 + c]
    const N = (r: number, c: number): number => cols[c][r] / Math.hypot(...cols[c])
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      let dot = 0
      for (let r = 0; r < 3; r++) dot += R(r, a) * R(r, b)
      expect(dot).toBeCloseTo(a === b ? 1 : 0, 9)
    }
    const S = [0, 1, 2].map((a) => [0, 1, 2].map((b) => [0, 1, 2].reduce((s, r) => s + R(r, a) * N(r, b), 0)))
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(S[a][b]).toBeCloseTo(S[b][a], 9)
    for (let a = 0; a < 3; a++) expect(S[a][a]).toBeGreaterThan(0)
    // The shear itself: the k column is not perpendicular to the j column in the sform.
    expect(v.source?.notes.join(' ')).toMatch(/shear of 18\.\d° .* dropped for display/)
  })

  it('lets the sform win over a qform that disagrees (itk-wasm takes the qform for a sheared sform)', async () => {
    // The real sheared CT with its qform replaced by a plain axial one 10 mm away.
    const bytes = new Uint8Array(gunzipSync(readFileSync(data('geometry/ct_gantry_tilt_shear.nii.gz'))))
    const view = new DataView(bytes.buffer)
    ;[0, 0, 0].forEach((q, k) => view.setFloat32(256 + 4 * k, q, true))
    view.setFloat32(268, view.getFloat32(268, true) + 10, true)
    const path = join(tmp.dir, 'qform_disagrees.nii.gz')
    writeFileSync(path, gzipSync(bytes))
    const itk = await readImageNode(path, { informationOnly: true })
    const v = await readVolume(path)
    const h = parseNiftiHeader(bytes)!
    expect(v.origin[0]).toBeCloseTo(-h.srow[0][3], 5)
    expect(Math.abs(itk.origin[0] - v.origin[0])).toBeGreaterThan(9) // itk-wasm followed the qform
    expect(Math.abs(v.direction[8] - 1)).toBeGreaterThan(1e-3) // tilted, unlike the new qform
  })
})

describe('readVolume NIfTI transforms', () => {
  it('uses the qform when there is no sform: 180° about z with qfac -1 (hand-computed)', async () => {
    // quatern (b,c,d) = (0,0,1): R = diag(-1,-1,1) in RAS; qfac -1 flips k; LPS = diag(-1,-1,1)·RAS.
    const path = writeCrafted(join(tmp.dir, 'qform.nii'), {
      dim: [3, 2, 2, 2], datatype: 2, bitpix: 8, pixdim: [-1, 2, 3, 4], voxels: new Uint8Array(8),
      qformCode: 1, quatern: [0, 0, 1], qoffset: [10, 20, 30]
    })
    const v = await readVolume(path)
    expect(v.spacing).toEqual([2, 3, 4])
    expect(v.origin).toEqual([-10, -20, 30])
    expect(maxAbsDiff(v.direction, [1, 0, 0, 0, 1, 0, 0, 0, -1])).toBeLessThan(1e-12)
    expect(v.source?.notes).toEqual([])
  })

  it('skips a degenerate sform (all zeros, code 1) for the qform, with a note', async () => {
    const path = writeCrafted(join(tmp.dir, 'zero_sform.nii'), {
      dim: [3, 2, 2, 2], datatype: 2, bitpix: 8, pixdim: [1, 1, 1, 1], voxels: new Uint8Array(8),
      sformCode: 1, sform: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], qformCode: 1, quatern: [0, 0, 0], qoffset: [1, 2, 3]
    })
    const v = await readVolume(path)
    expect(v.origin).toEqual([-1, -2, 3])
    expect(v.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1])
    expect(v.source?.notes.join(' ')).toContain('the sform is degenerate')
  })
})

describe('readVolume refusals', () => {
  it('FILE_NOT_FOUND for a missing file', async () => {
    const e = await refusal(readVolume(join(tmp.dir, 'missing.nii.gz')))
    expect(e.code).toBe('FILE_NOT_FOUND')
    expect(e.message).toContain('missing.nii.gz does not exist')
  })

  it('NOT_AN_IMAGE for a text file named .nii.gz and for a .txt', async () => {
    const fake = join(tmp.dir, 'x.nii.gz')
    writeFileSync(fake, 'patient notes, not an image\n')
    const e = await refusal(readVolume(fake))
    expect(e.code).toBe('NOT_AN_IMAGE')
    expect(e.message).toContain('x.nii.gz is not a NIfTI file')
    const txt = join(tmp.dir, 'notes.txt')
    writeFileSync(txt, 'hello')
    const e2 = await refusal(readVolume(txt))
    expect(e2.code).toBe('NOT_AN_IMAGE')
    expect(e2.message).toContain('.nii.gz')
  })

  it('CORRUPT_FILE for a .nii.gz cut in half, and for a .nii cut short', async () => {
    const whole = readFileSync(data('mri/FLAIR.nii.gz'))
    const cut = join(tmp.dir, 'cut.nii.gz')
    writeFileSync(cut, whole.subarray(0, whole.length >> 1))
    const e = await refusal(readVolume(cut))
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toContain('cut.nii.gz is truncated')
    const plain = gunzipSync(whole)
    const cutNii = join(tmp.dir, 'cut.nii')
    writeFileSync(cutNii, plain.subarray(0, plain.length - 1000))
    const e2 = await refusal(readVolume(cutNii))
    expect(e2.code).toBe('CORRUPT_FILE')
    expect(e2.message).toMatch(/cut\.nii is truncated: it holds \d+ bytes but its header describes \d+/)
  })

  it('BAD_DIMENSION for a 2D image and for a 4D series without a chosen volume (listing them); a 4D file with one time point reads as 3D', async () => {
    const e = await refusal(readVolume(writeCrafted(join(tmp.dir, 'slice.nii'), { dim: [2, 8, 6], datatype: 2, bitpix: 8, voxels: new Uint8Array(48) })))
    expect(e.code).toBe('BAD_DIMENSION')
    expect(e.message).toBe('slice.nii is 2D (8x6); expected a 3D volume')
    const e4 = await refusal(readVolume(writeCrafted(join(tmp.dir, 'fmri.nii'), { dim: [4, 4, 4, 3, 5], datatype: 2, bitpix: 8, voxels: new Uint8Array(240) })))
    expect(e4.code).toBe('BAD_DIMENSION')
    expect(e4.message).toBe('fmri.nii has 5 volumes; choose one with --volume 0..4')
    const voxels = Uint8Array.from({ length: 48 }, (_, k) => k)
    const v = await readVolume(writeCrafted(join(tmp.dir, 'one_t.nii.gz'), { dim: [4, 4, 4, 3, 1], datatype: 2, bitpix: 8, voxels, gzip: true }))
    expect(v.size).toEqual([4, 4, 3])
    expect(Array.from(v.data)).toEqual(Array.from(voxels))
  })

  it('NaN and Inf voxels are no data (filled with the smallest finite value, counted); NON_FINITE_VOXELS when more than half', async () => {
    const f = new Float32Array(4 * 4 * 4).map((_, k) => k + 5)
    f[3] = NaN
    f[10] = Infinity
    f[20] = -Infinity
    const path = writeCrafted(join(tmp.dir, 'nan.nii.gz'), { dim: [3, 4, 4, 4], datatype: 16, bitpix: 32, voxels: new Uint8Array(f.buffer), gzip: true })
    const v = await readVolume(path)
    expect([v.data[3], v.data[10], v.data[20]]).toEqual([5, 5, 5])
    expect(Array.from(v.source!.noData!).flatMap((x, k) => (x ? [k] : []))).toEqual([3, 10, 20])
    expect(v.source?.notes).toContain('3 NaN/Inf voxels (4.7 %) treated as no data: filled with the background (the smallest finite value, 5), left out of normalisation statistics, labelled 0')
    f.fill(NaN, 0, 33)
    const most = writeCrafted(join(tmp.dir, 'most_nan.nii.gz'), { dim: [3, 4, 4, 4], datatype: 16, bitpix: 32, voxels: new Uint8Array(f.buffer), gzip: true })
    const e = await refusal(readVolume(most))
    expect(e.code).toBe('NON_FINITE_VOXELS')
    expect(e.message).toBe('most_nan.nii.gz has 33 NaN/Inf voxels (51.6 % of 64); expected at most 50 % without data')
    // NRRD (decoded by itk-wasm) keeps NaN/Inf (float64 here): the same rule
    const d = new Float64Array(27).fill(1)
    d[0] = NaN
    d[26] = -Infinity
    const nrrd = join(tmp.dir, 'nan.nrrd')
    await writeImageNode(toItkImage({ size: [3, 3, 3], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }, d), nrrd)
    const n = await readVolume(nrrd)
    expect([n.data[0], n.data[26]]).toEqual([1, 1])
    expect(n.source?.notes[0]).toMatch(/^2 NaN\/Inf voxels \(7\.4 %\) treated as no data/)
  })

  it('TOO_LARGE from the header alone (4000^3 float32), before reading voxels', async () => {
    const path = writeCrafted(join(tmp.dir, 'huge.nii.gz'), { dim: [3, 4000, 4000, 4000], datatype: 16, bitpix: 32, gzip: true })
    const t0 = performance.now()
    const e = await refusal(readVolume(path, { maxBytes: 8e9 }))
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toContain('huge.nii.gz needs 256.0 GB of memory for its voxels; the limit is 8.0 GB')
    // The default limit (60% of this machine's memory) refuses it too.
    expect((await refusal(readVolume(path))).code).toBe('TOO_LARGE')
  })

  it('craftNifti round-trips a tiny int16 volume through readVolume (fixture sanity)', async () => {
    const values = Int16Array.from({ length: 24 }, (_, k) => k * 100 - 1000)
    const bytes = craftNifti({ dim: [3, 2, 3, 4], datatype: 4, bitpix: 16, pixdim: [1, 2, 3, 4], voxels: new Uint8Array(values.buffer) })
    const path = join(tmp.dir, 'tiny.nii')
    writeFileSync(path, bytes)
    const v = await readVolume(path)
    expect(v.data).toBeInstanceOf(Int16Array)
    expect(Array.from(v.data)).toEqual(Array.from(values))
    expect(v.spacing).toEqual([2, 3, 4])
  })
})

describe('readVolume on NRRD and MetaImage', () => {
  it('reads .nrrd and .mha (gzip-encoded) with the same voxels and geometry as the NIfTI they came from', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    for (const ext of ['nrrd', 'mha']) {
      const path = join(tmp.dir, `t2.${ext}`)
      await writeImageNode(toItkImage(t2, t2.data), path, { useCompression: true })
      const v = await readVolume(path)
      expect(v.source?.format).toBe(ext === 'nrrd' ? 'nrrd' : 'metaimage')
      expect(v.data).toBeInstanceOf(Int16Array)
      expect(Array.from(v.data)).toEqual(Array.from(t2.data))
      expect(maxAbsDiff(v.origin, t2.origin)).toBeLessThan(1e-9)
      expect(maxAbsDiff(v.direction, t2.direction)).toBeLessThan(1e-9)
      expect(maxAbsDiff(v.spacing, t2.spacing)).toBeLessThan(1e-9)
    }
  })

  it('converts int64 voxels to float64 and says so', async () => {
    const values = BigInt64Array.from({ length: 27 }, (_, k) => BigInt(k) * 10_000_000_000n)
    const image = toItkImage({ size: [3, 3, 3], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }, new Float64Array(27))
    const int64Image = { ...image, imageType: { ...image.imageType, componentType: 'int64' as const }, data: values }
    const path = join(tmp.dir, 'i64.nrrd')
    await writeImageNode(int64Image, path)
    const v = await readVolume(path)
    expect(v.data).toBeInstanceOf(Float64Array)
    expect(Array.from(v.data)).toEqual(Array.from(values, (x) => Number(x)))
    expect(v.source?.notes.join(' ')).toContain('int64 voxels converted to float64')
  })

  it('CORRUPT_FILE for truncated .nrrd/.mha, NOT_AN_IMAGE for text named .nrrd', async () => {
    const t2 = await readVolume(data('spine/t2.nii.gz'))
    for (const ext of ['nrrd', 'mha']) {
      const whole = join(tmp.dir, `whole.${ext}`)
      await writeImageNode(toItkImage(t2, t2.data), whole, { useCompression: true })
      const bytes = readFileSync(whole)
      const cut = join(tmp.dir, `cut.${ext}`)
      writeFileSync(cut, bytes.subarray(0, bytes.length >> 1))
      const e = await refusal(readVolume(cut))
      expect(e.code).toBe('CORRUPT_FILE')
      expect(e.message).toContain(`cut.${ext} could not be decoded`)
    }
    const fake = join(tmp.dir, 'fake.nrrd')
    writeFileSync(fake, 'not an image at all')
    const e = await refusal(readVolume(fake))
    expect(e.code).toBe('NOT_AN_IMAGE')
    expect(e.message).toContain('fake.nrrd is not a NRRD file')
  })

  it('TOO_LARGE for a NRRD whose header claims more voxels than the limit', async () => {
    const path = join(tmp.dir, 'huge.nhdr')
    writeFileSync(path, 'NRRD0004\ntype: float\ndimension: 3\nsizes: 2000 2000 2000\nencoding: raw\ndata file: huge.raw\n\n')
    const e = await refusal(readVolume(path, { maxBytes: 1e9 }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toContain('huge.nhdr needs 32.0 GB of memory for its voxels; the limit is 1.0 GB')
  })
})
