/**
 * readDicomSeries: one image series → a Volume with exact geometry.
 *
 * The grid and slice order come from the headers (geometry.ts); GDCM (@itk-wasm/dicom's
 * readImageDicomFileSeriesNode) decodes the pixels, compressed ones included, and applies
 * RescaleSlope/Intercept. It is given our order (`singleSortedSeries`), so the voxels follow it.
 */
import { readImageDicomFileSeriesNode } from '@itk-wasm/dicom'
import { SegError } from '../errors'
import { toVoxelArray } from '../volume/itk-image'
import { defaultMaxBytes } from '../volume/read'
import type { Volume, VoxelArray } from '../volume/volume'
import { seriesGeometry, type Slice } from './geometry'
import type { DicomFile, DicomSeries } from './scan'
import { nativeDecodable, readNativePixels } from './pixels'
import { withQuietOutput } from './quiet'

export interface DicomVolume {
  volume: Volume
  /** The series' files in slice order (k = 0 first); a multi-frame series has one. */
  sortedFiles: DicomFile[]
}

/** The slices of a series: one per file, or one per frame of a single enhanced multi-frame file. */
export function slicesOf(series: DicomSeries): Slice[] {
  const files = series.files
  const multi = files.length === 1 && files[0].frames > 1
  if (files.some((f) => f.frames > 1) && !multi) {
    throw new SegError('UNSUPPORTED', `series ${series.number} holds ${files.length} multi-frame files; expected one multi-frame file or single-frame images`)
  }
  const missing = files.find((f) => !f.orientation || !f.pixelSpacing || f.positions.length !== f.frames)
  if (missing) {
    throw new SegError('UNSUPPORTED', `series ${series.number} (${series.modality}) has images without a position, orientation or pixel spacing; expected cross-sectional slices (CT, MR, PET…)`)
  }
  return files.flatMap((f) => f.positions.map((position) => ({ position, orientation: f.orientation!, pixelSpacing: f.pixelSpacing!, rows: f.rows, columns: f.columns })))
}

/** Reorders the k-slices of `data` (size[0]·size[1] voxels each) so that slice k is old slice order[k]. */
function reorderSlices(data: VoxelArray, sliceVoxels: number, order: readonly number[]): VoxelArray {
  if (order.every((o, k) => o === k)) return data
  const out = new (data.constructor as new (n: number) => VoxelArray)(data.length)
  order.forEach((o, k) => out.set(data.subarray(o * sliceVoxels, (o + 1) * sliceVoxels), k * sliceVoxels))
  return out
}

/** Which decoder reads the pixels (see readDicomSeries). */
export type Decoder = 'auto' | 'gdcm'

/** The stored component type of a file's pixels, e.g. 'int16'. */
function storedTypeOf(f: DicomFile): string {
  const p = f.pixels
  return p ? `${p.pixelRepresentation === 1 ? 'int' : 'uint'}${p.bitsAllocated}` : 'unknown'
}

/** GDCM's decoding of the files in the given order (compressed syntaxes, big-endian, deflate). */
async function readWithGdcm(series: DicomSeries, sortedFiles: readonly DicomFile[], size: readonly number[]): Promise<{ data: VoxelArray; storedType: string }> {
  let image
  try {
    const { value: r } = await withQuietOutput(() => readImageDicomFileSeriesNode({ inputImages: sortedFiles.map((f) => f.path), singleSortedSeries: true }))
    image = r.outputImage
  } catch (e) {
    throw new SegError('CORRUPT_FILE', `series ${series.number} could not be decoded (${errorText(e)}); expected readable DICOM images`)
  }
  if (image.imageType.components !== 1) {
    throw new SegError('UNSUPPORTED', `series ${series.number} has ${image.imageType.components} components per pixel (colour); expected greyscale images`)
  }
  const got = [0, 1, 2].map((a) => image.size[a] ?? 1)
  if (got.some((g, a) => g !== size[a])) {
    throw new SegError('CORRUPT_FILE', `series ${series.number} decoded to ${got.join('×')} voxels where its headers say ${size.join('×')}; expected consistent images`)
  }
  return { data: toVoxelArray(image.data).data, storedType: image.imageType.componentType }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200)

/**
 * Reads one image series of a scan as a Volume (LPS, row-major direction).
 * Throws SegError: NOT_AN_IMAGE (a SEG/SR/… series), UNSUPPORTED (mixed orientations or sizes,
 * tilt, duplicate positions), TOO_LARGE, CORRUPT_FILE (GDCM could not decode it).
 * @param maxBytes most bytes the decoded voxels may take (default 60% of memory).
 * @param decoder 'auto': native little-endian pixels read directly (pixels.ts), others by GDCM;
 *   'gdcm': GDCM for all (tests cross-check the two).
 */
export async function readDicomSeries(series: DicomSeries, maxBytes = defaultMaxBytes(), decoder: Decoder = 'auto'): Promise<DicomVolume> {
  if (series.kind !== 'image') {
    throw new SegError('NOT_AN_IMAGE', `series ${series.number} is a ${series.kind} object, not an image; expected an image series (CT, MR, PET…)`)
  }
  const f0 = series.files[0]
  const geometry = seriesGeometry(slicesOf(series), f0.sliceThickness ?? 1)
  const [nx, ny, nz] = geometry.grid.size
  const bytes = nx * ny * nz * 4 // float32 after rescale, the widest GDCM gives for 16-bit data
  if (bytes > maxBytes) throw new SegError('TOO_LARGE', `series ${series.number} (${nx}×${ny}×${nz}) needs ${(bytes / 2 ** 30).toFixed(1)} GiB; at most ${(maxBytes / 2 ** 30).toFixed(1)} GiB is allowed`)
  const multiFrame = series.files.length === 1 && f0.frames > 1
  const sortedFiles = multiFrame ? [f0] : geometry.order.map((i) => series.files[i])
  const decoded = decoder === 'gdcm' || !nativeDecodable(sortedFiles) ? await readWithGdcm(series, sortedFiles, geometry.grid.size) : { data: await readNativePixels(sortedFiles), storedType: storedTypeOf(f0) }
  const voxels = multiFrame ? reorderSlices(decoded.data, nx * ny, geometry.order) : decoded.data
  return {
    volume: {
      ...geometry.grid,
      data: voxels,
      source: { path: f0.path, files: sortedFiles.map((f) => f.path), format: 'other', storedType: decoded.storedType, notes: geometry.notes }
    },
    sortedFiles
  }
}
