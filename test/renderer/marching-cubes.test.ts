/**
 * Marching cubes for the 3D view: on an analytic ball in an oblique, anisotropic grid the surface is
 * closed, consistently oriented, centred on the ball's world centre, and encloses about its volume.
 */
import { describe, expect, it } from 'vitest'
import { labelSurface, stepFor } from '../../src/shared/marching-cubes'
import { gridTransform } from '../../src/renderer/src/geometry/space'
import { objText, stlBytes } from '../../src/app-core/mesh-export'
import type { GridInfo } from '../../src/shared/contract'

const c = Math.cos(0.3)
const s = Math.sin(0.3)
const grid: GridInfo = { size: [40, 36, 30], spacing: [1, 1.2, 1.5], origin: [-10, 5, 20], direction: [c, -s, 0, s, c, 0, 0, 0, 1] }

function ball(value: number, center: number[], radiusMm: number): Uint8Array {
  const t = gridTransform(grid)
  const out = new Uint8Array(grid.size[0] * grid.size[1] * grid.size[2])
  for (let k = 0; k < grid.size[2]; k++)
    for (let j = 0; j < grid.size[1]; j++)
      for (let i = 0; i < grid.size[0]; i++) {
        const w = t.toWorld([i, j, k])
        if (Math.hypot(w[0] - center[0], w[1] - center[1], w[2] - center[2]) <= radiusMm) out[i + grid.size[0] * (j + grid.size[1] * k)] = value
      }
  return out
}

describe('labelSurface', () => {
  const t = gridTransform(grid)
  const centre = t.toWorld([20, 18, 15])
  const labels = ball(3, centre, 12)
  const voxels = labels.reduce((n, x) => n + (x ? 1 : 0), 0)
  const mesh = labelSurface(grid, labels, 3)

  it('is closed: every edge is shared by exactly two triangles, in opposite directions', () => {
    const edges = new Map<string, number>()
    for (let f = 0; f < mesh.indices.length; f += 3) {
      for (let e = 0; e < 3; e++) {
        const a = mesh.indices[f + e]
        const b = mesh.indices[f + ((e + 1) % 3)]
        edges.set(`${a},${b}`, (edges.get(`${a},${b}`) ?? 0) + 1)
      }
    }
    for (const [key, n] of edges) {
      const [a, b] = key.split(',')
      expect(n).toBe(1)
      expect(edges.get(`${b},${a}`)).toBe(1)
    }
  })

  it('sits at the ball in world space and encloses about its volume', () => {
    const p = mesh.positions
    const n = p.length / 3
    const mean = [0, 0, 0]
    for (let v = 0; v < n; v++) for (let a = 0; a < 3; a++) mean[a] += p[v * 3 + a] / n
    expect(Math.hypot(mean[0] - centre[0], mean[1] - centre[1], mean[2] - centre[2])).toBeLessThan(0.5)
    let vol = 0
    for (let f = 0; f < mesh.indices.length; f += 3) {
      const [a, b, q] = [0, 1, 2].map((e) => [0, 1, 2].map((ax) => p[mesh.indices[f + e] * 3 + ax]))
      vol += (a[0] * (b[1] * q[2] - b[2] * q[1]) - a[1] * (b[0] * q[2] - b[2] * q[0]) + a[2] * (b[0] * q[1] - b[1] * q[0])) / 6
    }
    const voxelMm3 = voxels * grid.spacing[0] * grid.spacing[1] * grid.spacing[2]
    console.log(`ball: ${voxels} voxels = ${voxelMm3.toFixed(0)} mm³, surface encloses ${vol.toFixed(0)} mm³`)
    expect(vol).toBeGreaterThan(0) // counter-clockwise seen from outside: normals point outwards
    expect(Math.abs(vol - voxelMm3) / voxelMm3).toBeLessThan(0.1)
  })

  it('writes OBJ and binary STL with LPS coordinates', () => {
    const meshes = [{ name: 'ball one', ...mesh }]
    const obj = objText(meshes)
    expect(obj).toMatch(/^o ball_one$/m)
    expect(obj.match(/^v /gm)!.length).toBe(mesh.positions.length / 3)
    expect(obj.match(/^f /gm)!.length).toBe(mesh.indices.length / 3)
    const stl = stlBytes(meshes)
    const dv = new DataView(stl.buffer)
    expect(dv.getUint32(80, true)).toBe(mesh.indices.length / 3)
    expect(stl.length).toBe(84 + 50 * (mesh.indices.length / 3))
    expect(new TextDecoder().decode(stl.subarray(0, 30))).toMatch(/^SegTransfer SPACE=LPS ball one/)
    expect(dv.getFloat32(84 + 12, true)).toBeCloseTo(mesh.positions[mesh.indices[0] * 3], 4)
  })

  it('is empty for an absent label and coarser with a step', () => {
    expect(labelSurface(grid, labels, 7).indices.length).toBe(0)
    expect(labelSurface(grid, labels, 3, 2).indices.length).toBeLessThan(mesh.indices.length / 2)
    expect(stepFor([256, 256, 256])).toBe(1)
    expect(stepFor([512, 512, 400])).toBe(2)
  })
})
