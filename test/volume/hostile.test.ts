/**
 * Hostile inputs to the reader (issue 13, items 2, 8 and 9): each one once hung, crashed, printed
 * ITK's output or was read with absurd geometry; each must now be one SegError line, quickly.
 * Reads that could block their thread for good run in a separate thread under a deadline
 * (read-under-deadline.ts), so a regression fails the test instead of freezing the runner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmodSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { readImageNode, writeImageNode } from '@itk-wasm/image-io'
import { readVolume } from '../../src/engine/volume/read'
import { craftNifti, data, gzipsWithTrueTrailer, refusal, tempDir } from './fixtures'
import { readUnderDeadline } from './read-under-deadline'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** t1_RAS.nii (uncompressed) with its header changed by `edit` (a little-endian DataView). */
function t1With(name: string, edit: (v: DataView) => void): string {
  const bytes = new Uint8Array(gunzipSync(readFileSync(data('geometry/t1_RAS.nii.gz'))))
  edit(new DataView(bytes.buffer))
  const path = join(tmp.dir, name)
  writeFileSync(path, bytes)
  return path
}

const SROW = 280 // srow_x; srow_y at 296, srow_z at 312 (float32 x 4 each)

describe('readVolume never hangs on hostile input', () => {
  it('refuses the crafted sform (sform_code 1, srow_y = [3.4e10, +Inf, ...]) that made itk-wasm spin forever, in seconds', async () => {
    const path = t1With('spin.nii', (v) => {
      v.setInt16(254, 1, true)
      v.setFloat32(SROW + 16, 3.4e10, true)
      v.setFloat32(SROW + 20, Infinity, true)
    })
    const outcome = await readUnderDeadline(path, 20_000)
    expect(outcome).toEqual({
      kind: 'refused',
      code: 'CORRUPT_FILE',
      message: 'spin.nii has a non-finite or overflowing sform in its NIfTI header; expected finite, bounded values'
    })
  })

  it('refuses a FIFO and a link to a character device before opening them (a FIFO blocked the reader until a writer came)', async () => {
    const fifo = join(tmp.dir, 'pipe.nii.gz')
    execFileSync('mkfifo', [fifo])
    const outcome = await readUnderDeadline(fifo, 20_000)
    expect(outcome).toMatchObject({ kind: 'refused', code: 'BAD_ARGUMENT' })
    expect((outcome as { message: string }).message).toBe(`${fifo} is a named pipe (FIFO); expected an image file`)
    const zero = join(tmp.dir, 'zero.nii')
    symlinkSync('/dev/zero', zero)
    const e = await refusal(readVolume(zero))
    expect([e.code, e.message]).toEqual(['BAD_ARGUMENT', `${zero} is a character device; expected an image file`])
  })
})

