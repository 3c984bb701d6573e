/**
 * Brush tools: a 3D sphere or a 2D disc in one slice, centred at a world point (LPS mm), radius in
 * mm. A voxel is in the brush exactly when its centre lies within the radius, measured in world
 * millimetres (so anisotropic spacing and oblique or sheared directions are honoured), with a
 * relative tolerance of 1e-9 so that centres exactly on the sphere count despite rounding.
 * Each function is pure: it returns the delta (delta.ts) and leaves the map as it was.
 */
import { deltaFrom, type Delta } from './delta'
import { checkRange, check } from './errors'
import { checkLabelMap, indexToWorldMatrix, invert3, planeAxis, worldToIndex, type LabelMap, type Vec3, type ViewPlane } from './grid'
import { ruleValue, type PaintRule } from './rule'

/** Largest brush radius, mm (a 2 m sphere covers any scan). */
export const MAX_BRUSH_RADIUS_MM = 1000
/** Relative tolerance on the squared radius for centres on the sphere. */
const ON_SPHERE = 1e-9

export interface Brush {
  /** Centre, LPS world mm. */
  center: Vec3
  /** Radius, mm (> 0). */
  radiusMm: number
}

/** Paint or erase a 3D sphere: every voxel whose centre is within `radiusMm` of `center`. */
export function sphereBrush(map: LabelMap, brush: Brush, rule: PaintRule): Delta {
  return brushDelta(map, brush, rule, null)
}

/**
 * Paint or erase a 2D disc in the slice of `plane` through `center`: the slice is the one whose
 * index along the plane's normal axis is nearest the centre's; within it, every voxel whose centre
 * is within `radiusMm` of the centre moved onto that slice along the normal index axis (for the
 * usual orthogonal directions, the centre's orthogonal projection). Empty when the centre's slice
 * is outside the map.
 */
export function discBrush(map: LabelMap, brush: Brush, plane: ViewPlane, rule: PaintRule): Delta {
  return brushDelta(map, brush, rule, planeAxis(map, plane))
}

function brushDelta(map: LabelMap, brush: Brush, rule: PaintRule, axis: 0 | 1 | 2 | null): Delta {
  checkLabelMap(map)
  checkRange('brush radius (mm)', brush.radiusMm, Number.MIN_VALUE, MAX_BRUSH_RADIUS_MM)
  check(brush.center.length === 3 && brush.center.every(Number.isFinite), `brush centre must be 3 finite LPS mm values, got [${brush.center.join(', ')}]`)
  const value = ruleValue(map, rule)
  const c = worldToIndex(map, brush.center)
  if (axis !== null) c[axis] = Math.round(c[axis])
  const offsets = ballOffsets(map, c, brush.radiusMm, axis)
  return deltaFrom(map, offsets, value)
}

/**
 * Offsets (increasing) of the voxels whose centres lie within `r` mm of continuous index `c`;
 * with `axis` set, only those in slice c[axis] (which must then be an integer).
 * The index box searched is the ball's extent along each index axis: r · |row a of (D·S)⁻¹|.
 */
function ballOffsets(map: LabelMap, c: Vec3, r: number, axis: 0 | 1 | 2 | null): Uint32Array {
  const m = indexToWorldMatrix(map)
  const inv = invert3(m)
  const lo: number[] = []
  const hi: number[] = []
  for (let a = 0; a < 3; a++) {
    const half = r * Math.hypot(inv[a * 3], inv[a * 3 + 1], inv[a * 3 + 2])
    lo[a] = axis === a ? c[a] : Math.max(0, Math.ceil(c[a] - half))
    hi[a] = axis === a ? c[a] : Math.min(map.size[a] - 1, Math.floor(c[a] + half))
    if (lo[a] > hi[a] || hi[a] < 0 || lo[a] > map.size[a] - 1) return new Uint32Array(0)
  }
  const r2 = r * r * (1 + ON_SPHERE)
  const [nx, ny] = map.size
  // At most one offset per voxel of the box (bounded by the map): 4 bytes each, no growing array.
  const out = new Uint32Array((hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1))
  let n = 0
  for (let k = lo[2]; k <= hi[2]; k++) {
    const dk = k - c[2]
    for (let j = lo[1]; j <= hi[1]; j++) {
      const dj = j - c[1]
      // World offset of (i, j, k) from the centre, linear in i: w = base + i·column0.
      const bx = m[1] * dj + m[2] * dk - m[0] * c[0]
      const by = m[4] * dj + m[5] * dk - m[3] * c[0]
      const bz = m[7] * dj + m[8] * dk - m[6] * c[0]
      for (let i = lo[0]; i <= hi[0]; i++) {
        const wx = bx + m[0] * i
        const wy = by + m[3] * i
        const wz = bz + m[6] * i
        if (wx * wx + wy * wy + wz * wz <= r2) out[n++] = i + nx * (j + ny * k)
      }
    }
  }
  return out.subarray(0, n)
}
