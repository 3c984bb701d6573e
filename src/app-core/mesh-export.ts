/**
 * Label surfaces as mesh files, for 3D printing and other viewers: marching cubes per label
 * (src/shared/marching-cubes.ts, the same surfaces as the 3D view), coordinates in LPS millimetres
 * (3D Slicer reads the `SPACE=LPS` hint in the header/comment).
 *   .obj  one named object per label (text)
 *   .stl  binary STL of all labels together (STL has no names or groups; the header lists them)
 */
import { SegError } from '../engine/errors'
import { checkOutputPath, writeFileAtomic, type OutputRules } from '../engine/export'
import type { Volume } from '../engine/volume/volume'
import { labelSurface, stepFor, type SurfaceMesh } from '../shared/marching-cubes'

export interface NamedMesh extends SurfaceMesh {
  name: string
}

export function meshesOf(labels: Volume, present: { value: number; name: string }[]): NamedMesh[] {
  const step = stepFor(labels.size)
  return present.map((l) => ({ name: l.name, ...labelSurface(labels, labels.data, l.value, step) }))
}

export function objText(meshes: NamedMesh[]): string {
  const out: string[] = ['# SegTransfer label surfaces', '# SPACE=LPS (millimetres)']
  let base = 1
  for (const m of meshes) {
    out.push(`o ${m.name.replace(/\s+/g, '_')}`)
    const p = m.positions
    for (let i = 0; i < p.length; i += 3) out.push(`v ${+p[i].toFixed(4)} ${+p[i + 1].toFixed(4)} ${+p[i + 2].toFixed(4)}`)
    const f = m.indices
    for (let i = 0; i < f.length; i += 3) out.push(`f ${f[i] + base} ${f[i + 1] + base} ${f[i + 2] + base}`)
    base += p.length / 3
  }
  return out.join('\n') + '\n'
}

export function stlBytes(meshes: NamedMesh[]): Uint8Array {
  const triangles = meshes.reduce((n, m) => n + m.indices.length / 3, 0)
  const buf = new ArrayBuffer(84 + 50 * triangles)
  const bytes = new Uint8Array(buf)
  const header = `SegTransfer SPACE=LPS ${meshes.map((m) => m.name).join(', ')}`.slice(0, 80)
  bytes.set(new TextEncoder().encode(header))
  const dv = new DataView(buf)
  dv.setUint32(80, triangles, true)
  let o = 84
  for (const m of meshes) {
    const p = m.positions
    const f = m.indices
    for (let t = 0; t < f.length; t += 3) {
      const a = f[t] * 3
      const b = f[t + 1] * 3
      const c = f[t + 2] * 3
      const u = [p[b] - p[a], p[b + 1] - p[a + 1], p[b + 2] - p[a + 2]]
      const v = [p[c] - p[a], p[c + 1] - p[a + 1], p[c + 2] - p[a + 2]]
      const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
      const len = Math.hypot(n[0], n[1], n[2]) || 1
      for (const x of n) (dv.setFloat32(o, x / len, true), (o += 4))
      for (const i of [a, b, c]) for (let k = 0; k < 3; k++) (dv.setFloat32(o, p[i + k], true), (o += 4))
      o += 2 // attribute byte count
    }
  }
  return bytes
}

/** Writes the surfaces of the present labels to .obj or .stl, atomically, never over an input. */
export async function writeMeshes(labels: Volume, present: { value: number; name: string }[], outPath: string, rules: OutputRules): Promise<void> {
  const lower = outPath.toLowerCase()
  if (!lower.endsWith('.obj') && !lower.endsWith('.stl')) throw new SegError('BAD_ARGUMENT', `${outPath} has an unsupported extension; expected .stl or .obj`)
  if (present.length === 0) throw new SegError('BAD_ARGUMENT', 'the label map is empty; there is no surface to export')
  checkOutputPath(outPath, rules)
  const meshes = meshesOf(labels, present)
  await writeFileAtomic(outPath, lower.endsWith('.obj') ? objText(meshes) : stlBytes(meshes), '', { overwrite: rules.overwrite })
}
