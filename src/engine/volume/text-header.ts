/**
 * A cheap look at NRRD and MetaImage text headers: how many bytes the voxels will need, read before
 * anything is decoded (itk-wasm is a 32-bit WebAssembly module: asked about a huge image, it
 * fails with a bare number instead of telling its size).
 */

/** Bytes per component for a NRRD `type:` or MetaImage `ElementType =` value (approximate names). */
export function componentBytes(type: string): number | undefined {
  const t = type.toLowerCase()
  if (t.includes('double')) return 8
  if (t.includes('float')) return 4
  if (t.includes('long_long') || t.includes('long long') || t.includes('longlong') || t.includes('64')) return 8
  if (t.includes('short') || t.includes('16')) return 2
  if (t.includes('char') || t.includes('8')) return 1
  if (t.includes('int') || t.includes('long') || t.includes('32')) return 4
  return undefined
}

export interface TextHeaderInfo {
  sizes: number[]
  /** Bytes of one voxel (all components). */
  voxelBytes: number
}

/** The value of the first `key: value` (NRRD) or `Key = value` (MetaImage) line, if any. */
function field(text: string, key: string, sep: ':' | '='): string | undefined {
  const re = new RegExp(`^\\s*${key}\\s*${sep}\\s*(.*)$`, 'im')
  return re.exec(text)?.[1].trim()
}

/**
 * Sizes and bytes per voxel from the start of a NRRD or MetaImage file (the text header).
 * @returns null when the fields are missing or unreadable (the caller then relies on itk-wasm).
 */
export function parseTextHeader(format: 'nrrd' | 'metaimage', head: string): TextHeaderInfo | null {
  const nrrd = format === 'nrrd'
  const sizesText = nrrd ? field(head, 'sizes', ':') : field(head, 'DimSize', '=')
  const typeText = nrrd ? field(head, 'type', ':') : field(head, 'ElementType', '=')
  if (sizesText === undefined || typeText === undefined) return null
  const sizes = sizesText.split(/\s+/).map(Number)
  const bytes = componentBytes(typeText)
  if (bytes === undefined || sizes.some((s) => !Number.isInteger(s) || s < 1)) return null
  const channels = nrrd ? 1 : Number(field(head, 'ElementNumberOfChannels', '=') ?? 1)
  return { sizes, voxelBytes: bytes * (Number.isInteger(channels) && channels > 0 ? channels : 1) }
}
