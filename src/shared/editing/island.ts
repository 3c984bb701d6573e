/**
 * Remove or keep a connected island of one label, from a seed voxel (Slicer's "Islands" effect):
 * the island is the set of voxels with the seed's label connected to the seed through face
 * neighbours (6-connectivity) or face, edge and corner neighbours (26-connectivity).
 * Breadth-first with an explicit typed-array queue (no recursion); memory: one byte per voxel plus
 * four bytes per voxel of the seed's label.
 */
import { deltaFrom, type Delta } from './delta'
import { check } from './errors'
import { checkLabelMap, type LabelMap, type Vec3 } from './grid'

export type Connectivity = 6 | 26

export interface IslandEdit {
  /** Integer voxel index (i, j, k) of a voxel of the island. */
  seed: Vec3
  connectivity: Connectivity
  /** 'remove': the island becomes 0; 'keep': every other voxel of the seed's label becomes 0. */
  mode: 'remove' | 'keep'
  /** Labels that may not be changed; a seed on one of them is refused. */
  locked?: readonly number[]
}

export function islandEdit(map: LabelMap, edit: IslandEdit): Delta {
  checkLabelMap(map)
  const { seed, connectivity, mode } = edit
  check(connectivity === 6 || connectivity === 26, `connectivity must be 6 or 26, got ${connectivity}`)
  check(mode === 'remove' || mode === 'keep', `island mode '${String(mode)}' is unknown; expected 'remove' or 'keep'`)
  check(seed.length === 3 && seed.every((x, a) => Number.isInteger(x) && x >= 0 && x < map.size[a]), `seed must be an integer voxel index inside [${map.size.join(', ')}], got [${seed.join(', ')}]`)
  const [nx, ny] = map.size
  const start = seed[0] + nx * (seed[1] + ny * seed[2])
  const label = map.data[start]
  check(label !== 0, `seed voxel [${seed.join(', ')}] is background; expected a voxel of the island's label`)
  check(!(edit.locked ?? []).includes(label), `label ${label} is locked; unlock it to edit it`)
  const inIsland = floodFill(map, start, connectivity)
  const offsets: number[] = []
  for (let o = 0; o < map.data.length; o++) if (map.data[o] === label && (inIsland[o] === 1) === (mode === 'remove')) offsets.push(o)
  return deltaFrom(map, offsets, () => 0)
}

/** Neighbour steps (di, dj, dk) of a connectivity. */
function steps(connectivity: Connectivity): Vec3[] {
  const out: Vec3[] = []
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const n = Math.abs(di) + Math.abs(dj) + Math.abs(dk)
        if (n > 0 && (connectivity === 26 || n === 1)) out.push([di, dj, dk])
      }
  return out
}

/** 1 for each voxel of the seed's label connected to the seed, else 0. */
function floodFill(map: LabelMap, start: number, connectivity: Connectivity): Uint8Array {
  const [nx, ny, nz] = map.size
  const data = map.data
  const label = data[start]
  let count = 0
  for (let o = 0; o < data.length; o++) if (data[o] === label) count++
  const mark = new Uint8Array(data.length)
  const queue = new Uint32Array(count)
  const nb = steps(connectivity)
  let head = 0
  let tail = 0
  queue[tail++] = start
  mark[start] = 1
  while (head < tail) {
    const p = queue[head++]
    const k = Math.floor(p / (nx * ny))
    const j = Math.floor((p - k * nx * ny) / nx)
    const i = p - nx * (j + ny * k)
    for (const [di, dj, dk] of nb) {
      const a = i + di
      const b = j + dj
      const c = k + dk
      if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue
      const q = a + nx * (b + ny * c)
      if (mark[q] === 0 && data[q] === label) {
        mark[q] = 1
        queue[tail++] = q
      }
    }
  }
  return mark
}
