/**
 * Undo/redo of every edit of a segmentation, voxels and label table alike, in the order they were
 * made, with a memory bound: the stack holds steps (step.ts: a sparse delta plus the changed table
 * rows) and drops the oldest undo steps when the bytes it holds exceed `maxBytes`. A thin class over
 * applyStep: it owns only the two lists and the byte count.
 */
import type { Delta } from './delta'
import { checkRange } from './errors'
import type { LabelMap } from './grid'
import type { LabelDef } from './labels'
import { applyStep, emptyStep, stepBytes, voxelStep, type EditState, type Step } from './step'

/** Default bound: 64 MiB of steps (about 10 million changed voxels of a uint16 map). */
export const DEFAULT_UNDO_BYTES = 64 * 1024 * 1024
/** Largest bound a caller may ask for (bytes). */
export const MAX_UNDO_BYTES = 4 * 1024 ** 3

/** A step undone or redone, and the label table after it. */
export interface Stepped {
  step: Step
  table: LabelDef[]
}

export class UndoStack {
  private done: Step[] = []
  private undone: Step[] = []
  private held = 0
  /** Undo steps dropped to honour the bound, since creation. */
  dropped = 0

  /** @param maxBytes most bytes of steps held, undo and redo together. */
  constructor(readonly maxBytes = DEFAULT_UNDO_BYTES) {
    checkRange('undo memory bound (bytes)', maxBytes, 1, MAX_UNDO_BYTES)
  }

  /** Bytes held by all steps (undo and redo). */
  get bytes(): number {
    return this.held
  }

  get canUndo(): boolean {
    return this.done.length > 0
  }

  get canRedo(): boolean {
    return this.undone.length > 0
  }

  /**
   * Records a step already applied. Clears the redo list. An empty step is not recorded; a step
   * larger than the bound on its own leaves nothing to undo (counted in `dropped`).
   */
  push(s: Step): void {
    if (emptyStep(s)) return
    for (const r of this.undone) this.held -= stepBytes(r)
    this.undone = []
    this.done.push(s)
    this.held += stepBytes(s)
    while (this.held > this.maxBytes && this.done.length > 0) {
      this.held -= stepBytes(this.done.shift() as Step)
      this.dropped++
    }
  }

  /** Applies a step (voxels in place) and records it; returns the new table. The usual way to make an edit. */
  apply(state: EditState, s: Step): LabelDef[] {
    const table = applyStep(state, s, 'forward')
    this.push(s)
    return table
  }

  /** Applies a voxel-only edit to the map and records it (a step with no table rows). */
  edit(map: LabelMap, d: Delta): Delta {
    this.apply({ map, table: [] }, voxelStep(d))
    return d
  }

  /** Reverts the latest step; returns it (for statistics and the surface) with the table before it, or null. */
  undo(map: LabelMap, table: readonly LabelDef[] = []): Stepped | null {
    const s = this.done.at(-1)
    if (!s) return null
    const t = applyStep({ map, table }, s, 'backward') // throws before changing anything, so the lists stay as they were
    this.undone.push(this.done.pop() as Step)
    return { step: s, table: t }
  }

  /** Re-applies the latest undone step; returns it with the table after it, or null. */
  redo(map: LabelMap, table: readonly LabelDef[] = []): Stepped | null {
    const s = this.undone.at(-1)
    if (!s) return null
    const t = applyStep({ map, table }, s, 'forward')
    this.done.push(this.undone.pop() as Step)
    return { step: s, table: t }
  }
}
