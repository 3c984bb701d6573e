/**
 * Polygon fill on one slice, by scanline (written here: a few lines, no library does it on our
 * label maps). A voxel is filled when its centre lies inside the polygon, boundary included, under
 * the chosen rule:
 * - 'evenodd': inside when a ray from the centre crosses the outline an odd number of times
 *   (a self-overlapping part is a hole, as SVG fill-rule evenodd);
 * - 'nonzero': inside when the outline winds around the centre a non-zero number of times
 *   (overlaps stay filled, as SVG fill-rule nonzero).
 */
import { deltaFrom, type Delta } from './delta'
import { check } from './errors'
import { checkLabelMap, planeAxis, worldToIndex, type LabelMap, type Vec3, type ViewPlane } from './grid'
import { ruleValue, type PaintRule } from './rule'

/** Most vertices of one polygon. */
export const MAX_POLYGON_VERTICES = 100_000

export type FillRule = 'evenodd' | 'nonzero'

export interface SlicePolygon {
  /** The slice's normal: a view name or an index axis. */
  plane: ViewPlane
  /** Index of the slice along the normal axis. */
  slice: number
  /**
   * Vertices as continuous voxel indices (u, v) along the slice's two other index axes in
   * increasing order (normal k: u = i, v = j; normal j: u = i, v = k; normal i: u = j, v = k).
   */
  points: [number, number][]
}

/** The two in-plane index axes of a slice across `axis`, in increasing order. */
export function inPlaneAxes(axis: 0 | 1 | 2): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1]
}

/**
 * A polygon drawn in world coordinates (LPS mm, e.g. clicks on a view) as a SlicePolygon: each
 * vertex mapped to continuous voxel indices; the slice is the one nearest the vertices' mean index
 * along the plane's normal axis.
 */
export function worldPolygon(map: LabelMap, plane: ViewPlane, world: Vec3[]): SlicePolygon {
  check(world.length >= 3, `a polygon needs at least 3 vertices, got ${world.length}`)
  const axis = planeAxis(map, plane)
  const [u, v] = inPlaneAxes(axis)
  const idx = world.map((p) => worldToIndex(map, p))
  const slice = Math.round(idx.reduce((s, p) => s + p[axis], 0) / idx.length)
  return { plane: axis, slice, points: idx.map((p) => [p[u], p[v]]) }
}

/** Paint or erase the voxels of one slice whose centres are inside the polygon. */
export function polygonFill(map: LabelMap, polygon: SlicePolygon, rule: PaintRule, fill: FillRule = 'evenodd'): Delta {
  checkLabelMap(map)
  const { points } = polygon
  check(fill === 'evenodd' || fill === 'nonzero', `fill rule '${String(fill)}' is unknown; expected 'evenodd' or 'nonzero'`)
  check(points.length >= 3 && points.length <= MAX_POLYGON_VERTICES, `a polygon needs 3 to ${MAX_POLYGON_VERTICES} vertices, got ${points.length}`)
  check(points.every((p) => p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1])), 'polygon vertices must be pairs of finite voxel indices')
  const value = ruleValue(map, rule)
  const axis = planeAxis(map, polygon.plane)
  const [ua, va] = inPlaneAxes(axis)
  const s = polygon.slice
  if (!Number.isInteger(s) || s < 0 || s >= map.size[axis]) return deltaFrom(map, [], value)
  const stride = [1, map.size[0], map.size[0] * map.size[1]]
  const nu = map.size[ua]
  const vs = points.map((p) => p[1])
  const v0 = Math.max(0, Math.ceil(Math.min(...vs)))
  const v1 = Math.min(map.size[va] - 1, Math.floor(Math.max(...vs)))
  const offsets: number[] = []
  for (let v = v0; v <= v1; v++) {
    const row = rowMask(points, v, nu, fill)
    for (let u = 0; u < nu; u++) if (row[u]) offsets.push(s * stride[axis] + v * stride[va] + u * stride[ua])
  }
  // u is the lower (faster) in-plane axis, so rows of v then u are already in memory order.
  return deltaFrom(map, offsets, value)
}

/** Row `v` of the fill: 1 for each u (0 .. nu-1) whose centre (u, v) is inside. */
function rowMask(points: [number, number][], v: number, nu: number, fill: FillRule): Uint8Array {
  const cross: { x: number; dir: number }[] = []
  const row = new Uint8Array(nu)
  for (let e = 0; e < points.length; e++) {
    const [pu, pv] = points[e]
    const [qu, qv] = points[(e + 1) % points.length]
    if (pv === qv) {
      // A horizontal edge on this row: its centres are on the boundary, hence inside.
      if (pv === v) for (let u = Math.max(0, Math.ceil(Math.min(pu, qu))); u <= Math.min(nu - 1, Math.floor(Math.max(pu, qu))); u++) row[u] = 1
      continue
    }
    if (v < Math.min(pv, qv) || v > Math.max(pv, qv)) continue
    const x = pu + ((v - pv) * (qu - pu)) / (qv - pv)
    // A centre exactly on the outline is inside (this also keeps a top vertex the crossings miss).
    if (Math.abs(x - Math.round(x)) < 1e-9 && x > -0.5 && x < nu - 0.5) row[Math.round(x)] = 1
    // Half-open in v so a vertex shared by two edges is counted once.
    if (v !== Math.max(pv, qv)) cross.push({ x, dir: qv > pv ? 1 : -1 })
  }
  cross.sort((a, b) => a.x - b.x)
  let winding = 0
  for (let c = 0; c + 1 < cross.length; c++) {
    winding += cross[c].dir
    const inside = fill === 'evenodd' ? c % 2 === 0 : winding !== 0
    if (!inside) continue
    for (let u = Math.max(0, Math.ceil(cross[c].x)); u <= Math.min(nu - 1, Math.floor(cross[c + 1].x)); u++) row[u] = 1
  }
  return row
}
