/**
 * What a tool may write where: the active label, locked labels, the intensity range ("draw over" in
 * ITK-SNAP, "masking" in Slicer's Segment Editor) and paint versus erase. Decided once here; every
 * tool turns its candidate voxels into a delta through `ruleValue`.
 */
import { check } from './errors'
import { maxValue, type LabelMap } from './grid'

export interface PaintRule {
  /** 'paint' writes `label`; 'erase' writes 0. */
  mode: 'paint' | 'erase'
  /** The active label value, 1 .. 255 (uint8 map) or 65535 (uint16 map). */
  label: number
  /** Label values whose voxels are never changed (painting over them or erasing them). */
  locked?: readonly number[]
  /** Erase: clear any unlocked label, not only the active one (default false). */
  eraseAnyLabel?: boolean
  /**
   * Change only voxels whose scan value lies in [min, max] (the scan's units, e.g. HU for CT).
   * `scan` holds the scan's voxels on the label map's grid (same length and order).
   */
  intensity?: { scan: ArrayLike<number>; min: number; max: number }
}

/** The new value of a voxel under `rule`, given its offset and current value (the current value = unchanged). */
export type VoxelRule = (offset: number, old: number) => number

/** Validates `rule` against the map and returns the per-voxel decision. */
export function ruleValue(map: LabelMap, rule: PaintRule): VoxelRule {
  const top = maxValue(map.data)
  check(rule.mode === 'paint' || rule.mode === 'erase', `edit mode '${String(rule.mode)}' is unknown; expected 'paint' or 'erase'`)
  check(Number.isInteger(rule.label) && rule.label >= 1 && rule.label <= top, `active label must be an integer from 1 to ${top}, got ${rule.label}`)
  const locked = new Set(rule.locked ?? [])
  check(!locked.has(rule.label), `label ${rule.label} is locked; unlock it to edit it`)
  const inRange = intensityTest(map, rule.intensity)
  const write = rule.mode === 'paint' ? rule.label : 0
  const any = rule.mode === 'erase' && rule.eraseAnyLabel === true
  return (o, old) => {
    if (locked.has(old) || !inRange(o)) return old
    if (rule.mode === 'erase' && !any && old !== rule.label) return old
    return write
  }
}

function intensityTest(map: LabelMap, r: PaintRule['intensity']): (offset: number) => boolean {
  if (!r) return () => true
  check(r.scan.length === map.data.length, `intensity range: the scan holds ${r.scan.length} voxels but the label map ${map.data.length}; expected the scan on the label map's grid`)
  check(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max, `intensity range must be two finite numbers with min <= max, got [${r.min}, ${r.max}]`)
  const { scan, min, max } = r
  return (o) => scan[o] >= min && scan[o] <= max
}
