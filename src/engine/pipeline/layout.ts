/**
 * Voxel order ↔ tensor order. Volumes are stored i fastest ([k][j][i] in C terms). A model declares
 * `axisOrder`: 'zyx' takes that order as is (NIfTI/ITK storage, e.g. brainchop's MeshNet); 'xyz'
 * takes [i][j][k] with k fastest, which is what PyTorch pipelines built on nibabel arrays see.
 */
import type { Vec3 } from '../volume/volume'

/** Returns the spatial dims of the tensor for a grid of `size` (i, j, k). */
export function tensorSpatial(size: Vec3, axisOrder: 'zyx' | 'xyz'): Vec3 {
  return axisOrder === 'zyx' ? [size[2], size[1], size[0]] : [size[0], size[1], size[2]]
}

/** Transposes one channel between storage order (i fastest) and xyz order (k fastest); an involution up to size order. */
export function transposeXyz(src: Float32Array, size: Vec3, toXyz: boolean): Float32Array {
  const [nx, ny, nz] = size
  const dst = new Float32Array(src.length)
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const storage = i + nx * (j + ny * k)
        const xyz = k + nz * (j + ny * i)
        if (toXyz) dst[xyz] = src[storage]
        else dst[storage] = src[xyz]
      }
  return dst
}

/** Packs per-channel voxel arrays (storage order) into one [C, d0, d1, d2] tensor buffer. */
export function toModelLayout(channels: Float32Array[], size: Vec3, axisOrder: 'zyx' | 'xyz'): { tensor: Float32Array; spatial: Vec3 } {
  const n = size[0] * size[1] * size[2]
  const tensor = new Float32Array(n * channels.length)
  channels.forEach((c, idx) => tensor.set(axisOrder === 'zyx' ? c : transposeXyz(c, size, true), idx * n))
  return { tensor, spatial: tensorSpatial(size, axisOrder) }
}

/** Unpacks a [K, d0, d1, d2] model output into storage order, channel by channel. */
export function fromModelLayout(output: Float32Array, K: number, size: Vec3, axisOrder: 'zyx' | 'xyz'): Float32Array {
  if (axisOrder === 'zyx') return output
  const n = size[0] * size[1] * size[2]
  const res = new Float32Array(output.length)
  for (let c = 0; c < K; c++) res.set(transposeXyz(output.subarray(c * n, (c + 1) * n), size, false), c * n)
  return res
}
