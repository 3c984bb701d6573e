/**
 * A sphere painted on the real spleen CT (0.79 x 0.79 x 5 mm, NIfTI sform), with and without an HU
 * range, written with the scan's header and read back by nibabel: the written voxels are exactly
 * those whose centres nibabel places within 5 mm of the point (and whose HU are in range).
 * nibabel is the independent oracle for the geometry (RAS affine; we work in LPS).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeLabelMap } from '../../src/engine/export/label-map'
import { readVolume } from '../../src/engine/volume/read'
import type { Volume } from '../../src/engine/volume/volume'
import { applyDelta, indexToWorld, sphereBrush, type LabelMap, type Vec3 } from '../../src/shared/editing'
import { data, tempDir } from '../helpers/data'

const CT = data('ct/spleen_ct.nii.gz')
const tmp = tempDir('segtransfer-brush-')
let scan: Volume
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  scan = await readVolume(CT)
})

/** nibabel: voxel indices of the written mask, and of the voxels within r mm (and the HU range) of an LPS point. */
const ORACLE = `
import sys, json, nibabel as nb, numpy as np
ct = nb.load(sys.argv[1]); mask = nb.load(sys.argv[2])
lps = np.array(json.loads(sys.argv[3])); r = float(sys.argv[4]); lo, hi = float(sys.argv[5]), float(sys.argv[6])
ras = lps * [-1, -1, 1]
ijk = np.indices(ct.shape).reshape(3, -1).T
world = nb.affines.apply_affine(mask.affine, ijk)
hu = ct.get_fdata()[tuple(ijk.T)]
want = (np.linalg.norm(world - ras, axis=1) <= r) & (hu >= lo) & (hu <= hi)
got = np.asanyarray(mask.dataobj)[tuple(ijk.T)] == 1
print(json.dumps({"want": int(want.sum()), "got": int(got.sum()), "same": bool((want == got).all())}))
`

describe('sphere brush on spleen_ct, exported and read back by nibabel', () => {
  /** Paints, exports with the scan's header, and asks nibabel; returns the painted count. */
  async function check(center: Vec3, lo: number, hi: number, what: string): Promise<number> {
    const labels: LabelMap = { size: scan.size, spacing: scan.spacing, origin: scan.origin, direction: scan.direction, data: new Uint8Array(scan.data.length) }
    const intensity = Number.isFinite(lo) ? { scan: scan.data, min: lo, max: hi } : undefined
    const d = sphereBrush(labels, { center, radiusMm: 5 }, { mode: 'paint', label: 1, intensity })
    applyDelta(labels, d)
    const out = join(tmp.dir, `sphere-${what.replace(/\W+/g, '-')}.nii.gz`)
    await writeLabelMap({ ...labels, data: labels.data }, out, { like: scan })
    const r = JSON.parse(execFileSync('/usr/bin/python3', ['-c', ORACLE, CT, out, JSON.stringify(center), '5', String(lo), String(hi)], { encoding: 'utf8' }))
    console.log(`spleen_ct sphere r=5 mm, ${what}: ${d.indices.length} voxels painted, nibabel expects ${r.want}`)
    expect(r).toEqual({ want: d.indices.length, got: d.indices.length, same: true })
    return d.indices.length
  }

  it('radius 5 mm at a point between voxel centres, with and without an HU range: exactly the voxels nibabel finds', async () => {
    const center = indexToWorld(scan, [80.3, 90.6, 12.2]) as Vec3 // off-centre, so boundary voxels are decided by distance
    const all = await check(center, -Infinity, Infinity, 'no intensity range')
    // the range's lower end at the sphere's median HU, so the constraint must drop about half
    const hu = Array.from(sphereBrush({ ...scan, data: new Uint8Array(scan.data.length) }, { center, radiusMm: 5 }, { mode: 'paint', label: 1 }).indices, (o) => scan.data[o]).sort((a, b) => a - b)
    const median = hu[Math.floor(hu.length / 2)]
    const some = await check(center, median, 3000, `HU ${median}..3000`)
    expect(all).toBeGreaterThan(100)
    expect(some).toBeGreaterThan(0)
    expect(some).toBeLessThan(all)
  }, 30_000)
})
