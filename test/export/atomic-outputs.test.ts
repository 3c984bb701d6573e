/**
 * The output rules of src/engine/fs/atomic.ts on real files: several outputs are written all or
 * nothing, a cancel before they are moved into place leaves nothing, a file that appears after the
 * check is not replaced, and nothing goes inside a protected bundle folder, however deep.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freshSubdir, tempDir } from '../helpers/data'
import { refusal } from '../volume/fixtures'
import { checkFolderOutput, checkOutputPath, tempPathFor, writeOutputsAtomically, type PendingOutput } from '../../src/engine/fs/atomic'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const fresh = (): string => freshSubdir(tmp.dir)
const text = (path: string, body: string): PendingOutput => ({ path, extension: '', write: (t) => writeFile(t, body, { flag: 'wx' }) })

describe('writeOutputsAtomically', () => {
  it('when the second output cannot be written (its folder vanished), the first is not left either', async () => {
    const dir = fresh()
    const sub = join(dir, 'stats')
    mkdirSync(sub)
    const outputs = [text(join(dir, 'mask.txt'), 'mask'), text(join(sub, 'stats.csv'), 'stats')]
    checkOutputPath(outputs[0].path)
    checkOutputPath(outputs[1].path)
    rmSync(sub, { recursive: true })
    const e = await refusal(writeOutputsAtomically(outputs))
    expect(e.code).toBe('OUTPUT_CONFLICT')
    expect(e.message).toMatch(/stats\.csv could not be written: no such file or folder \(ENOENT\)/)
    expect(readdirSync(dir)).toEqual([])
  })

  it('an aborted signal before the outputs are moved into place: CANCELLED and nothing written', async () => {
    const dir = fresh()
    const ctl = new AbortController()
    const outputs = [text(join(dir, 'a.txt'), 'a'), { ...text(join(dir, 'b.txt'), 'b'), write: async (t: string) => (await writeFile(t, 'b'), ctl.abort()) }]
    const e = await refusal(writeOutputsAtomically(outputs, { signal: ctl.signal }))
    expect(e.code).toBe('CANCELLED')
    expect(readdirSync(dir)).toEqual([])
  })

  it('a file that appears after the check is not replaced without overwrite (and is with it)', async () => {
    const dir = fresh()
    const out = join(dir, 'a.txt')
    checkOutputPath(out)
    writeFileSync(out, 'theirs')
    const e = await refusal(writeOutputsAtomically([text(out, 'ours')]))
    expect(e.code).toBe('OUTPUT_CONFLICT')
    expect(readFileSync(out, 'utf8')).toBe('theirs')
    expect(readdirSync(dir)).toEqual(['a.txt'])
    await writeOutputsAtomically([text(out, 'ours')], { overwrite: true })
    expect(readFileSync(out, 'utf8')).toBe('ours')
  })
})

describe('bundle folders are never written into', () => {
  it('not in a protected folder\'s subfolder, nor as a new bundle inside another bundle', () => {
    const dir = fresh()
    const bundle = join(dir, 'bundle')
    mkdirSync(join(bundle, 'sub'), { recursive: true })
    writeFileSync(join(bundle, 'manifest.json'), '{}')
    expect(() => checkOutputPath(join(bundle, 'sub', 'mask.nii.gz'), { protectedDirs: [bundle], overwrite: true })).toThrow(/never written into/)
    expect(() => checkFolderOutput(join(bundle, 'inner'), { overwrite: true })).toThrow(/never written into/)
  })
})

describe('checkFolderOutput refuses a folder name with no room for its temp names before any work', () => {
  // tempPathFor's temp name: '.' + name + '.partial-<pid>-<8 hex>' (+ '.old' for a replaced bundle moved aside)
  const extra = `..partial-${process.pid}-12345678`.length
  it('a new folder whose temp folder name would pass 255 bytes is refused in one line (it failed only after the work before)', async () => {
    const long = join(fresh(), 'b'.repeat(255 - extra + 1))
    const e = await refusal(Promise.resolve().then(() => checkFolderOutput(long)))
    expect([e.code, e.message]).toEqual(['BAD_ARGUMENT', `${long}: the file name is ${255 - extra + 1} bytes; expected at most ${255 - extra} bytes (room for the temp file written beside it)`])
    expect(() => checkFolderOutput(join(fresh(), 'b'.repeat(255 - extra)))).not.toThrow()
  })

  it('replacing a bundle needs room for its aside name too: refused before the work, not when the old bundle is moved', async () => {
    const name = 'b'.repeat(255 - extra - 2) // room for the temp folder, not for the '.old' aside
    const fits = join(fresh(), name)
    expect(() => checkFolderOutput(fits, { overwrite: true })).not.toThrow() // nothing to move aside
    mkdirSync(fits)
    writeFileSync(join(fits, 'manifest.json'), '{}')
    const e = await refusal(Promise.resolve().then(() => checkFolderOutput(fits, { overwrite: true })))
    expect([e.code, e.message]).toEqual(['BAD_ARGUMENT', `${fits}: the file name is ${name.length} bytes; expected at most ${255 - extra - 4} bytes (room for the temp file written beside it)`])
  })
})

describe('tempPathFor counts a name as the platform does', () => {
  it('a 100-character CJK name (286 bytes) has room on Windows (255 UTF-16 units), not on Linux (255 bytes)', async () => {
    const out = join(tmp.dir, `${'脳'.repeat(93)}.nii.gz`)
    expect(tempPathFor(out, '.nii.gz', 'win32')).toMatch(/\.partial-\d+-[0-9a-f]{8}\.nii\.gz$/)
    const e = await refusal(Promise.resolve().then(() => tempPathFor(out, '.nii.gz', 'linux')))
    expect(e.message).toMatch(/: the file name is 286 bytes; expected at most \d+ bytes \(room for the temp file written beside it\)$/)
    const tooLong = join(tmp.dir, `${'脳'.repeat(240)}.nii.gz`)
    expect(() => tempPathFor(tooLong, '.nii.gz', 'win32')).toThrow(/: the file name is 247 characters; expected at most \d+ characters \(room/)
  })
})

describe('checkOutputPath protects what is inside an input folder', () => {
  it('an output inside a folder given as input (a DICOM series folder) is refused, even with overwrite', () => {
    const dir = freshSubdir(tmp.dir)
    writeFileSync(join(dir, 'IM1.dcm'), 'slice')
    let e: unknown
    try {
      checkOutputPath(join(dir, 'IM1.dcm'), { inputs: [dir], overwrite: true })
    } catch (err) {
      e = err
    }
    expect(e).toMatchObject({ code: 'OUTPUT_CONFLICT', message: `${join(dir, 'IM1.dcm')} is inside the input folder ${dir}; expected an output path outside it (inputs are never overwritten)` })
    expect(readFileSync(join(dir, 'IM1.dcm'), 'utf8')).toBe('slice')
  })
})
