/**
 * One undoable step of an edited segmentation: the voxels it changed (a sparse Delta) and the label
 * table rows it changed (each row's value before and after, null where the row is absent). A voxel
 * edit has no rows; a rename, recolour, lock or add has no voxels; deleting a label has both (its
 * cleared voxels and its removed row), so one undo brings back the voxels with the name, colour and
 * lock. Memory stays bounded by what changed: a table change holds two rows, never the table.
 */
import { applyDelta, deltaBytes, type Delta } from './delta'
import { check } from './errors'
import type { LabelMap } from './grid'
import type { LabelDef } from './labels'

/** A label table row before and after a step; `null` where the label is not in the table. */
export interface RowChange {
  value: number
  before: LabelDef | null
  after: LabelDef | null
}

export interface Step {
  /** Changed voxels (empty for a table-only change). */
  delta: Delta
  /** Changed label table rows, in increasing value (empty for a voxel-only edit). */
  rows: RowChange[]
}

/** What a step changes: the label map (in place) and the label table (immutable, a new one returned). */
export interface EditState {
  map: LabelMap
  table: readonly LabelDef[]
}

/** Bookkeeping bytes of one row change beyond its names' characters (an estimate, as DELTA_OVERHEAD_BYTES). */
export const ROW_OVERHEAD_BYTES = 160

/** A delta that changes no voxel (a table-only step). */
export const noVoxels = (): Delta => ({ indices: new Uint32Array(0), before: new Uint8Array(0), after: new Uint8Array(0) })

/** A step that changes only voxels. */
export const voxelStep = (delta: Delta): Step => ({ delta, rows: [] })

/** True when a step changes nothing (it is not recorded). */
export function emptyStep(s: Step): boolean {
  return s.delta.indices.length === 0 && s.rows.length === 0
}

/** Bytes a step holds: its delta plus, per row change, the overhead and its names (UTF-16). */
export function stepBytes(s: Step): number {
  const names = (r: RowChange) => 2 * ((r.before?.name.length ?? 0) + (r.after?.name.length ?? 0))
  return deltaBytes(s.delta) + s.rows.reduce((n, r) => n + ROW_OVERHEAD_BYTES + names(r), 0)
}

function sameRow(a: LabelDef | null, b: LabelDef | null): boolean {
  if (!a || !b) return a === b
  return a.value === b.value && a.name === b.name && a.locked === b.locked && a.color.every((c, k) => c === b.color[k])
}

const copyRow = (l: LabelDef | null): LabelDef | null => (l ? { ...l, color: [...l.color] as LabelDef['color'] } : null)

/** The rows that differ between two tables (a table edit's effect), as copies. */
export function tableChanges(before: readonly LabelDef[], after: readonly LabelDef[]): RowChange[] {
  const values = [...new Set([...before, ...after].map((l) => l.value))].sort((a, b) => a - b)
  const row = (t: readonly LabelDef[], v: number) => t.find((l) => l.value === v) ?? null
  return values
    .filter((v) => !sameRow(row(before, v), row(after, v)))
    .map((v) => ({ value: v, before: copyRow(row(before, v)), after: copyRow(row(after, v)) }))
}

/**
 * The table with `rows` applied forward (their `after`) or backward (their `before`), sorted by
 * value. Refuses rows whose starting state is not the table's (they belong to another state).
 */
export function applyRows(table: readonly LabelDef[], rows: readonly RowChange[], direction: 'forward' | 'backward'): LabelDef[] {
  const from = (r: RowChange) => (direction === 'forward' ? r.before : r.after)
  const to = (r: RowChange) => (direction === 'forward' ? r.after : r.before)
  for (const r of rows) {
    const now = table.find((l) => l.value === r.value) ?? null
    check(sameRow(now, from(r)), `label table change does not match label ${r.value} (${now ? `"${now.name}"` : 'absent'}, expected ${from(r) ? `"${from(r)!.name}"` : 'absent'}); it belongs to another state`)
  }
  const changed = new Set(rows.map((r) => r.value))
  const added = rows.map((r) => copyRow(to(r))).filter((l): l is LabelDef => l !== null)
  return [...table.filter((l) => !changed.has(l.value)), ...added].sort((a, b) => a.value - b.value)
}

/**
 * Applies a step: writes its voxels into `state.map` in place and returns the new table. Both parts
 * are checked before anything is written, so a step of another state changes nothing.
 */
export function applyStep(state: EditState, s: Step, direction: 'forward' | 'backward' = 'forward'): LabelDef[] {
  const table = applyRows(state.table, s.rows, direction) // throws before the map is touched
  applyDelta(state.map, s.delta, direction) // checks every voxel before writing
  return table
}
