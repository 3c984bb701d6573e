/**
 * The bridge between itk-wasm's Image and our Volume (both: i fastest, LPS, row-major direction).
 */
import type { readImageNode } from '@itk-wasm/image-io'
import type { Grid, Vec3, VoxelArray } from './volume'

/** itk-wasm's Image, named through the function that returns it (no direct itk-wasm import). */
export type ItkImage = Awaited<ReturnType<typeof readImageNode>>

/** itk-wasm component type names of our voxel arrays. */
export function componentTypeOf(data: VoxelArray): 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64' {
  if (data instanceof Uint8Array) return 'uint8'
  if (data instanceof Int8Array) return 'int8'
  if (data instanceof Uint16Array) return 'uint16'
  if (data instanceof Int16Array) return 'int16'
  if (data instanceof Uint32Array) return 'uint32'
  if (data instanceof Int32Array) return 'int32'
  if (data instanceof Float32Array) return 'float32'
  return 'float64'
}

/**
 * Our voxel array for an itk-wasm pixel buffer. 64-bit integers (BigInt64Array/BigUint64Array)
 * become Float64Array (exact up to 2^53).
 * @returns the array and whether a 64-bit integer conversion happened.
 */
export function toVoxelArray(data: unknown): { data: VoxelArray; converted64: boolean } {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float64Array(data.length)
    for (let k = 0; k < data.length; k++) out[k] = Number(data[k])
    return { data: out, converted64: true }
  }
  const ok =
    data instanceof Uint8Array || data instanceof Int8Array || data instanceof Uint16Array ||
    data instanceof Int16Array || data instanceof Uint32Array || data instanceof Int32Array ||
    data instanceof Float32Array || data instanceof Float64Array
  if (!ok) throw new Error(`unexpected pixel buffer ${Object.prototype.toString.call(data)}`)
  return { data: data as VoxelArray, converted64: false }
}

/**
 * The 3D grid of an itk-wasm image of dimension 2, 3 or 4 (a 4th axis of size 1 is dropped, a
 * missing 3rd axis becomes size 1 with `defaultSpacing3`).
 */
export function itkGrid(image: Pick<ItkImage, 'size' | 'spacing' | 'origin' | 'direction'>, defaultSpacing3 = 1): Grid {
  const n = image.size.length
  const d = Array.from(image.direction as ArrayLike<number>)
  const direction = [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => (r < n && c < n ? d[r * n + c] : r === c ? 1 : 0)))
  const pick = (a: number[], fill: number): Vec3 => [0, 1, 2].map((k) => (k < n ? a[k] : fill)) as Vec3
  return {
    size: pick(image.size, 1),
    spacing: pick(image.spacing, defaultSpacing3),
    origin: pick(image.origin, 0),
    direction
  }
}

/** An itk-wasm Image (3D scalar) holding a volume's voxels and geometry, for writeImageNode. */
export function toItkImage(grid: Grid, data: VoxelArray): ItkImage {
  return {
    imageType: { dimension: 3, componentType: componentTypeOf(data), pixelType: 'Scalar', components: 1 },
    name: 'image',
    origin: [...grid.origin],
    spacing: [...grid.spacing],
    direction: new Float64Array(grid.direction),
    size: [...grid.size],
    metadata: new Map(),
    data
  } as ItkImage
}
