/**
 * Undo/redo of label-map edits with a memory bound: the stack holds sparse deltas (delta.ts) and
 * drops the oldest undo steps when the bytes it holds exceed `maxBytes`. A thin class over
 * applyDelta: it owns only the two lists and the byte count.
 */
import { applyDelta, deltaBytes, type Delta } from './delta'
import { checkRange } from './errors'
import type { LabelMap } from './grid'

/** Default bound: 64 MiB of deltas (about 10 million changed voxels of a uint16 map). */
export const DEFAULT_UNDO_BYTES = 64 * 1024 * 1024
/** Largest bound a caller may ask for (bytes). */
export const MAX_UNDO_BYTES = 4 * 1024 ** 3

export class UndoStack {
  private done: Delta[] = []
  private undone: Delta[] = []
  private held = 0
  /** Undo steps dropped to honour the bound, since creation. */
  dropped = 0

  /** @param maxBytes most bytes of deltas held, undo and redo together. */
  constructor(readonly maxBytes = DEFAULT_UNDO_BYTES) {
    checkRange('undo memory bound (bytes)', maxBytes, 1, MAX_UNDO_BYTES)
  }

  /** Bytes held by all deltas (undo and redo). */
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
   * Records an edit already applied to the map. Clears the redo list. An empty delta is not
   * recorded; a delta larger than the bound on its own leaves nothing to undo (counted in `dropped`).
   */
  push(d: Delta): void {
    if (d.indices.length === 0) return
    for (const r of this.undone) this.held -= deltaBytes(r)
    this.undone = []
    this.done.push(d)
    this.held += deltaBytes(d)
    while (this.held > this.maxBytes && this.done.length > 0) {
      this.held -= deltaBytes(this.done.shift() as Delta)
      this.dropped++
    }
  }

  /** Applies `d` to the map and records it: the usual way to make an edit. */
  edit(map: LabelMap, d: Delta): Delta {
    applyDelta(map, d, 'forward')
    this.push(d)
    return d
  }

  /** Reverts the latest edit in the map; returns it (for statistics and the surface) or null. */
  undo(map: LabelMap): Delta | null {
    const d = this.done.at(-1)
    if (!d) return null
    applyDelta(map, d, 'backward') // throws before changing anything, so the lists stay as they were
    this.undone.push(this.done.pop() as Delta)
    return d
  }

  /** Re-applies the latest undone edit; returns it or null. */
  redo(map: LabelMap): Delta | null {
    const d = this.undone.at(-1)
    if (!d) return null
    applyDelta(map, d, 'forward')
    this.done.push(this.undone.pop() as Delta)
    return d
  }
}
