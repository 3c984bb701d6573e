/**
 * Paths as typed in the open bar: `~`, one pair of surrounding quotes and file:// URLs are accepted by
 * the one normaliser, and every path argument of the app core goes through it (validation.ts), so
 * a real file typed those ways opens; an empty path is one line, not silence.
 */
import { describe, expect, it } from 'vitest'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { normaliseUserPath } from '../../src/app-core/user-path'
import { validateIpcArgs } from '../../src/app-core/validation'
import { createApiCore, dispatch } from '../../src/app-core/api-core'
import { data, tempDir } from '../helpers/data'

describe('normaliseUserPath', () => {
  const home = '/home/ana'
  it.each([
    ['~', '/home/ana'],
    ['~/scans/ct.nii.gz', '/home/ana/scans/ct.nii.gz'],
    ['  /data/ct.nii.gz \n', '/data/ct.nii.gz'],
    ['"/data/my scans/ct.nii.gz"', '/data/my scans/ct.nii.gz'],
    ["'~/a b.nii'", '/home/ana/a b.nii'],
    ['file:///data/my%20scans/ct.nii.gz', '/data/my scans/ct.nii.gz'],
    ['FILE://localhost/data/ct.nii', '/data/ct.nii'],
    ['relative/ct.nii', 'relative/ct.nii'],
    ['/data/it\'s.nii', "/data/it's.nii"]
  ])('%j means %j', (typed, want) => {
    expect(normaliseUserPath(typed, home)).toBe(want)
  })

  it.each([
    ['', /^empty path; expected/],
    ['   ', /^empty path; expected/],
    ['""', /^empty path; expected/],
    ['file://server/share/ct.nii', /not a local file URL/],
    ['~bob/ct.nii', /another user's home/],
    ['file:///data/ct%00.nii.gz', /^file:\/\/\/data\/ct%00\.nii\.gz encodes a NUL byte \(%00\); expected file:\/\/\/path\/to\/file$/]
  ])('%j is refused in one line', (typed, message) => {
    expect(() => normaliseUserPath(typed, home)).toThrow(message)
  })

  it('is applied to every path argument of the core, with the reason on one line', () => {
    expect(validateIpcArgs('listSeries', ['"/data/ct.nii.gz"'])).toEqual(['/data/ct.nii.gz'])
    expect(validateIpcArgs('exportRun', ['r-1', 'labels', 'file:///o/x.nii.gz'])[2]).toBe('/o/x.nii.gz')
    expect(() => validateIpcArgs('openVolumes', [['  ']])).toThrow(/^invalid arguments to openVolumes: 0\.0: empty path; expected/)
    // The NUL a file URL decodes to is refused like a typed one, on every path argument (an output path too).
    expect(() => validateIpcArgs('exportRun', ['r-1', 'labels', 'file:///o/x%00.nii.gz'])).toThrow(/^invalid arguments to exportRun: 2: file:.* encodes a NUL byte/)
  })
})

describe('the app core opens a real scan typed with quotes, ~ or as a file URL', () => {
  it('opens spleen_ct through each spelling, the same grid each time', async () => {
    const tmp = tempDir('segtransfer-userpath-')
    try {
      const ct = join(tmp.dir, 'my scan.nii.gz')
      copyFileSync(data('ct/spleen_ct.nii.gz'), ct)
      const core = createApiCore({ host: { kind: 'browser' }, runWorker: () => { throw new Error('no runs here') }, emit: () => undefined })
      const spellings = [`"${ct}"`, pathToFileURL(ct).href, `  '${ct}'  `]
      const opened = []
      for (const p of spellings) {
        const r = await dispatch(core, 'openVolumes', [[p]])
        expect(r.ok, JSON.stringify(r)).toBe(true)
        const [info] = (r as { value: { path: string; size: number[]; origin: number[]; modality: string }[] }).value
        opened.push({ path: info.path, size: info.size, origin: info.origin, modality: info.modality })
      }
      expect(opened.map((o) => o.path)).toEqual([ct, ct, ct])
      expect(opened[0].modality).toBe('CT') // the engine's modalityFamily: the readout says HU
      expect(opened[1]).toEqual(opened[0])
      expect(opened[2]).toEqual(opened[0])
      const empty = await dispatch(core, 'openVolumes', [['']])
      expect(empty).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringMatching(/^invalid arguments to openVolumes: 0\.0: empty path; expected/) } })
    } finally {
      tmp.cleanup()
    }
  })
})
