/**
 * Between the engine's voxel order (Volume: i fastest, offset = i + nx·(j + ny·k)) and the tensor
 * layout a model expects, per the manifest's `model.axisOrder`:
 * - 'zyx': spatial dims [d0, d1, d2] = [nk, nj, ni] — the same memory, no copy (NIfTI/ITK order).
 * - 'xyz': spatial dims [d0, d1, d2] = [ni, nj, nk] — a transposed copy (nibabel arrays in PyTorch).
 * Channel-major throughout: [C, voxels] ↔ [C, d0, d1, d2].
 */
import { SegError } from '../errors'
import type { Vec3i } from './sliding-window'

export type AxisOrder = 'zyx' | 'xyz'

/** The tensor's spatial dims [d0, d1, d2] for a volume of `size` [ni, nj, nk]. */
export function tensorSpatial(size: readonly [number, number, number], axisOrder: AxisOrder): Vec3i {
  return axisOrder === 'zyx' ? [size[2], size[1], size[0]] : [size[0], size[1], size[2]]
}

/** Transpose each of `channels` blocks between i-fastest and k-fastest order (its own inverse with size reversed). */
function transpose(data: Float32Array, channels: number, size: readonly [number, number, number]): Float32Array {
  const [ni, nj, nk] = size
  const voxels = ni * nj * nk
  const out = new Float32Array(data.length)
  for (let c = 0; c < channels; c++) {
    const base = c * voxels
    for (let k = 0; k < nk; k++)
      for (let j = 0; j < nj; j++) {
        const src = base + ni * (j + nj * k)
        for (let i = 0; i < ni; i++) out[base + (i * nj + j) * nk + k] = data[src + i]
      }
  }
  return out
}

function check(name: string, data: Float32Array, channels: number, size: readonly [number, number, number]): void {
  const voxels = size[0] * size[1] * size[2]
  if (data.length !== channels * voxels) {
    throw new SegError('BAD_ARGUMENT', `${name}: ${data.length} values but ${channels} channel(s) × [${size.join(', ')}] needs ${channels * voxels}`)
  }
}

/**
 * Voxels [C, voxels] in Volume order (i fastest) → the model's [C, d0, d1, d2] tensor layout.
 * 'zyx' returns `data` itself (no copy).
 */
export function volumeToTensor(data: Float32Array, channels: number, size: readonly [number, number, number], axisOrder: AxisOrder): Float32Array {
  check('volumeToTensor', data, channels, size)
  return axisOrder === 'zyx' ? data : transpose(data, channels, size)
}

/**
 * The model's [K, d0, d1, d2] output → [K, voxels] in Volume order (i fastest), for a volume of
 * `size` [ni, nj, nk]. 'zyx' returns `data` itself (no copy).
 */
export function tensorToVolume(data: Float32Array, channels: number, size: readonly [number, number, number], axisOrder: AxisOrder): Float32Array {
  check('tensorToVolume', data, channels, size)
  return axisOrder === 'zyx' ? data : transpose(data, channels, [size[2], size[1], size[0]])
}
