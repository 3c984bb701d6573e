/**
 * Surface of one label of a label map, by marching cubes (Paul Bourke's tables, as shipped with
 * three.js) on the binary field label == value at iso 0.5, in LPS world millimetres.
 *
 * Pure (no DOM, no Node), hence in src/shared: the renderer's mesh Web Worker draws it in the 3D view
 * and the app core writes it as STL/OBJ. Vertices are shared between the cubes that cut the same
 * grid edge, so the mesh is indexed, closed and consistently wound (outward normals).
 */
import { edgeTable, triTable } from 'three/examples/jsm/objects/MarchingCubes.js'
import type { GridInfo } from './contract'

export interface SurfaceMesh {
  /** x, y, z per vertex, LPS mm. */
  positions: Float32Array
  /** Three vertex indices per triangle. */
  indices: Uint32Array
}

/** Bourke's cube corners (i, j, k offsets) and the two corners of each of the 12 edges. */
const CORNER = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]]
const EDGE = [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]]

/**
 * @param labels one value per voxel (i fastest), on `grid`.
 * @param step sample every `step`-th voxel along each axis (1 = full resolution; 2 for very large maps).
 */
export function labelSurface(grid: GridInfo, labels: ArrayLike<number>, value: number, step = 1): SurfaceMesh {
  const [nx, ny, nz] = grid.size
  // Sub-sampled lattice, padded by one empty cell on each side so surfaces close at the borders.
  const mx = Math.ceil(nx / step) + 2
  const my = Math.ceil(ny / step) + 2
  const mz = Math.ceil(nz / step) + 2
  const inside = new Uint8Array(mx * my * mz)
  for (let c = 1; c < mz - 1; c++) {
    const k = (c - 1) * step
    for (let b = 1; b < my - 1; b++) {
      const j = (b - 1) * step
      for (let a = 1; a < mx - 1; a++) {
        const i = (a - 1) * step
        inside[a + mx * (b + my * c)] = labels[i + nx * (j + ny * k)] === value ? 1 : 0
      }
    }
  }
  const d = grid.direction
  const sp = grid.spacing
  const lin = [d[0] * sp[0], d[1] * sp[1], d[2] * sp[2], d[3] * sp[0], d[4] * sp[1], d[5] * sp[2], d[6] * sp[0], d[7] * sp[1], d[8] * sp[2]]
  const o = grid.origin
  const positions: number[] = []
  const indices: number[] = []
  const vertexOfEdge = new Map<number, number>()

  /** Vertex at the midpoint of a lattice edge from lattice point p along axis ax (0, 1, 2). */
  const vertex = (a: number, b: number, c: number, ax: number): number => {
    const key = (a + mx * (b + my * c)) * 3 + ax
    let v = vertexOfEdge.get(key)
    if (v !== undefined) return v
    const idx = [(a - 1) * step, (b - 1) * step, (c - 1) * step]
    idx[ax] += step / 2
    v = positions.length / 3
    positions.push(
      o[0] + lin[0] * idx[0] + lin[1] * idx[1] + lin[2] * idx[2],
      o[1] + lin[3] * idx[0] + lin[4] * idx[1] + lin[5] * idx[2],
      o[2] + lin[6] * idx[0] + lin[7] * idx[1] + lin[8] * idx[2]
    )
    vertexOfEdge.set(key, v)
    return v
  }

  const edgeVertex = new Int32Array(12)
  for (let c = 0; c < mz - 1; c++) {
    for (let b = 0; b < my - 1; b++) {
      for (let a = 0; a < mx - 1; a++) {
        let cube = 0
        for (let n = 0; n < 8; n++) {
          const [da, db, dc] = CORNER[n]
          // Bourke: bit n set when corner n is below the iso level (outside the label).
          if (!inside[a + da + mx * (b + db + my * (c + dc))]) cube |= 1 << n
        }
        const bits = edgeTable[cube]
        if (bits === 0) continue
        for (let e = 0; e < 12; e++) {
          if (!(bits & (1 << e))) continue
          const [p, q] = EDGE[e]
          const lo = CORNER[p].map((x, ax) => Math.min(x, CORNER[q][ax]))
          const ax = CORNER[p][0] !== CORNER[q][0] ? 0 : CORNER[p][1] !== CORNER[q][1] ? 1 : 2
          edgeVertex[e] = vertex(a + lo[0], b + lo[1], c + lo[2], ax)
        }
        for (let t = cube * 16; triTable[t] !== -1; t += 3) {
          indices.push(edgeVertex[triTable[t]], edgeVertex[triTable[t + 1]], edgeVertex[triTable[t + 2]])
        }
      }
    }
  }
  return { positions: Float32Array.from(positions), indices: Uint32Array.from(indices) }
}

/** The lattice step that keeps a surface computation to about `budget` cells. */
export function stepFor(size: readonly number[], budget = 24_000_000): number {
  const cells = size[0] * size[1] * size[2]
  return cells <= budget ? 1 : Math.ceil(Math.cbrt(cells / budget))
}
