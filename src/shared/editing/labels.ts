/**
 * The label table the user edits: add, delete, rename, recolour, lock. Pure functions over an
 * immutable list (each returns a new table), so the UI store can keep it as state and undo it.
 * Default colours come from one palette, decided here, chosen to be visible on grey scans.
 */
import { check } from './errors'

export type Rgb = [number, number, number]

export interface LabelDef {
  /** Voxel value, 1 .. 65535 (0 is background and never in the table). */
  value: number
  name: string
  color: Rgb
  /** Locked labels are never overwritten or erased by the tools (rule.ts). */
  locked: boolean
}

/** Longest label name (as the manifest's names). */
export const MAX_LABEL_NAME = 255
/** Largest label value (uint16 label maps). */
export const MAX_LABEL_VALUE = 65535

/**
 * Default label colours, in order of label value (1 → first): ITK-SNAP's first default label
 * colours (saturated primaries and secondaries) followed by darker and lighter saturated hues.
 * None is near-white, near-black or grey, so every one shows on a grey scan.
 */
export const LABEL_PALETTE: readonly Rgb[] = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 128, 0], [128, 0, 255],
  [0, 128, 255], [255, 0, 128], [128, 255, 0], [0, 255, 128], [200, 80, 40], [40, 160, 200], [220, 40, 160], [120, 200, 40]
]

/** Smallest (max − min) channel spread a colour needs to stand out from grey levels. */
export const MIN_CHROMA = 64

/** True when a colour is saturated enough to be told apart from any grey level of a scan. */
export function visibleOnGrey(c: Rgb): boolean {
  return Math.max(...c) - Math.min(...c) >= MIN_CHROMA
}

/** The default colour of a label value. */
export function defaultColor(value: number): Rgb {
  return [...LABEL_PALETTE[(value - 1) % LABEL_PALETTE.length]] as Rgb
}

/**
 * The colour to draw a label with: its own when visible on grey, else its default (so a manifest's
 * white matter (245,245,245) is shown in a palette colour; the stored colour is kept for export).
 */
export function displayColor(l: Pick<LabelDef, 'value' | 'color'>): Rgb {
  return visibleOnGrey(l.color) ? l.color : defaultColor(l.value)
}

/**
 * True when `text` holds no control character (no line break, tab, NUL or DEL): a name shows in
 * one-line messages, tables, file names and bundle manifests. The one definition (manifest.ts and
 * the label files' names use it too), so a name the table takes is a name an export takes.
 */
export function printableOneLine(text: string): boolean {
  return !/[\u0000-\u001f\u007f]/.test(text)
}

function checkName(name: string): string {
  const n = name.trim()
  check(n.length > 0 && n.length <= MAX_LABEL_NAME, `label name must have 1 to ${MAX_LABEL_NAME} characters, got ${name.length === 0 ? 'an empty name' : `${name.length}`}`)
  check(printableOneLine(n), 'label name must be printable characters on one line (no tab, line break or other control character)')
  return n
}

function indexOf(table: readonly LabelDef[], value: number): number {
  const k = table.findIndex((l) => l.value === value)
  check(k >= 0, `label ${value} is not in the label table`)
  return k
}

/** Adds a label with the lowest free value (or `value`), its default colour, unlocked. */
export function addLabel(table: readonly LabelDef[], name?: string, value?: number): LabelDef[] {
  const used = new Set(table.map((l) => l.value))
  let v = value ?? 1
  if (value === undefined) while (used.has(v)) v++
  check(Number.isInteger(v) && v >= 1 && v <= MAX_LABEL_VALUE, `label value must be an integer from 1 to ${MAX_LABEL_VALUE}, got ${v}`)
  check(!used.has(v), `label ${v} already exists`)
  const label: LabelDef = { value: v, name: checkName(name ?? `label ${v}`), color: defaultColor(v), locked: false }
  return [...table, label].sort((a, b) => a.value - b.value)
}

/**
 * The table with label `value` in it: unchanged when present, else with `label N` in its default
 * colour (what happens when a tool first writes a value the table lacks).
 */
export function withLabel(table: readonly LabelDef[], value: number): LabelDef[] {
  return table.some((l) => l.value === value) ? [...table] : addLabel(table, undefined, value)
}

/** Removes a label from the table (its voxels are cleared by an erase-everywhere edit, undoable). */
export function deleteLabel(table: readonly LabelDef[], value: number): LabelDef[] {
  const k = indexOf(table, value)
  check(!table[k].locked, `label ${value} is locked; unlock it to delete it`)
  return table.filter((l) => l.value !== value)
}

export function renameLabel(table: readonly LabelDef[], value: number, name: string): LabelDef[] {
  const k = indexOf(table, value)
  return table.map((l, i) => (i === k ? { ...l, name: checkName(name) } : l))
}

export function recolorLabel(table: readonly LabelDef[], value: number, color: Rgb): LabelDef[] {
  const k = indexOf(table, value)
  check(color.length === 3 && color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255), `colour must be 3 integers from 0 to 255, got [${color.join(', ')}]`)
  return table.map((l, i) => (i === k ? { ...l, color: [...color] as Rgb } : l))
}

export function setLocked(table: readonly LabelDef[], value: number, locked: boolean): LabelDef[] {
  const k = indexOf(table, value)
  return table.map((l, i) => (i === k ? { ...l, locked } : l))
}

/** Values of the locked labels, as the tools' PaintRule.locked wants them. */
export function lockedValues(table: readonly LabelDef[]): number[] {
  return table.filter((l) => l.locked).map((l) => l.value)
}
