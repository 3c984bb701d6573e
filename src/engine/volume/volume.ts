/**
 * The one image type of the engine: voxels travel with their geometry, always (as in itk-wasm).
 *
 * Conventions (the same as ITK / itk-wasm):
 * - `data` is stored with index i fastest, then j, then k: offset = i + size[0]*(j + size[1]*k).
 * - World coordinates are LPS+ millimetres.
 * - `origin` is the world position of the centre of voxel (0,0,0).
 * - `direction` is a 3x3 row-major matrix (`direction[r*3 + c]`); column c is the unit world
 *   direction of index axis c. world = origin + direction · diag(spacing) · index.
 */
export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array

export type Vec3 = [number, number, number]

/** Size, spacing, origin and direction: everything that places voxels in the patient. */
export interface Grid {
  size: Vec3
  spacing: Vec3
  origin: Vec3
  /** 9 numbers, row-major; columns are the index axes' unit directions in LPS. */
  direction: number[]
}

export interface Volume extends Grid {
  data: VoxelArray
  /** Where it came from and what the reader had to decide; absent for volumes made in memory. */
  source?: VolumeSource
}

export interface VolumeSource {
  path: string
  /** nifti: .nii/.nii.gz and NIfTI .hdr/.img pairs; analyze: Analyze 7.5 .hdr/.img; mgh: FreeSurfer .mgh/.mgz. */
  format: 'nifti' | 'analyze' | 'mgh' | 'nrrd' | 'metaimage' | 'other'
  /** The on-disk component type before any scaling (e.g. 'int16' even when scl_slope made it float32). */
  storedType: string
  /**
   * Every file the voxels and geometry were read from, `path` included (an .hdr/.img pair and SPM's
   * .mat, a detached header's data file, a DICOM series' slices): all are inputs no output may replace.
   */
  files?: string[]
  /**
   * For NIfTI-1: the raw 348-byte header (little-endian normalised), so a label map can be written
   * back with the input's original qform/sform and codes and overlay exactly in any viewer.
   */
  niftiHeader?: Uint8Array
  /** Which volume of a 4D file this is (0-based) and how many it holds; absent for 3D files. */
  volume?: { index: number; count: number }
  /**
   * 1 where the file held NaN/±Inf (SPM and resamplers write NaN outside the brain or field of
   * view): "no data". Those voxels hold the background (the smallest finite value) in `data`, are
   * left out of normalisation statistics and get label 0. Absent when every voxel was finite.
   */
  noData?: Uint8Array
  /** Decisions the reader made that the user should know about (one line each). */
  notes: string[]
}

export function voxelCount(g: Pick<Grid, 'size'>): number {
  return g.size[0] * g.size[1] * g.size[2]
}
