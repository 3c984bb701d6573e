/**
 * One local batch per output folder at a time: a lock file holding the owner's pid. A lock whose
 * process is gone (a killed batch) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SegError } from '../errors'

export const LOCK_FILE = '.segtransfer-batch.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the folder's lock; returns its release. OUTPUT_CONFLICT when a live batch holds it. */
export function lockOutputFolder(outDir: string): () => void {
  const path = join(outDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' })
      return () => rmSync(path, { force: true })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const pid = Number(readFileSync(path, 'utf8'))
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new SegError('OUTPUT_CONFLICT', `${outDir} is in use by another batch (pid ${pid}); expected one batch per output folder`)
      }
      rmSync(path, { force: true }) // its owner is gone
    }
  }
  throw new SegError('OUTPUT_CONFLICT', `${outDir} could not be locked; expected one batch per output folder`)
}