describe('readVolume inflates a whole .nii.gz, not trusting its size trailer', () => {
  it('a stream corrupted mid-way and a half stream behind the real trailer are refused as CORRUPT_FILE in one line', async () => {
    const { corrupt, lying } = gzipsWithTrueTrailer(gunzipSync(readFileSync(data('geometry/t1_RAS.nii.gz'))))
    for (const [name, bytes] of [['xored.nii.gz', corrupt], ['lying.nii.gz', lying]] as const) {
      writeFileSync(join(tmp.dir, name), bytes)
      const e = await refusal(readVolume(join(tmp.dir, name)))
      expect(e.code).toBe('CORRUPT_FILE')
      expect(e.message).toMatch(new RegExp(`^${name} is truncated or corrupt: its gzip stream (has invalid data or a wrong checksum|ends early) after [0-9.]+ kB of the [0-9.]+ kB its header describes; expected a complete file$`))
    }
  })

  it('volume 0 of a 4D .nii.gz is refused when the stream goes wrong only after its bytes: a wrong CRC trailer, garbage in volume 2, 64 MiB more than described', async () => {
    const volume = 32 * 32 * 16 // uint8 voxels of one volume
    const voxels = Uint8Array.from({ length: 3 * volume }, (_, k) => (k * 2654435761) >>> 24) // incompressible-looking, deterministic
    const nii = craftNifti({ dim: [4, 32, 32, 16, 3], datatype: 2, bitpix: 8, voxels })
    const write = (name: string, bytes: Uint8Array): string => {
      writeFileSync(join(tmp.dir, name), bytes)
      return join(tmp.dir, name)
    }
    const intact = await readVolume(write('intact4d.nii.gz', gzipSync(nii)), { volume: 0 })
    expect(Buffer.from(intact.data as Uint8Array).equals(Buffer.from(voxels.subarray(0, volume)))).toBe(true)
    const badCrc = Buffer.from(gzipSync(nii))
    badCrc[badCrc.length - 8] ^= 0xff // the CRC-32 trailer: only the end of the stream can tell
    // two gzip members: header + volume 0, then volumes 1-2 with garbage in the middle of the second
    const split = 352 + volume
    const later = Buffer.from(gzipSync(nii.subarray(split), { level: 0 })) // stored blocks: a byte of voxels is a byte of file
    later[later.length - 8 - (volume >> 1)] ^= 0x5a
    const garbage = Buffer.concat([gzipSync(nii.subarray(0, split)), later])
    for (const [name, bytes] of [['crc4d.nii.gz', badCrc], ['garbage4d.nii.gz', garbage]] as const) {
      const e = await refusal(readVolume(write(name, bytes), { volume: 0 }))
      expect(e.code).toBe('CORRUPT_FILE')
      expect(e.message).toMatch(new RegExp(`^${name} is truncated or corrupt: its gzip stream has invalid data or a wrong checksum after [0-9.]+ kB of the 49.5 kB its header describes; expected a complete file$`))
    }
    const mib = gzipSync(new Uint8Array(2 ** 20))
    const bomb = Buffer.concat([gzipSync(nii), ...Array<Buffer>(65).fill(mib)]) // 65 MiB of zeros after the described content
    const e = await refusal(readVolume(write('bomb4d.nii.gz', bomb), { volume: 0 }))
    expect([e.code, e.message]).toEqual(['CORRUPT_FILE', 'bomb4d.nii.gz is corrupt: its gzip stream holds more than the 49.5 kB its header describes; expected a complete file'])
  })

  it.runIf(existsSync('/proc/self/io'))('reading a .nii.gz reads its file once, not once to check it and again to decode it (bytes read by this process)', async () => {
    const f = data('mri/t1_crop.nii.gz')
    await readVolume(data('geometry/t1_RAS.nii.gz')) // the reader worker started, its modules loaded
    const readSoFar = (): number => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1])
    const before = readSoFar()
    await readVolume(f)
    const ratio = (readSoFar() - before) / readFileSync(f).length
    expect(ratio).toBeGreaterThanOrEqual(1)
    expect(ratio).toBeLessThan(1.5) // two passes read it twice (2.0)
  })
})

describe('readVolume refuses absurd geometry with one line', () => {
  it('an infinite pixdim is named (it used to end in "singular 3x3 matrix" or spacing Infinity)', async () => {
    const path = t1With('inf_pixdim.nii', (v) => {
      v.setInt16(254, 0, true) // no sform: the default geometry takes its spacing from pixdim
      v.setFloat32(80, Infinity, true)
    })
    const e = await refusal(readVolume(path))
    expect([e.code, e.message]).toEqual(['CORRUPT_FILE', 'inf_pixdim.nii has a voxel size (pixdim) of +infinite in its NIfTI header; expected finite, bounded values'])
  })

  it.each([
    ['5 m voxels from the sform (a volume of ~1e9 mL per voxel)', 'big.nii', (v: DataView) => v.setFloat32(SROW, 5000, true), 'a voxel spacing of 5000 mm along i'],
    ['a 1e-5 mm voxel from pixdim', 'tiny.nii', (v: DataView) => { v.setInt16(254, 0, true); v.setFloat32(84, 1e-5, true) }, 'a voxel spacing of 0.00001 mm along j'],
    ['an origin 1e7 mm away', 'far.nii', (v: DataView) => v.setFloat32(SROW + 12, 1e7, true), 'an origin -10000000 mm from the centre'],
    ['an sform whose i and j axes are nearly the same (singular after flattening)', 'flat.nii', (v: DataView) => {
      for (const [r, x] of [[0, 1], [1, 1], [2, 0]]) { v.setFloat32(SROW + 16 * r, x, true); v.setFloat32(SROW + 16 * r + 4, r === 1 ? 1.0001 : x, true) }
    }, 'axes that are not independent']
  ])('refuses %s', async (_what, name, edit, problem) => {
    const e = await refusal(readVolume(t1With(name, edit)))
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toContain(`${name} has an implausible `)
    expect(e.message).toContain(problem)
    expect(e.message).not.toContain('\n')
  })
})

