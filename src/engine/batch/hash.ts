/**
 * Content hashes that key a batch: a study is redone exactly when its inputs, the bundle or the
 * options that change its outputs differ (sha256 of the bytes, streamed: inputs can be GBs).
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { SegError } from '../errors'
import { MANIFEST_FILE } from '../bundle/manifest'
import type { Bundle } from '../bundle/bundle'

/** Bumped when the outputs of a study change for the same inputs (a new output file, a new format). */
export const BATCH_FORMAT_VERSION = 1

/** The sha256 (hex) of a file's bytes; FILE_NOT_FOUND when it cannot be read. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', (e) => reject(new SegError('FILE_NOT_FOUND', `${path} could not be read (${e.message.split('\n')[0]}); expected a readable file`)))
  })
}

/** The bundle's identity: its manifest and model bytes (the folder's path does not matter). */
export async function hashBundle(bundle: Pick<Bundle, 'dir' | 'modelPath'>): Promise<string> {
  const [manifest, model] = await Promise.all([hashFile(join(bundle.dir, MANIFEST_FILE)), hashFile(bundle.modelPath)])
  return createHash('sha256').update(`${manifest}:${model}`).digest('hex')
}

/**
 * The key of one study's work: its id (its output names), its input contents, the bundle and the
 * options. Used as the journal key and as the BullMQ job id (so re-queuing is idempotent). 40 hex
 * digits: never all-digits in practice, which BullMQ would refuse as a job id.
 */
export function studyKey(id: string, inputHashes: readonly string[], bundleHash: string, options: { refinement: boolean }): string {
  const text = JSON.stringify({ v: BATCH_FORMAT_VERSION, id, inputs: inputHashes, bundle: bundleHash, refinement: options.refinement })
  return createHash('sha256').update(text).digest('hex').slice(0, 40)
}
