/** Clearing every voxel of one label (what deleting a label does to the map), as an undoable delta. */
import { deltaFrom, type Delta } from './delta'
import { check } from './errors'
import { checkLabelMap, type LabelMap } from './grid'

export function clearLabel(map: LabelMap, value: number): Delta {
  checkLabelMap(map)
  check(Number.isInteger(value) && value > 0, `label value must be a positive integer, got ${value}`)
  const offsets: number[] = []
  for (let o = 0; o < map.data.length; o++) if (map.data[o] === value) offsets.push(o)
  return deltaFrom(map, offsets, () => 0)
}
