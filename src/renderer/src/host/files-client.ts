/**
 * The browser build's way to reach local files without typing paths: a folder listing confined to
 * the folders the user allowed the bridge to show, and uploading a dropped file to the bridge, which
 * keeps it in a folder of its own and answers with its path (src/bridge/files.ts). Runs in the page:
 * fetch only, no Node.
 */
import { ApiCallError } from '../../../shared/contract'
import type { FolderListing } from '../../../shared/folder-listing'
import { bridgePost, tokenFromLocation } from './http-client'

/** Largest upload the page sends (the bridge enforces its own bound, which may be lower). */
export const MAX_UPLOAD_BYTES = 4 * 1024 ** 3

export interface BridgeFiles {
  /** The folder's entries; no path: the allowed roots. */
  list(path?: string): Promise<FolderListing>
  /** Sends a file to the bridge; files of one `batch` (a drop) land in one folder. Returns its path there. */
  upload(file: Blob, name: string, batch: string): Promise<string>
}

export function createBridgeFiles(base = '', token = tokenFromLocation()): BridgeFiles {
  const post = <T>(route: string, data: string | Blob, type: string): Promise<T> => bridgePost<T>(`${base}/api/files/${route}`, token, { data, type })
  return {
    list: (path) => post('list', JSON.stringify({ path: path ?? '' }), 'application/json'),
    upload: async (file, name, batch) => {
      if (file.size > MAX_UPLOAD_BYTES) throw new ApiCallError({ code: 'TOO_LARGE', message: `${name} is ${(file.size / 1024 ** 3).toFixed(1)} GiB; uploads are limited to ${MAX_UPLOAD_BYTES / 1024 ** 3} GiB: open it by its path instead` })
      const q = new URLSearchParams({ name, batch })
      return (await post<{ path: string }>(`upload?${q}`, file, 'application/octet-stream')).path
    }
  }
}

/** A new batch id for the files of one drop. */
export function newBatchId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')
}
