/**
 * Light surface smoothing for the marching-cubes meshes of the 3D view (run in the mesh worker):
 * Taubin's λ|μ filter (a shrinking Laplacian step, then an inflating one) with uniform "umbrella"
 * weights, which smooths the voxel staircase of thick-slice scans without the shrinkage of plain
 * Laplacian smoothing, so the surface stays where the label is in world (LPS mm) coordinates.
 * Then area-weighted vertex normals. Pure, in place, no DOM.
 */

/** Each vertex's neighbours along mesh edges, in compressed rows: list[start[v] .. start[v + 1]). */
export function vertexNeighbours(vertexCount: number, indices: ArrayLike<number>): { start: Uint32Array; list: Uint32Array } {
  // A closed, consistently wound mesh has each edge once in each direction, so the directed edges
  // a→b of the triangles list every neighbour of a exactly once.
  const start = new Uint32Array(vertexCount + 1)
  for (let f = 0; f < indices.length; f++) start[indices[f] + 1]++
  for (let v = 0; v < vertexCount; v++) start[v + 1] += start[v]
  const fill = start.slice(0, vertexCount)
  const list = new Uint32Array(indices.length)
  for (let f = 0; f < indices.length; f += 3) {
    const a = indices[f]
    const b = indices[f + 1]
    const c = indices[f + 2]
    list[fill[a]++] = b
    list[fill[b]++] = c
    list[fill[c]++] = a
  }
  return { start, list }
}

/** One umbrella step: p += factor · (mean of the neighbours − p). `scratch` has the size of `p`. */
function umbrella(p: Float32Array, start: Uint32Array, list: Uint32Array, factor: number, scratch: Float32Array): void {
  const n = p.length / 3
  for (let v = 0; v < n; v++) {
    const s = start[v]
    const e = start[v + 1]
    const o = v * 3
    if (e === s) {
      scratch[o] = p[o]
      scratch[o + 1] = p[o + 1]
      scratch[o + 2] = p[o + 2]
      continue
    }
    let x = 0
    let y = 0
    let z = 0
    for (let k = s; k < e; k++) {
      const q = list[k] * 3
      x += p[q]
      y += p[q + 1]
      z += p[q + 2]
    }
    const inv = 1 / (e - s)
    scratch[o] = p[o] + factor * (x * inv - p[o])
    scratch[o + 1] = p[o + 1] + factor * (y * inv - p[o + 1])
    scratch[o + 2] = p[o + 2] + factor * (z * inv - p[o + 2])
  }
  p.set(scratch)
}

export interface SmoothOptions {
  /**
   * λ|μ pairs. The default (24 × 0.6|−0.62) is tuned on a sphere in the 0.8 × 0.8 × 5 mm grid of the
   * spleen CT (test/renderer/smooth.test.ts): the 5 mm terraces are several vertices wide, so fewer
   * passes barely touch them.
   */
  iterations?: number
  lambda?: number
  /** Negative, |μ| slightly above λ (pass-band kPB = 1/λ + 1/μ ≈ 0.05). */
  mu?: number
}

/** Taubin λ|μ smoothing of vertex positions, in place. Connectivity is unchanged. */
export function taubinSmooth(positions: Float32Array, indices: ArrayLike<number>, opts: SmoothOptions = {}): Float32Array {
  const { iterations = 24, lambda = 0.6, mu = -0.62 } = opts
  if (!indices.length || iterations <= 0) return positions
  const { start, list } = vertexNeighbours(positions.length / 3, indices)
  const scratch = new Float32Array(positions.length)
  for (let it = 0; it < iterations; it++) {
    umbrella(positions, start, list, lambda, scratch)
    umbrella(positions, start, list, mu, scratch)
  }
  return positions
}

/** Area-weighted vertex normals (unit length; outward for an outward-wound mesh). */
export function vertexNormals(positions: Float32Array, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(positions.length)
  const p = positions
  for (let f = 0; f < indices.length; f += 3) {
    const a = indices[f] * 3
    const b = indices[f + 1] * 3
    const c = indices[f + 2] * 3
    const ux = p[b] - p[a], uy = p[b + 1] - p[a + 1], uz = p[b + 2] - p[a + 2]
    const vx = p[c] - p[a], vy = p[c + 1] - p[a + 1], vz = p[c + 2] - p[a + 2]
    // The cross product's length is twice the triangle's area: larger faces weigh more.
    const nx = uy * vz - uz * vy
    const ny = uz * vx - ux * vz
    const nz = ux * vy - uy * vx
    for (const o of [a, b, c]) {
      out[o] += nx
      out[o + 1] += ny
      out[o + 2] += nz
    }
  }
  for (let o = 0; o < out.length; o += 3) {
    const l = Math.hypot(out[o], out[o + 1], out[o + 2]) || 1
    out[o] /= l
    out[o + 1] /= l
    out[o + 2] /= l
  }
  return out
}
