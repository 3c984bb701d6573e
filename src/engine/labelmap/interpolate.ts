/**
 * Interpolation of one label between the slices the user labelled (ITK-SNAP / Slicer "fill between
 * slices"), by morphological contour interpolation (Albu et al. 2008) as packaged by
 * @itk-wasm/morphological-contour-interpolation; we do not write our own. Its Node entry point is
 * Node-only, hence this engine module; the result is a sparse delta (src/shared/editing/delta.ts),
 * so the edit is undoable like any other.
 *
 * The filter runs on the label's bounding box (plus one voxel), not the whole volume: the slices it
 * fills lie between labelled ones, so nothing outside that box can change.
 */
import { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation'
import { SegError } from '../errors'
import {
  checkLabelMap, cropLabelMap, deltaFrom, planeAxis, ruleValue, type Box, type Delta, type LabelMap, type Vec3, type ViewPlane
} from '../../shared/editing'
import { toItkImage } from '../volume/itk-image'

export interface InterpolateOptions {
  /** The label to interpolate, 1 .. the map type's maximum. */
  label: number
  /** Interpolate along this index axis (or the axis a view slices across): between slices of this axis. */
  plane: ViewPlane
  /** Labels never overwritten; by default the filled voxels may overwrite only unlocked labels. */
  locked?: readonly number[]
}

/**
 * The voxels that interpolation of `label` along the plane's axis adds (written as `label`), as a
 * delta; the map itself is not changed. Empty when fewer than two slices hold the label.
 */
export async function interpolateLabel(map: LabelMap, opts: InterpolateOptions): Promise<Delta> {
  checkLabelMap(map)
  const value = ruleValue(map, { mode: 'paint', label: opts.label, locked: opts.locked })
  const axis = planeAxis(map, opts.plane)
  const box = labelBox(map, opts.label)
  if (box === null || box.min[axis] === box.max[axis]) return deltaFrom(map, [], value)
  const part = cropLabelMap(map, box, 1)
  let out: ArrayLike<number>
  try {
    const { outputImage } = await morphologicalContourInterpolationNode(toItkImage(part, part.data.slice()) as never, { label: opts.label, axis })
    out = outputImage.data as ArrayLike<number>
  } catch (e) {
    throw new SegError('UNSUPPORTED', `interpolation of label ${opts.label} failed (${e instanceof Error ? e.message : String(e)}); expected a label map itk-wasm can read`)
  }
  const lo = box.min.map((x) => Math.max(0, x - 1)) as Vec3
  const [px, py] = part.size
  const [nx, ny] = map.size
  const offsets: number[] = []
  for (let o = 0; o < out.length; o++) {
    if (out[o] !== opts.label) continue
    const c = Math.floor(o / (px * py))
    const b = Math.floor((o - c * px * py) / px)
    const a = o - px * (b + py * c)
    offsets.push(lo[0] + a + nx * (lo[1] + b + ny * (lo[2] + c)))
  }
  return deltaFrom(map, offsets, value) // crop order is memory order, so offsets increase
}

/** Inclusive index box of the voxels of `label`, or null when there are none. */
function labelBox(map: LabelMap, label: number): Box | null {
  const [nx, ny, nz] = map.size
  const min: Vec3 = [nx, ny, nz]
  const max: Vec3 = [-1, -1, -1]
  let o = 0
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o++) {
        if (map.data[o] !== label) continue
        if (i < min[0]) min[0] = i
        if (i > max[0]) max[0] = i
        if (j < min[1]) min[1] = j
        if (j > max[1]) max[1] = j
        if (k < min[2]) min[2] = k
        max[2] = k
      }
  return max[0] < 0 ? null : { min, max }
}
