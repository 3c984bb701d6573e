/**
 * Local files for the browser build, where a page cannot see paths: (1) a folder listing confined to
 * the roots the user allowed (`--root`, SEGTRANSFER_ROOTS; default: the home folder), and (2) files
 * dropped on the page, uploaded into a folder the bridge owns.
 *
 * Confinement is decided on real paths: a requested path is resolved (`..` collapsed) and its
 * symlinks followed (realpath) before it is compared with the roots' own real paths, so neither
 * `..` nor a link pointing out of a root reaches outside; such a request is refused in one line.
 * Hidden entries (dot names: ~/.ssh, ~/.config…) are never listed nor listed into.
 * On Linux a folder is opened once and read through its descriptor (/proc/self/fd), after checking
 * where that descriptor really points: a link swapped in after the check (by someone who may write
 * inside a root) cannot turn the listing to a folder outside. Elsewhere the check and the read are
 * two steps on the path (Node has no openat).
 */
import { constants, createWriteStream, existsSync, realpathSync, statSync } from 'node:fs'
import { lstat, mkdir, open, readdir, readlink, stat, statfs } from 'node:fs/promises'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { isSegError, SegError } from '../engine/errors'
import { fsReason, produceAtomically } from '../engine/fs/atomic'
import { formatBytes } from '../engine/volume/read-nifti'
import type { FolderEntry, FolderListing } from '../shared/folder-listing'

/** Most entries one listing returns (a DICOM folder of thousands of slices is opened as a folder). */
export const MAX_ENTRIES = 5000
/** Default and largest upload bounds (bytes): a CT series as one NIfTI fits well within the default. */
export const DEFAULT_MAX_UPLOAD = 2 * 1024 ** 3
export const MAX_UPLOAD_LIMIT = 16 * 1024 ** 3
/** All uploads of one bridge session together: this many times the per-file limit (they live until the bridge stops). */
export const UPLOADS_PER_SESSION = 4
/** Disk space an upload leaves free (bytes): the disk the uploads share with the rest of the machine. */
export const DISK_HEADROOM = 1024 ** 3
/** An uploaded file's name: plain characters, no leading dot, at most 200 of them. */
const UPLOAD_NAME = /^[A-Za-z0-9_][A-Za-z0-9 _.,+()-]{0,199}$/
const BATCH_ID = /^[a-f0-9]{8,64}$/

const isInside = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

/** The default root, the home folder; none when it is missing (a service account): the browser then lists nothing. */
export function defaultRoots(home: string): string[] {
  try {
    return realRoots([home])
  } catch {
    return []
  }
}

/** The real paths of the allowed roots; each must be an existing folder. */
export function realRoots(roots: readonly string[]): string[] {
  if (!roots.length) throw new SegError('BAD_ARGUMENT', 'no folder allowed for the file browser; expected at least one --root folder')
  return roots.map((r) => {
    let real: string
    try {
      real = realpathSync(path.resolve(r))
    } catch {
      throw new SegError('FILE_NOT_FOUND', `file browser root ${r} does not exist; expected an existing folder`)
    }
    if (!statSync(real).isDirectory()) throw new SegError('BAD_ARGUMENT', `file browser root ${r} is a file; expected a folder`)
    return real
  })
}

/**
 * The real path of `requested` if it lies inside one of `roots` (real paths, see realRoots) and
 * crosses no hidden (dot) name; otherwise a one-line BAD_ARGUMENT. A missing path is FILE_NOT_FOUND.
 */
