/**
 * What the browser build's file browser shows: a folder listing from the bridge (src/bridge/files.ts),
 * read by the page (src/renderer/src/host/files-client.ts). Wire types only.
 */
export interface FolderEntry {
  name: string
  kind: 'folder' | 'file'
  /** Bytes (files). */
  size?: number
}

export interface FolderListing {
  /** The folder listed; '' for the list of allowed roots. */
  path: string
  /** Its parent, when still inside an allowed root ('' = the roots). */
  parent: string | null
  /** Folders first, then files, by name; hidden (dot) entries and links leaving the roots are left out. */
  entries: FolderEntry[]
  /** The listing was cut at its bound (the folder holds more). */
  truncated: boolean
}
