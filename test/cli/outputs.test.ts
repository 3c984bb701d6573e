/**
 * Nothing the user owns is overwritten, a failed command writes nothing, and file-system refusals
 * (a folder or file in the way, an unwritable folder, an unreadable input) are one specific line;
 * through the real CLI (in-process, or spawned where a signal, a user or a file-size limit is needed).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { data, freshSubdir, tempDir, REPO } from '../helpers/data'
import { conv3Bundle } from '../helpers/models'
import { cli, spawnCli } from './run-cli'

let tmp: ReturnType<typeof tempDir>
let bundle: string
const INPUT = data('spine/t2.nii.gz')
const CHECKPOINT = join(REPO, 'test/fixtures/checkpoints/medicalnet-resnet10-slim.pth')
beforeAll(async () => {
  tmp = tempDir()
  chmodSync(tmp.dir, 0o755) // reachable for the 'nobody' runs below
  bundle = (await conv3Bundle(join(tmp.dir, 'bundle'))).dir
})
afterAll(() => tmp.cleanup())

const freshDir = (): string => freshSubdir(tmp.dir)
const segment = (...extra: string[]) => cli('segment', '--model', bundle, '--input', INPUT, '--quiet', '--device', 'cpu', ...extra)
const oneLine = (err: string): string => {
  const lines = err.trim().split('\n')
  expect(lines, err).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: /)
  return lines[0]
}

describe('segment refuses an output name with no room for its temp file before any work', () => {
  // tempPathFor's temp name beside an output: '.' + name + '.partial-<pid>-<8 hex>' + the writer's extension
  const room = (extension: string): number => 255 - `..partial-${process.pid}-12345678${extension}`.length
  it('an --out or --stats name too long for its temp file is refused before the bundle is even loaded (it was refused after the run); the longest that fits is written', async () => {
    const dir = freshDir()
    const tooLong = [
      ['--out', join(dir, `${'m'.repeat(room('.nii.gz') - 6)}.nii.gz`)],
      ['--out', join(dir, `${'d'.repeat(room('.dcm') - 3)}.dcm`)],
      ['--out', join(dir, 'mask.nii.gz'), '--stats', join(dir, `${'s'.repeat(room('') - 3)}.csv`)]
    ]
    for (const args of tooLong) {
      const r = await cli('segment', '--model', join(dir, 'no-such-bundle'), '--input', INPUT, '--quiet', '--device', 'cpu', ...args)
      expect(r.code, r.err).toBe(2)
      expect(oneLine(r.err)).toMatch(/: the file name is \d+ bytes; expected at most \d+ bytes \(room for the temp file written beside it\)$/)
    }
    const longest = join(dir, `${'m'.repeat(room('.nii.gz') - 7)}.nii.gz`)
    const r = await segment('--out', longest)
    expect(r.code, r.err).toBe(0)
    expect(readdirSync(dir)).toEqual([longest.slice(dir.length + 1)])
  })
})

describe('segment never overwrites without --overwrite', () => {
  it('--stats onto the model bundle\'s manifest.json is refused, even with --overwrite, and no mask is written', async () => {
    const dir = freshDir()
    const manifest = join(bundle, 'manifest.json')
    const before = readFileSync(manifest)
    for (const extra of [[], ['--overwrite']]) {
      const r = await segment('--out', join(dir, 'mask.nii.gz'), '--stats', manifest, ...extra)
      expect(r.code).toBe(2)
      expect(oneLine(r.err)).toMatch(/inside the model bundle .*never written into/)
    }
    expect(readFileSync(manifest).equals(before)).toBe(true)
    expect(readdirSync(dir)).toEqual([])
  })

  it('an existing --out is kept unless --overwrite is given, then replaced', async () => {
    const dir = freshDir()
    const out = join(dir, 'mask.nii.gz')
    writeFileSync(out, 'mine')
    const r = await segment('--out', out)
    expect(r.code).toBe(2)
    expect(oneLine(r.err)).toMatch(/already exists.*--overwrite/)
    expect(readFileSync(out, 'utf8')).toBe('mine')
    const o = await segment('--out', out, '--overwrite')
    expect(o.code, o.err).toBe(0)
    expect(statSync(out).size).toBeGreaterThan(100)
    expect(readdirSync(dir)).toEqual(['mask.nii.gz'])
  })

  it('--stats with a bad extension fails before the run and writes no mask', async () => {
    const dir = freshDir()
    const r = await segment('--out', join(dir, 'mask.nii.gz'), '--stats', join(dir, 's.txt'))
    expect(r.code).toBe(2)
    expect(oneLine(r.err)).toMatch(/s\.txt has an unsupported extension; expected \.csv or \.json/)
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('segment never replaces a file it read, whatever path named it', () => {
  it('a detached NRRD header\'s data file is an input: --out onto it with --overwrite is refused and the file kept', async () => {
    const dir = freshDir()
    const voxels = Buffer.alloc(24 * 24 * 12, 7)
    writeFileSync(join(dir, 'vox.nii'), voxels)
    writeFileSync(join(dir, 'det.nhdr'), 'NRRD0004\ntype: uint8\ndimension: 3\nsizes: 24 24 12\nencoding: raw\nspace: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\ndata file: vox.nii\n\n')
    const r = await cli('segment', '--model', bundle, '--input', join(dir, 'det.nhdr'), '--quiet', '--device', 'cpu', '--out', join(dir, 'vox.nii'), '--overwrite')
    expect(r.code, r.err).toBe(2)
    expect(oneLine(r.err)).toBe(`error: ${join(dir, 'vox.nii')} is an input file; expected a different output path (inputs are never overwritten)`)
    expect(readFileSync(join(dir, 'vox.nii')).equals(voxels)).toBe(true)
  })
})

describe('segment: a folder or file in the way is one line, before anything is written', () => {
  it('--out is an existing folder', async () => {
    const dir = freshDir()
    mkdirSync(join(dir, 'mask.nii.gz'))
    const r = await segment('--out', join(dir, 'mask.nii.gz'))
    expect(r.code).toBe(2)
    expect(oneLine(r.err)).toMatch(/mask\.nii\.gz is a folder; expected a file path/)
    expect(readdirSync(join(dir, 'mask.nii.gz'))).toEqual([])
  })

  it('a file is in the way of the output folder', async () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'results'), 'a file')
    const r = await segment('--out', join(dir, 'results', 'sub', 'mask.nii.gz'))
    expect(r.code).toBe(2)
    expect(oneLine(r.err)).toMatch(/results is a file, in the way of the output folder/)
  })
})

describe('transfer never writes into a bundle and leaves nothing when it fails', () => {
  const transfer = (...extra: string[]) => cli('transfer', '--to', 'resunet', '--classes', '3', ...extra)

  it('--from B --out B is refused, even with --overwrite; an existing bundle is replaced only with --overwrite', async () => {
    const dir = freshDir()
    const b = join(dir, 'b')
    expect((await transfer('--from', CHECKPOINT, '--out', b)).code).toBe(0)
    const model = readFileSync(join(b, 'model.onnx'))
    for (const extra of [[], ['--overwrite']]) {
      const r = await transfer('--from', b, '--out', b, ...extra)
      expect(r.code).toBe(2)
      expect(oneLine(r.err)).toMatch(/is the input .*inputs are never overwritten/)
    }
    const again = await transfer('--from', CHECKPOINT, '--out', b, '--classes', '4')
    expect(again.code).toBe(2)
    expect(oneLine(again.err)).toMatch(/existing model bundle.*--overwrite/)
    expect(readFileSync(join(b, 'model.onnx')).equals(model)).toBe(true)
    const replaced = await transfer('--from', CHECKPOINT, '--out', b, '--overwrite', '--classes', '4')
    expect(replaced.code, replaced.err).toBe(0)
    expect(JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8')).output.labels).toHaveLength(4)
    expect(readdirSync(dir)).toEqual(['b']) // no temp or set-aside folder left
  }, 30_000)

  it('--out is a file, or has a file in its way: one line, exit 2', async () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'f'), 'x')
    const a = await transfer('--from', CHECKPOINT, '--out', join(dir, 'f'))
    expect(a.code).toBe(2)
    expect(oneLine(a.err)).toMatch(/f is a file; expected a new folder/)
    const b = await transfer('--from', CHECKPOINT, '--out', join(dir, 'f', 'bundle'))
    expect(b.code).toBe(2)
    expect(oneLine(b.err)).toMatch(/f is a file, not a folder|in the way/)
    expect(readdirSync(dir)).toEqual(['f'])
  })

  it('a write that fails (file-size limit, as on a full disk) leaves no bundle folder and no temp folder', async () => {
    const dir = freshDir()
    // ulimit -f: the 400 KB model.onnx fails with EFBIG, a real file-system condition (Node ignores SIGXFSZ).
    const { spawnSync } = await import('node:child_process')
    const r = spawnSync('/bin/bash', ['-c', `ulimit -f 100; exec "${process.execPath}" "${join(REPO, 'bin/segtransfer.mjs')}" transfer --from "${CHECKPOINT}" --to resunet --classes 3 --out "${join(dir, 'b')}"`], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(oneLine(r.stderr)).toMatch(/could not be written: file too large.*EFBIG/)
    expect(readdirSync(dir)).toEqual([])
  })
})

// Root ignores file permissions, so as root the command runs as 'nobody' to meet a real EACCES.
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

describe('permissions: one line, exit 2, before any work', () => {
  it('an unwritable output folder (segment and transfer)', async () => {
    const dir = freshDir()
    chmodSync(dir, 0o555)
    const s = await spawnCli(['segment', '--model', bundle, '--input', INPUT, '--out', join(dir, 'mask.nii.gz'), '--device', 'cpu'], asUser).done
    expect(s.status).toBe(2)
    expect(oneLine(s.err)).toMatch(/output folder .* is not writable: permission denied \(EACCES\)/)
    const t = await spawnCli(['transfer', '--from', CHECKPOINT, '--to', 'resunet', '--classes', '3', '--out', join(dir, 'b')], asUser).done
    expect(t.status).toBe(2)
    expect(oneLine(t.err)).toMatch(/output folder .* is not writable: permission denied \(EACCES\)/)
    expect(readdirSync(dir)).toEqual([])
  }, 30_000)

  it('an unreadable input', async () => {
    const dir = freshDir()
    chmodSync(dir, 0o777)
    const locked = join(dir, 'locked.nii.gz')
    copyFileSync(INPUT, locked)
    chmodSync(locked, 0o000)
    const s = await spawnCli(['segment', '--model', bundle, '--input', locked, '--out', join(dir, 'mask.nii.gz'), '--device', 'cpu', '--quiet'], asUser).done
    expect(s.status).toBe(2)
    expect(oneLine(s.err)).toMatch(/locked\.nii\.gz .*permission denied/)
    expect(existsSync(join(dir, 'mask.nii.gz'))).toBe(false)
  }, 30_000)
})
