/**
 * The pipeline's side of "no data" voxels (NaN/Inf in the file, `volume/no-data.ts`): left out of
 * the normalisation statistics in the model's space, left out of the intensity refinement (NaN
 * there), and labelled 0 (background) in the result: there is nothing to segment where the file
 * holds no measurement.
 */
import type { Manifest } from '../bundle/manifest'
import type { Volume, VoxelArray } from '../volume/volume'

/**
 * A channel's no-data mask brought into the model's space the way its voxels are (`toModelSpace`):
 * exact for reorientation, interpolated and thresholded at 0.5 for resampling/conform.
 * @returns undefined when the channel has no such voxels.
 */
export function noDataInModelSpace(
  volume: Volume,
  geometry: Manifest['geometry'],
  toModelSpace: (v: Volume, g: Manifest['geometry']) => Volume
): Uint8Array | undefined {
  const noData = volume.source?.noData
  if (noData === undefined) return undefined
  const moved = toModelSpace({ ...volume, data: noData, source: undefined }, geometry).data
  return Uint8Array.from(moved, (x) => (x >= 0.5 ? 1 : 0))
}

/** The union of the channels' no-data masks (all on the same grid), or undefined when none has one. */
export function noDataUnion(volumes: readonly Volume[]): Uint8Array | undefined {
  const masks = volumes.map((v) => v.source?.noData).filter((m): m is Uint8Array => m !== undefined)
  if (masks.length === 0) return undefined
  const out = new Uint8Array(masks[0].length)
  for (const m of masks) for (let k = 0; k < m.length; k++) out[k] |= m[k]
  return out
}

/** The refinement's intensities: a float copy with NaN where there is no data (the fit skips NaN). */
export function withNaNAtNoData(data: VoxelArray, noData: Uint8Array | undefined): VoxelArray {
  if (noData === undefined) return data
  const out = Float32Array.from(data)
  for (let k = 0; k < out.length; k++) if (noData[k]) out[k] = NaN
  return out
}

/** Sets labels to 0 (background) where there is no data, in place. */
export function clearNoData(labels: Uint8Array | Uint16Array, noData: Uint8Array | undefined): void {
  if (noData === undefined) return
  for (let k = 0; k < labels.length; k++) if (noData[k]) labels[k] = 0
}
