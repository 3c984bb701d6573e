/**
 * writeLabelMap: a segmentation written next to (never over) its input, on the input's grid.
 *
 * Header policy: NIfTI output of a NIfTI input reuses the input's own header (both transforms and
 * their codes, see nifti-label.ts), so the mask overlays the input exactly in any viewer, even
 * with a sheared sform. Every other case (NRRD output, or an input that was not NIfTI) is written
 * by itk-wasm's writeImageNode from the LPS geometry.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { writeImageNode } from '@itk-wasm/image-io'
import { SegError } from '../errors'
import type { Grid, Volume } from '../volume/volume'
import { describeGrid, sameGrid } from '../volume/stack'
import { toItkImage } from '../volume/itk-image'
import { checkOutputPath, writeOutputsAtomically, type PendingOutput } from '../fs/atomic'
import { labelNiftiBytes, maxLabel } from './nifti-label'

const gzipAsync = promisify(gzip)

export const LABEL_MAP_EXTENSIONS = ['.nii.gz', '.nii', '.nrrd'] as const
export type LabelMapExtension = (typeof LABEL_MAP_EXTENSIONS)[number]

export interface WriteLabelMapOptions {
  /** The input the labels were computed on (its grid, and for NIfTI its header). */
  /** The input the labels were made from: only its grid and source (header, path) are used. */
  like?: Grid & Pick<Volume, 'source'>
  /** Input paths that must never be overwritten (like.source.path is always added). */
  inputs?: readonly string[]
  /** Replace an existing file (default: refuse). */
  overwrite?: boolean
  /** Folders never written into (the model bundle); see checkOutputPath. */
  protectedDirs?: readonly string[]
}

/** The output extension of a path (case-insensitive), or BAD_ARGUMENT naming the allowed ones. */
export function labelMapExtension(outPath: string): LabelMapExtension {
  const p = outPath.toLowerCase()
  const ext = LABEL_MAP_EXTENSIONS.find((e) => p.endsWith(e))
  if (ext === undefined) {
    throw new SegError('BAD_ARGUMENT', `${basename(outPath)} has an unsupported extension; expected one of ${LABEL_MAP_EXTENSIONS.join(', ')}`)
  }
  return ext
}

/**
 * Checks everything about a label-map output (see writeLabelMap) and returns it as a pending output,
 * to be written with others all-or-nothing by writeOutputsAtomically.
 */
export function prepareLabelMap(labels: Volume, outPath: string, opts: WriteLabelMapOptions = {}): PendingOutput {
  const ext = labelMapExtension(outPath)
  const data = labels.data
  if (!(data instanceof Uint8Array || data instanceof Uint16Array)) {
    throw new SegError('BAD_ARGUMENT', `label maps hold ${data.constructor.name}; expected Uint8Array or Uint16Array labels`)
  }
  if (data.length !== labels.size[0] * labels.size[1] * labels.size[2]) {
    throw new SegError('BAD_ARGUMENT', `label map has ${data.length} voxels but its grid is ${labels.size.join('x')}; expected one label per voxel`)
  }
  const like = opts.like
  if (like !== undefined && !sameGrid(labels, like)) {
    throw new SegError('GRID_MISMATCH', `the label map is ${describeGrid(labels)} but its input is ${describeGrid(like)}; expected the labels on the input's grid`)
  }
  const inputs = [...(opts.inputs ?? []), ...(like?.source?.path ? [like.source.path] : [])]
  checkOutputPath(outPath, { inputs, overwrite: opts.overwrite, protectedDirs: opts.protectedDirs })

  const header = like?.source?.niftiHeader
  if (ext !== '.nrrd' && header !== undefined) {
    return {
      path: outPath,
      extension: ext,
      write: async (temp) => {
        const bytes = labelNiftiBytes(header, data)
        await writeFile(temp, ext === '.nii.gz' ? await gzipAsync(bytes) : bytes, { flag: 'wx' })
      }
    }
  }
  // Smallest type that holds the labels (a uint16 array of small labels is written as uint8).
  const stored = data instanceof Uint16Array && maxLabel(data) <= 255 ? Uint8Array.from(data) : data
  return { path: outPath, extension: ext, write: (temp) => writeImageNode(toItkImage(labels, stored), temp, { useCompression: ext !== '.nii' }).then(() => undefined) }
}

/**
 * Writes a label map atomically (temp file in the same folder, then rename; nothing left on error).
 * @param labels uint8 or uint16 labels (0 = background) on the input's grid.
 * @param outPath .nii.gz (gzip), .nii or .nrrd (gzip-encoded NRRD).
 * @throws SegError BAD_ARGUMENT (extension, voxel type, missing folder), GRID_MISMATCH (labels
 *   not on `like`'s grid), OUTPUT_CONFLICT (outPath is an input, exists without `overwrite`, is in a
 *   model bundle, or it could not be written).
 */
export async function writeLabelMap(labels: Volume, outPath: string, opts: WriteLabelMapOptions = {}): Promise<void> {
  await writeOutputsAtomically([prepareLabelMap(labels, outPath, opts)], { overwrite: opts.overwrite })
}
