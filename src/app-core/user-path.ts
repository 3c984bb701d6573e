/**
 * Paths as people type or paste them: `~/scans/ct.nii.gz`, `"C:\My scans\ct.nii.gz"` copied with its
 * quotes from Windows Explorer, `'/tmp/a b.nii'` from a shell, `file:///home/me/ct.nii.gz` from a
 * browser's address bar. Every path argument of the app core goes through this one function
 * (validation.ts), so both hosts accept the same spellings.
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SegError } from '../engine/errors'

/** One pair of matching quotes around the whole text (as shells and "Copy as path" add them). */
const QUOTED = /^(["'])(.*)\1$/s

/**
 * The path a typed text means.
 * @param typed the text as typed (surrounding blanks, one pair of quotes, `~`, `file://` URLs allowed)
 * @param home the folder `~` stands for (default: the user's home)
 * @returns the path, `~` expanded and a file URL decoded; otherwise as given (relative paths stay relative)
 * @throws SegError BAD_ARGUMENT for an empty path, a file URL of another host or with an encoded NUL, or `~user`
 */
export function normaliseUserPath(typed: string, home: string = os.homedir()): string {
  let p = typed.trim()
  const quoted = QUOTED.exec(p)
  if (quoted) p = quoted[2].trim()
  if (!p) throw new SegError('BAD_ARGUMENT', 'empty path; expected the path of a scan file, a DICOM folder or a model bundle')
  if (/^file:/i.test(p)) {
    let decoded: string
    try {
      decoded = fileURLToPath(p)
    } catch (e) {
      throw new SegError('BAD_ARGUMENT', `${p} is not a local file URL (${(e as Error).message}); expected file:///path/to/file`)
    }
    // %00 decodes to a NUL, which validation's check of the typed text cannot see.
    if (decoded.includes('\0')) throw new SegError('BAD_ARGUMENT', `${p} encodes a NUL byte (%00); expected file:///path/to/file`)
    return decoded
  }
  if (p === '~') return home
  if (p.startsWith('~/') || (path.sep === '\\' && p.startsWith('~\\'))) return path.join(home, p.slice(2))
  if (p.startsWith('~')) throw new SegError('BAD_ARGUMENT', `${p}: another user's home (~name) is not supported; expected ~/… or a full path`)
  return p
}
