/** Shared by the DICOM tests: series written by independent tools, and world-space comparison. */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../helpers/data'
import { indexToWorld } from '../../src/engine/volume/affine'
import { orientationOf, reorient } from '../../src/engine/volume/orientation'
import type { Volume } from '../../src/engine/volume/volume'

export const PYTHON = '/usr/bin/python3'
export const have = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { encoding: 'utf8' }).error === undefined
export const toolsThere = have('plastimatch', ['--version']) && have('dcm2niix', ['-v']) && have('dciodvfy', ['-']) &&
  spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0
export const TOOLS_HINT = 'needs plastimatch, dcm2niix, dicom3tools and python3-pydicom (apt-get install dcm2niix dicom3tools plastimatch python3-pydicom)'

/**
 * Writes `nifti` as a DICOM series with plastimatch into `dir`, then renames the files so that
 * name order is not slice order (a fixed permutation: the reader must sort by position).
 */
export function plastimatchSeries(nifti: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  const r = spawnSync('plastimatch', ['convert', '--input', nifti, '--output-dicom', dir], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`plastimatch failed: ${r.stderr}`)
  const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort()
  const n = files.length
  const renamed = files.map((f, i) => {
    const to = join(dir, `im${String((i * 7919 + 13) % n).padStart(4, '0')}_x.dcm`)
    renameSync(join(dir, f), to)
    return to
  })
  return renamed
}

/** What write_series.py puts in a series besides the voxels and geometry (see its usage line). */
export interface SeriesOptions {
  modality?: 'CT' | 'MR'
  seriesNumber?: number
  description?: string
  patientName?: string
  patientId?: string
  /** Series written with the same study UID belong to one study. */
  studyUid?: string
  seed?: number
}

/**
 * Writes `nifti` as a DICOM series with pydicom (test/fixtures/dicom/write_series.py) into `dir`:
 * geometry at full DS precision, files named and written in a shuffled order. Returns `dir`.
 */
export function pydicomSeries(nifti: string, dir: string, o: SeriesOptions = {}): string {
  const flags: [string, string | number | undefined][] = [
    ['--modality', o.modality], ['--series-number', o.seriesNumber], ['--description', o.description], ['--patient-name', o.patientName],
    ['--patient-id', o.patientId], ['--study-uid', o.studyUid], ['--seed', o.seed]
  ]
  const args = flags.flatMap(([flag, v]) => (v === undefined ? [] : [flag, String(v)]))
  const r = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/write_series.py'), nifti, dir, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`write_series.py failed: ${r.stderr}`)
  return dir
}

/** The largest distance (mm) between the world positions of the 8 corner voxels of two grids. */
export function cornerDistance(a: Volume, b: Volume): number {
  let worst = 0
  for (let c = 0; c < 8; c++) {
    const ijk = [0, 1, 2].map((ax) => ((c >> ax) & 1 ? a.size[ax] - 1 : 0))
    const p = indexToWorld(a, ijk)
    const q = indexToWorld(b, ijk)
    worst = Math.max(worst, Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]))
  }
  return worst
}

/**
 * `ours` brought to `ref`'s voxel order by an exact permutation/flip (geometry recomputed, not
 * copied): the size, the largest corner distance in mm and the number of voxels that differ.
 */
export function compareInWorld(ours: Volume, ref: Volume): { size: number[]; mm: number; differing: number } {
  const moved = reorient(ours, orientationOf(ref))
  let differing = 0
  for (let i = 0; i < ref.data.length; i++) if (moved.data[i] !== ref.data[i]) differing++
  return { size: moved.size, mm: cornerDistance(moved, ref), differing }
}
