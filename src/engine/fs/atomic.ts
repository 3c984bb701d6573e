/**
 * Atomic file output: write next to the target, then rename. A crash or an error leaves either the
 * old file or the new one, never a partial file.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'

export async function atomicWriteFile(target: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(target))
  const tmp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await fs.writeFile(tmp, data)
    await fs.rename(tmp, target)
  } catch (e) {
    await fs.rm(tmp, { force: true })
    throw e
  }
}

/** True when two paths name the same file (after resolving symlinks where the files exist). */
export async function samePath(a: string, b: string): Promise<boolean> {
  const real = async (p: string) => {
    try {
      return await fs.realpath(p)
    } catch {
      return path.resolve(p)
    }
  }
  return (await real(a)) === (await real(b))
}
