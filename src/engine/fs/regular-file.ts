/**
 * Inputs must be plain files (or folders where a folder is expected) before anything opens them:
 * opening a FIFO blocks until a writer appears (it hung the CLI and tied up the bridge's thread
 * pool), and a device such as /dev/zero never ends. `stat` follows symlinks, so a link to a
 * special file is refused too.
 */
import { access, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import type { Stats } from 'node:fs'
import { resolve } from 'node:path'
import { SegError } from '../errors'

/** What a stat says a path is, in words for an error message. */
export function kindOfEntry(info: Stats): string {
  if (info.isFile()) return 'a file'
  if (info.isDirectory()) return 'a folder'
  if (info.isFIFO()) return 'a named pipe (FIFO)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  return 'a special file'
}

/**
 * Stats `path` and refuses anything but a regular file we may read: FILE_NOT_FOUND when it does
 * not exist, BAD_ARGUMENT when it is a folder, FIFO, device or socket, or when reading it is not
 * permitted (EACCES/EPERM, before any open). `what` names the expected thing in the message
 * ("an image file", "a PyTorch checkpoint").
 * @param missing the error for a path that does not exist, where the caller knows better why
 * @returns the file's stats (size in bytes for budget checks).
 */
export async function checkRegularFile(path: string, what: string, missing?: () => SegError): Promise<Stats> {
  const abs = resolve(path)
  const denied = (e: NodeJS.ErrnoException): boolean => e.code === 'EACCES' || e.code === 'EPERM'
  const refuse = (): SegError => new SegError('BAD_ARGUMENT', `${abs} cannot be read (permission denied); expected ${what} you can read`)
  const info = await stat(abs).catch((e: NodeJS.ErrnoException) => {
    if (denied(e)) throw refuse()
    return null
  })
  if (info === null) throw missing?.() ?? new SegError('FILE_NOT_FOUND', `${abs} does not exist; expected ${what}`)
  if (!info.isFile()) throw new SegError('BAD_ARGUMENT', `${abs} is ${kindOfEntry(info)}; expected ${what}`)
  await access(abs, constants.R_OK).catch((e: NodeJS.ErrnoException) => {
    throw denied(e) ? refuse() : new SegError('FILE_NOT_FOUND', `${abs} cannot be opened; expected ${what}`)
  })
  return info
}
