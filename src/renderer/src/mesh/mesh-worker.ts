/**
 * Web Worker: marching-cubes surfaces of the labels of a label map, off the UI thread, lightly
 * smoothed (Taubin, smooth.ts: the voxel staircase of thick slices goes, the world position stays)
 * with their vertex normals. In: MeshRequest (the label voxels are transferred). Out: one MeshReply
 * per label, then 'done'.
 */
import { labelSurface, stepFor } from '../../../shared/marching-cubes'
import type { MeshReply, MeshRequest } from './protocol'
import { taubinSmooth, vertexNormals } from '../geometry/smooth'

const scope = self as unknown as { onmessage: ((e: MessageEvent<MeshRequest>) => void) | null; postMessage(m: MeshReply, transfer?: Transferable[]): void }

scope.onmessage = (e) => {
  const { id, grid, labels, dtype, values, smooth } = e.data
  const data = dtype === 'uint16' ? new Uint16Array(labels) : new Uint8Array(labels)
  const step = stepFor(grid.size)
  for (const value of values) {
    const t0 = performance.now()
    const mesh = labelSurface(grid, data, value, step)
    if (smooth) taubinSmooth(mesh.positions, mesh.indices)
    const normals = vertexNormals(mesh.positions, mesh.indices)
    scope.postMessage({ id, kind: 'mesh', value, positions: mesh.positions, indices: mesh.indices, normals, ms: performance.now() - t0 }, [mesh.positions.buffer, mesh.indices.buffer, normals.buffer])
  }
  scope.postMessage({ id, kind: 'done' })
}
