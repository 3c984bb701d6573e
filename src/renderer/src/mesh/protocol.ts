/** Messages between the 3D view and its mesh worker. */
import type { GridInfo } from '../../../shared/contract'

export interface MeshRequest {
  id: number
  grid: GridInfo
  labels: ArrayBuffer
  dtype: 'uint8' | 'uint16'
  values: number[]
  /** Taubin-smooth the surfaces (the raw marching-cubes staircase otherwise). */
  smooth: boolean
}

export type MeshReply =
  | { id: number; kind: 'mesh'; value: number; positions: Float32Array; indices: Uint32Array; normals: Float32Array; ms: number }
  | { id: number; kind: 'done' }
