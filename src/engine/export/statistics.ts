/**
 * Per-label statistics of a label map (voxel counts, volumes, bounding boxes) and their CSV/JSON
 * export.
 */
import { SegError } from '../errors'
import type { Vec3, Volume } from '../volume/volume'
import { indexToWorld } from '../volume/affine'
import { writeFile } from 'node:fs/promises'
import { checkOutputPath, writeOutputsAtomically, type OutputRules, type PendingOutput } from '../fs/atomic'

export interface Box {
  min: Vec3
  max: Vec3
}

export interface LabelStatistic {
  /** Label value in the map. */
  value: number
  /** The given name, or `label <value>` for values present but not named. */
  name: string
  voxels: number
  /** voxels × spacing[0]·spacing[1]·spacing[2] / 1000 (mL = cm³). */
  volumeMl: number
  /** Inclusive voxel index bounds (i, j, k); null when the label is absent. */
  bboxVoxels: Box | null
  /** LPS mm bounds of the centres of the 8 corner voxels of bboxVoxels; null when absent. */
  bboxWorldMm: Box | null
}

/**
 * Statistics of every non-zero label that is named or present, sorted by value. Named labels
 * absent from the map are listed with 0 voxels; background (0) is left out.
 * @param labels integer labels (any voxel array; values are truncated to integers).
 */
export function labelStatistics(labels: Volume, labelNames: Map<number, string> | Record<number, string>): LabelStatistic[] {
  const names = labelNames instanceof Map ? labelNames : new Map(Object.entries(labelNames).map(([k, v]) => [Number(k), v]))
  const [nx, ny] = labels.size
  const data = labels.data
  const count = new Map<number, number>()
  const lo = new Map<number, Vec3>()
  const hi = new Map<number, Vec3>()
  let o = 0
  for (let k = 0; k < labels.size[2]; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const v = data[o]
        if (v === 0) continue
        const c = count.get(v)
        if (c === undefined) {
          count.set(v, 1)
          lo.set(v, [i, j, k])
          hi.set(v, [i, j, k])
          continue
        }
        count.set(v, c + 1)
        const a = lo.get(v)!
        const b = hi.get(v)!
        if (i < a[0]) a[0] = i
        if (i > b[0]) b[0] = i
        if (j < a[1]) a[1] = j
        if (j > b[1]) b[1] = j
        if (k > b[2]) b[2] = k // k only grows: a[2] is the first k seen
      }
    }
  }
  // Multiplied in ascending order: the same volume, to the bit, whatever the order the axes are stored in.
  const [s0, s1, s2] = [...labels.spacing].sort((a, b) => a - b)
  const voxelMl = (s0 * s1 * s2) / 1000
  const values = [...new Set([...count.keys(), ...[...names.keys()].filter((v) => v !== 0)])].sort((a, b) => a - b)
  return values.map((value) => {
    const voxels = count.get(value) ?? 0
    const a = lo.get(value)
    const b = hi.get(value)
    const bboxVoxels = a && b ? { min: [...a] as Vec3, max: [...b] as Vec3 } : null
    return {
      value,
      name: names.get(value) ?? `label ${value}`,
      voxels,
      volumeMl: voxels * voxelMl,
      bboxVoxels,
      bboxWorldMm: bboxVoxels ? worldBox(labels, bboxVoxels) : null
    }
  })
}

/** Axis-aligned LPS bounds of the world positions of the 8 corners of an index box. */
function worldBox(grid: Volume, box: Box): Box {
  const min: Vec3 = [Infinity, Infinity, Infinity]
  const max: Vec3 = [-Infinity, -Infinity, -Infinity]
  for (let corner = 0; corner < 8; corner++) {
    const ijk = [0, 1, 2].map((a) => ((corner >> a) & 1 ? box.max[a] : box.min[a]))
    const w = indexToWorld(grid, ijk)
    for (let a = 0; a < 3; a++) {
      min[a] = Math.min(min[a], w[a])
      max[a] = Math.max(max[a], w[a])
    }
  }
  return { min, max }
}

const CSV_COLUMNS = [
  'value', 'name', 'voxels', 'volume_ml',
  'i_min', 'j_min', 'k_min', 'i_max', 'j_max', 'k_max',
  'x_min_mm_lps', 'y_min_mm_lps', 'z_min_mm_lps', 'x_max_mm_lps', 'y_max_mm_lps', 'z_max_mm_lps'
]

/**
 * One CSV field, quoted (RFC 4180) when it holds a comma, quote or line break. A text field that a
 * spreadsheet would read as a formula (leading =, +, -, @, tab or CR) gets a leading single quote
 * and is quoted, as OWASP's CSV-injection advice says; numbers are left as they are.
 */
export function csvField(x: string | number | undefined): string {
  let s = x === undefined ? '' : String(x)
  const formula = typeof x === 'string' && /^[=+\-@\t\r]/.test(s)
  if (formula) s = `'${s}`
  return formula || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** The statistics as CSV text (header row, one row per label, empty cells for absent boxes). */
export function statisticsCsv(stats: LabelStatistic[]): string {
  const rows = stats.map((s) => {
    const vox = s.bboxVoxels ? [...s.bboxVoxels.min, ...s.bboxVoxels.max] : Array(6).fill('')
    const mm = s.bboxWorldMm ? [...s.bboxWorldMm.min, ...s.bboxWorldMm.max].map((x) => +x.toFixed(4)) : Array(6).fill('')
    return [s.value, s.name, s.voxels, +s.volumeMl.toFixed(6), ...vox, ...mm].map(csvField).join(',')
  })
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n'
}

/** The statistics format of an output path (by extension, case-insensitive), or BAD_ARGUMENT. */
export function statisticsFormat(path: string): 'csv' | 'json' {
  const p = path.toLowerCase()
  if (p.endsWith('.csv')) return 'csv'
  if (p.endsWith('.json')) return 'json'
  throw new SegError('BAD_ARGUMENT', `${path} has an unsupported extension; expected .csv or .json`)
}

/** A statistics file's temp file has no extension of its own (its text is written directly). */
export const STATISTICS_TEMP_EXTENSION = ''

/**
 * Checks a statistics output (format, and the output rules of checkOutputPath) and returns it as a
 * pending output for writeOutputsAtomically.
 */
export function prepareStatistics(stats: LabelStatistic[], path: string, rules: OutputRules = {}): PendingOutput {
  const format = statisticsFormat(path)
  checkOutputPath(path, rules)
  const text = format === 'csv' ? statisticsCsv(stats) : JSON.stringify({ worldSpace: 'LPS mm', labels: stats }, null, 2) + '\n'
  return { path, extension: STATISTICS_TEMP_EXTENSION, write: (temp) => writeFile(temp, text, { flag: 'wx' }) }
}

/**
 * Writes the statistics as .csv or .json (by extension, case-insensitive), atomically.
 * @throws SegError BAD_ARGUMENT for another extension or a missing folder; OUTPUT_CONFLICT as
 *   checkOutputPath says (an existing file without `rules.overwrite`, a model bundle folder, ...).
 */
export async function writeStatistics(stats: LabelStatistic[], path: string, rules: OutputRules = {}): Promise<void> {
  await writeOutputsAtomically([prepareStatistics(stats, path, rules)], { overwrite: rules.overwrite })
}