export function confine(roots: readonly string[], requested: string): string {
  if (requested.includes('\0')) throw new SegError('BAD_ARGUMENT', `${JSON.stringify(requested.slice(0, 200))} contains a NUL byte; expected a folder listed by the file browser`)
  if (!path.isAbsolute(requested)) throw new SegError('BAD_ARGUMENT', `${requested} is not an absolute path; expected a folder listed by the file browser`)
  let real: string
  try {
    real = realpathSync(path.resolve(requested))
  } catch {
    throw new SegError('FILE_NOT_FOUND', `${requested} does not exist; expected a folder listed by the file browser`)
  }
  const root = roots.find((r) => isInside(real, r))
  if (!root) throw new SegError('BAD_ARGUMENT', `${requested} is outside the folders this bridge may show (${roots.join(', ')}); expected a path inside them`)
  if (path.relative(root, real).split(path.sep).some((part) => part.startsWith('.'))) {
    throw new SegError('BAD_ARGUMENT', `${requested} is a hidden folder or file; the file browser shows no hidden entries`)
  }
  return real
}

/** Where an open descriptor can be named as a path (Linux); elsewhere folders are read by their path. */
const FD_FOLDER = process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd' : undefined

/**
 * One entry of the folder `dir`, read as `at` (its descriptor's path, or `dir`): the entry itself
 * through the open folder, a link followed only when its target is inside the roots; undefined for
 * links leaving the roots or into hidden folders, and the unreadable.
 */
async function entryOf(roots: readonly string[], dir: string, at: string, name: string): Promise<FolderEntry | undefined> {
  try {
    const own = await lstat(path.join(at, name))
    const st = own.isSymbolicLink() ? await stat(confine(roots, path.join(dir, name))) : own
    return st.isDirectory() ? { name, kind: 'folder' } : st.isFile() ? { name, kind: 'file', size: st.size } : undefined
  } catch {
    return undefined
  }
}

/** Runs `read` on the confined folder `dir` opened once (see the header), passing the path to read it by. */
async function withOpenFolder<T>(roots: readonly string[], dir: string, requested: string, read: (at: string) => Promise<T>): Promise<T> {
  if (!FD_FOLDER) return read(dir)
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch((e: unknown) => {
    throw new SegError('BAD_ARGUMENT', `${requested} cannot be listed: ${fsReason(e)}; expected a folder you can read`)
  })
  try {
    const at = `${FD_FOLDER}/${handle.fd}`
    // The kernel's own path of what was opened: the confined folder, or something swapped in since.
    if ((await readlink(at)) !== dir) throw new SegError('BAD_ARGUMENT', `${requested} changed while it was being listed; expected a folder that stays in place`)
    return await read(at)
  } finally {
    await handle.close()
  }
}

/** The allowed roots (no `requested`) or one folder inside them: folders first, then files, by name. */
export async function listFolder(roots: readonly string[], requested = ''): Promise<FolderListing> {
  if (!requested) return { path: '', parent: null, entries: roots.map((r) => ({ name: r, kind: 'folder' as const })), truncated: false }
  const dir = confine(roots, requested)
  if (!(await stat(dir)).isDirectory()) throw new SegError('BAD_ARGUMENT', `${requested} is a file; expected a folder to list`)
  return withOpenFolder(roots, dir, requested, async (at) => {
    // Hidden names are dropped before the bound, so they can neither fill the listing nor push visible entries out.
    const names = (await readdir(at)).filter((n) => !n.startsWith('.')).sort((a, b) => a.localeCompare(b))
    const truncated = names.length > MAX_ENTRIES
    const entries = (await Promise.all(names.slice(0, MAX_ENTRIES).map((n) => entryOf(roots, dir, at, n)))).filter((e): e is FolderEntry => !!e)
    entries.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'folder' ? -1 : 1))
    return { path: dir, parent: roots.includes(dir) ? '' : path.dirname(dir), entries, truncated }
  })
}

/** A byte counter that fails the stream past `max` bytes. */
function bounded(max: number, name: string): Transform {
  let n = 0
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length
      if (n > max) done(new SegError('TOO_LARGE', `${name} is larger than the upload limit of ${formatBytes(max)}; expected a smaller file, or open it by its path`))
      else done(null, chunk)
    }
  })
}