describe('readVolume checks the geometry it returns, not only the header it read', () => {
  it('a MetaImage direction column of length 3.4e10 (made orthonormal: spacing 8.2e10 mm) is refused (npm run fuzz found it)', async () => {
    const header = ['ObjectType = Image', 'NDims = 3', 'BinaryData = True', 'BinaryDataByteOrderMSB = False',
      'TransformMatrix = 3.4e10 0 0 0 1 0 0 0 1', 'Offset = 0 0 0', 'ElementSpacing = 2.4 2.4 2.4', 'DimSize = 4 4 4',
      'ElementType = MET_UCHAR', 'ElementDataFile = LOCAL', ''].join('\n')
    const path = join(tmp.dir, 'long_axis.mha')
    writeFileSync(path, Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(64, 7)]))
    const e = await refusal(readVolume(path))
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toMatch(/^long_axis\.mha has an implausible header: a voxel spacing of 816\d+ mm along i;/)
  })
})

describe('readVolume errors are one line and ITK prints nothing', () => {
  let nrrd = ''
  beforeAll(async () => {
    nrrd = join(tmp.dir, 't1.nrrd')
    await writeImageNode(await readImageNode(data('geometry/t1_RAS.nii.gz')), nrrd)
  })

  /** `segtransfer info <path>`: its exit status and stderr. */
  function info(path: string): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/segtransfer.mjs'), 'info', path], { encoding: 'utf8', timeout: 60_000 })
    return { status: r.status, stderr: r.stderr }
  }

  it('an NRRD ITK cannot decode: "error: ..." alone on stderr (ITK printed "stderr:" and "Build module in Debug mode" before)', () => {
    const bad = join(tmp.dir, 'nan_dir.nrrd')
    writeFileSync(bad, readFileSync(nrrd, 'latin1').replace(/space directions: \([^)]*\)/, 'space directions: (nan,0,0)'), 'latin1')
    const r = info(bad)
    expect(r.status).toBe(2)
    expect(r.stderr).toBe('error: nan_dir.nrrd could not be decoded; expected a complete, readable NRRD file\n')
  })

  it('a sheared sform ITK warned about and refused ("unexpected scales in sform") reads without a word on stderr', () => {
    const path = t1With('shear.nii', (v) => {
      v.setInt16(252, 0, true)
      v.setFloat32(SROW + 4, 1.5, true)
    })
    const r = info(path)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('an unreadable file (EACCES) is one line, whoever runs the test', () => {
    const path = join(tmp.dir, 'locked.nii.gz')
    writeFileSync(path, readFileSync(data('geometry/t1_RAS.nii.gz')))
    chmodSync(path, 0o000)
    chmodSync(tmp.dir, 0o755)
    const asRoot = process.getuid?.() === 0
    const uid = asRoot ? 65534 : process.getuid!()
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'test/volume/read-as-user.ts'), String(uid), path], {
      encoding: 'utf8', timeout: 60_000, cwd: REPO
    })
    expect(JSON.parse(r.stdout)).toEqual({
      kind: 'refused', code: 'BAD_ARGUMENT', message: `${path} cannot be read (permission denied); expected an image file you can read`
    })
  })
})
