/**
 * Surface smoothing for the 3D view (src/renderer/src/geometry/smooth.ts) on marching-cubes spheres, one
 * in a thick-slice grid like the 5 mm spleen CT and one in an oblique grid: the surface stays where
 * the label is (bounding box and enclosed volume within 3 %), it gets smoother (its normals turn
 * towards the sphere's: the normal-angle roughness drops by > 40 %), and the vertex normals point outwards.
 */
import { describe, expect, it } from 'vitest'
import { labelSurface } from '../../src/shared/marching-cubes'
import { gridTransform } from '../../src/renderer/src/geometry/space'
import { taubinSmooth, vertexNormals } from '../../src/renderer/src/geometry/smooth'
import type { GridInfo } from '../../src/shared/contract'

function ballSurface(grid: GridInfo, radiusMm: number) {
  const t = gridTransform(grid)
  const centre = t.toWorld(grid.size.map((n) => (n - 1) / 2))
  const labels = new Uint8Array(grid.size[0] * grid.size[1] * grid.size[2])
  for (let k = 0, o = 0; k < grid.size[2]; k++)
    for (let j = 0; j < grid.size[1]; j++)
      for (let i = 0; i < grid.size[0]; i++, o++) {
        const w = t.toWorld([i, j, k])
        if (Math.hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) <= radiusMm) labels[o] = 1
      }
  return { centre, mesh: labelSurface(grid, labels, 1) }
}

function volumeOf(p: Float32Array, idx: Uint32Array): number {
  let vol = 0
  for (let f = 0; f < idx.length; f += 3) {
    const [a, b, q] = [0, 1, 2].map((e) => [0, 1, 2].map((ax) => p[idx[f + e] * 3 + ax]))
    vol += (a[0] * (b[1] * q[2] - b[2] * q[1]) - a[1] * (b[0] * q[2] - b[2] * q[0]) + a[2] * (b[0] * q[1] - b[1] * q[0])) / 6
  }
  return vol
}

function boxOf(p: Float32Array): number[] {
  const lo = [Infinity, Infinity, Infinity]
  const hi = [-Infinity, -Infinity, -Infinity]
  for (let o = 0; o < p.length; o += 3) for (let a = 0; a < 3; a++) (lo[a] = Math.min(lo[a], p[o + a])), (hi[a] = Math.max(hi[a], p[o + a]))
  return [0, 1, 2].map((a) => hi[a] - lo[a])
}

/**
 * Normal-angle roughness: the mean angle (degrees, area-weighted) between each face's normal and the
 * sphere's own normal there (the direction from the centre). The voxel staircase makes it large.
 */
function roughness(p: Float32Array, idx: Uint32Array, centre: number[]): number {
  let sum = 0
  let area = 0
  for (let f = 0; f < idx.length; f += 3) {
    const [a, b, q] = [0, 1, 2].map((e) => [0, 1, 2].map((ax) => p[idx[f + e] * 3 + ax]))
    const u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
    const v = [q[0] - a[0], q[1] - a[1], q[2] - a[2]]
    const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    const len = Math.hypot(n[0], n[1], n[2])
    if (!len) continue
    const r = [0, 1, 2].map((ax) => (a[ax] + b[ax] + q[ax]) / 3 - centre[ax])
    const cos = (n[0] * r[0] + n[1] * r[1] + n[2] * r[2]) / len / Math.hypot(r[0], r[1], r[2])
    sum += len * Math.acos(Math.max(-1, Math.min(1, cos)))
    area += len
  }
  return ((sum / area) * 180) / Math.PI
}

const c = Math.cos(0.3)
const s = Math.sin(0.3)
const cases: [string, GridInfo, number][] = [
  ['thick-slice grid (0.8 × 0.8 × 5 mm)', { size: [90, 90, 18], spacing: [0.8, 0.8, 5], origin: [-30, 12, -40], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }, 30],
  ['oblique grid (1 × 1.2 × 1.5 mm)', { size: [40, 36, 30], spacing: [1, 1.2, 1.5], origin: [-10, 5, 20], direction: [c, -s, 0, s, c, 0, 0, 0, 1] }, 12]
]

describe.each(cases)('Taubin smoothing of a marching-cubes sphere, %s', (_name, grid, radius) => {
  const { centre, mesh } = ballSurface(grid, radius)
  const before = { vol: volumeOf(mesh.positions, mesh.indices), box: boxOf(mesh.positions), rough: roughness(mesh.positions, mesh.indices, centre) }
  const smoothed = taubinSmooth(Float32Array.from(mesh.positions), mesh.indices)
  const after = { vol: volumeOf(smoothed, mesh.indices), box: boxOf(smoothed), rough: roughness(smoothed, mesh.indices, centre) }

  it('keeps the world position: bounding box and enclosed volume change by < 3 %', () => {
    console.log(`${_name}: volume ${before.vol.toFixed(0)} → ${after.vol.toFixed(0)} mm³, box ${before.box.map((x) => x.toFixed(1))} → ${after.box.map((x) => x.toFixed(1))} mm, roughness ${before.rough.toFixed(1)}° → ${after.rough.toFixed(1)}°`)
    expect(Math.abs(after.vol - before.vol) / before.vol).toBeLessThan(0.03)
    for (let a = 0; a < 3; a++) expect(Math.abs(after.box[a] - before.box[a]) / before.box[a]).toBeLessThan(0.03)
    const mean = [0, 0, 0]
    const n = smoothed.length / 3
    for (let o = 0; o < smoothed.length; o += 3) for (let a = 0; a < 3; a++) mean[a] += smoothed[o + a] / n
    expect(Math.hypot(mean[0] - centre[0], mean[1] - centre[1], mean[2] - centre[2])).toBeLessThan(0.5)
  })

  it('reduces the normal-angle roughness', () => {
    expect(after.rough).toBeLessThan(before.rough * 0.6)
  })

  it('gives unit vertex normals pointing outwards', () => {
    const normals = vertexNormals(smoothed, mesh.indices)
    let outward = 0
    for (let o = 0; o < normals.length; o += 3) {
      expect(Math.hypot(normals[o], normals[o + 1], normals[o + 2])).toBeCloseTo(1, 4)
      const d = [0, 1, 2].map((a) => smoothed[o + a] - centre[a])
      if (d[0] * normals[o] + d[1] * normals[o + 1] + d[2] * normals[o + 2] > 0) outward++
    }
    expect(outward).toBe(normals.length / 3)
  })
})
