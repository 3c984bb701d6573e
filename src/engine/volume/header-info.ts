/**
 * A volume's grid and voxel type from its header alone, before anything is decoded: what
 * pipeline/memory.ts needs to bound a segmentation's memory. NIfTI-1 headers are parsed by our own
 * nifti-header.ts (the geometry policy of the reader, read-nifti.ts); NRRD, MetaImage and NIfTI-2
 * go through itk-wasm's `informationOnly` read, as the reader's own header checks do.
 * The reader (read.ts) still runs every check of its own afterwards.
 */
import { resolve } from 'node:path'
import { readImageNode } from '@itk-wasm/image-io'
import type { Grid } from './volume'
import { NIFTI2_HEADER_BYTES, niftiBytesPerVoxel, niftiIsScaled, parseNiftiHeader, readHeadBytes } from './nifti-header'
import { niftiGeometryWithNotes, niftiVolumeCount } from './read-nifti'
import { analyzeAsNifti, isAnalyze, pairPaths, spmOrientation } from './analyze'
import { itkGrid } from './itk-image'
import { BYTES_PER_COMPONENT, formatOfPath } from './read'

export interface HeaderInfo extends Grid {
  /** Bytes of one decoded voxel in memory (a scaled NIfTI decodes to float32, 64-bit integers to float64). */
  voxelBytes: number
  /** 3D volumes in the file (4D files: more than 1; the reader needs a choice then). */
  volumes: number
}

/**
 * The grid and decoded voxel size of an image file, from its header only.
 * @returns null when the header cannot tell (unknown format, unreadable or not an image): the
 *          reader then refuses the file with its own specific error.
 */
export async function readHeaderInfo(path: string): Promise<HeaderInfo | null> {
  const info = await headerOf(resolve(path))
  // non-finite geometry is the reader's to refuse, with its own message
  return info && [...info.spacing, ...info.origin, ...info.direction].every(Number.isFinite) ? info : null
}

async function headerOf(abs: string): Promise<HeaderInfo | null> {
  const format = formatOfPath(abs)
  if (format === null) return null
  try {
    if (format === 'nifti') {
      const pair = pairPaths(abs)
      const head = await readHeadBytes(pair?.header ?? abs, NIFTI2_HEADER_BYTES)
      const parsed = parseNiftiHeader(head)
      if (parsed === null && pair !== null) return null
      if (parsed !== null) {
        const header = pair !== null && isAnalyze(parsed) ? analyzeAsNifti(parsed, head, await spmOrientation(pair.header)) : parsed
        const stored = niftiBytesPerVoxel(header)
        if (stored === undefined || header.dim[0] < 3) return null
        const { spacing, origin, direction } = niftiGeometryWithNotes(header).geometry
        const voxelBytes = niftiIsScaled(header) ? Math.max(4, stored) : stored
        return { size: [header.dim[1], header.dim[2], header.dim[3]], spacing, origin, direction, voxelBytes, volumes: niftiVolumeCount(header) }
      }
    }
    const info = await readImageNode(abs, { informationOnly: true })
    const bytes = BYTES_PER_COMPONENT[info.imageType.componentType] ?? 8
    const frames = format === 'mgh' ? info.imageType.components : 1 // itk-wasm hands MGH frames as components
    const volumes = info.size.slice(3).reduce((a, b) => a * b, 1) * frames
    return { ...itkGrid(info), voxelBytes: (bytes * info.imageType.components) / frames, volumes }
  } catch {
    return null
  }
}