/** Bytes of the files under the upload folder (its batches hold plain files only). */
async function uploadedBytes(uploadDir: string): Promise<number> {
  let total = 0
  for (const batch of await readdir(uploadDir, { withFileTypes: true })) {
    if (!batch.isDirectory()) continue
    for (const f of await readdir(path.join(uploadDir, batch.name))) total += (await lstat(path.join(uploadDir, batch.name, f))).size
  }
  return total
}

/**
 * Refuses an upload (TOO_LARGE) that would take this session's uploads past `sessionLimit` bytes or
 * leave the disk with less than DISK_HEADROOM free: checked before a byte is written.
 */
async function checkUploadRoom(uploadDir: string, name: string, declared: number, sessionLimit: number): Promise<void> {
  const held = await uploadedBytes(uploadDir)
  if (held + declared > sessionLimit) throw new SegError('TOO_LARGE', `${name} (${formatBytes(declared)}) would take this session's uploads to ${formatBytes(held + declared)}, above ${formatBytes(sessionLimit)}; expected fewer uploads, or open files by their path`)
  const disk = await statfs(uploadDir)
  const free = disk.bavail * disk.bsize
  if (declared + DISK_HEADROOM > free) throw new SegError('TOO_LARGE', `${name} (${formatBytes(declared)}) needs more disk than is free for uploads (${formatBytes(free)} free, ${formatBytes(DISK_HEADROOM)} kept); expected a smaller file, or open it by its path`)
}

/**
 * Writes an uploaded file atomically to `<uploadDir>/<batch>/<name>` (never over an existing one) and
 * returns its path. Refused in one line before a byte is read: a name with odd characters or a
 * leading dot, a bad batch id, no declared size or one above `maxBytes` (a browser always declares a
 * file's size; Node then holds the body to it, and the byte counter is a second guard), or one that
 * would take the session's uploads past UPLOADS_PER_SESSION × `maxBytes` or fill the disk.
 * @param body the request body (the file's bytes)
 * @param declared the Content-Length
 */
export async function saveUpload(uploadDir: string, batch: string, name: string, body: Readable, maxBytes: number, declared: number | undefined): Promise<string> {
  if (!UPLOAD_NAME.test(name)) throw new SegError('BAD_ARGUMENT', `upload name ${JSON.stringify(name.slice(0, 80))} is not a plain file name; expected letters, digits, spaces and . _ - + ( ) , not starting with a dot`)
  if (!BATCH_ID.test(batch)) throw new SegError('BAD_ARGUMENT', 'upload batch id is malformed; expected 8-64 hex digits')
  if (declared === undefined || !Number.isSafeInteger(declared)) throw new SegError('BAD_ARGUMENT', `upload of ${name} without a Content-Length; expected the file's size up front`)
  if (declared > maxBytes) throw new SegError('TOO_LARGE', `${name} is ${formatBytes(declared)}, above the upload limit of ${formatBytes(maxBytes)}; expected a smaller file, or open it by its path`)
  await mkdir(uploadDir, { recursive: true, mode: 0o700 })
  await checkUploadRoom(uploadDir, name, declared, maxBytes * UPLOADS_PER_SESSION)
  const dir = path.join(uploadDir, batch)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const out = path.join(dir, name)
  // The bytes are copied as they are, so the temp name needs no extension (a long one would push it past NAME_MAX).
  await produceAtomically(out, '', (temp) => pipeline(body, bounded(maxBytes, name), createWriteStream(temp, { flags: 'wx', mode: 0o600 }))).catch((e: unknown) => {
    // The page's case of a taken name (one drop holding two files of one name): the output rules' message would suggest --overwrite.
    if (isSegError(e) && e.code === 'OUTPUT_CONFLICT' && existsSync(out)) throw new SegError('OUTPUT_CONFLICT', `${name} is already uploaded in this drop; expected each file name once per drop`)
    throw e
  })
  return out
}
