/**
 * Co-registered volumes (e.g. T1, T2, FLAIR of one patient) as the channels of one model input.
 */
import { basename } from 'node:path'
import { SegError } from '../errors'
import type { Grid, Volume } from './volume'

// One definition for the engine and the renderer's channel picker.
import { GRID_TOLERANCE_MM, sameGrid } from '../../shared/grid'
export { GRID_TOLERANCE_MM, sameGrid }

/** "64x64x30 at 3 mm" or "64x64x30 at 0.79x0.79x5 mm", for messages. */
export function describeGrid(g: Grid): string {
  const sp = g.spacing.map((s) => +s.toFixed(4))
  const spacing = sp.every((s) => s === sp[0]) ? `${sp[0]}` : sp.join('x')
  return `${g.size.join('x')} at ${spacing} mm`
}

function label(v: Volume, k: number): string {
  return v.source ? `channel ${k + 1} (${basename(v.source.path)})` : `channel ${k + 1}`
}

/**
 * Checks that co-registered channel volumes share one grid, without touching their voxels.
 * @throws SegError BAD_ARGUMENT for no volumes, GRID_MISMATCH when a grid differs from the first's
 *   (size exactly; spacing, origin, direction within GRID_TOLERANCE_MM).
 */
export function checkSameGrids(volumes: readonly Volume[]): void {
  if (volumes.length === 0) throw new SegError('BAD_ARGUMENT', 'no input volumes; expected at least one channel')
  const first = volumes[0]
  volumes.forEach((v, k) => {
    if (k > 0 && !sameGrid(first, v)) {
      throw new SegError(
        'GRID_MISMATCH',
        `${label(v, k)} is ${describeGrid(v)} but ${label(first, 0)} is ${describeGrid(first)}; ` +
          `expected the same size, spacing, origin and direction (tolerance ${GRID_TOLERANCE_MM.toExponential()} mm)`
      )
    }
  })
}

/**
 * Stacks volumes on one grid as float32 channels (channel k = volumes[k], same voxel order).
 * @throws as checkSameGrids
 * @returns the common grid (the first volume's) and one new Float32Array per volume.
 */
export function stackChannels(volumes: Volume[]): { grid: Grid; channels: Float32Array[] } {
  checkSameGrids(volumes)
  const first = volumes[0]
  const grid: Grid = {
    size: [...first.size],
    spacing: [...first.spacing],
    origin: [...first.origin],
    direction: [...first.direction]
  }
  return { grid, channels: volumes.map((v) => new Float32Array(v.data)) }
}
