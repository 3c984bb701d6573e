/**
 * One undo stack for voxel edits and label-table edits (step.ts, undo.ts): sequences of both,
 * undone and redone in order, return the exact earlier states; a deleted label comes back with its
 * voxels, name, colour and lock in one step; a table step holds two rows, not the table.
 */
import { describe, expect, it } from 'vitest'
import {
  addLabel, applyRows, clearLabel, deleteLabel, noVoxels, recolorLabel, renameLabel, setLocked, sphereBrush, stepBytes, tableChanges, UndoStack,
  voxelStep, withLabel, ROW_OVERHEAD_BYTES, type LabelDef, type LabelMap, type Step
} from '../../src/shared/editing'

const small = (): LabelMap => ({ size: [20, 20, 20], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: new Uint8Array(8000) })
const count = (m: LabelMap, v: number) => Array.from(m.data).filter((x) => x === v).length

/** A table edit as a step: the rows it changes, no voxels. */
const tableStep = (before: LabelDef[], after: LabelDef[]): Step => ({ delta: noVoxels(), rows: tableChanges(before, after) })

describe('one undo stack for voxels and the label table', () => {
  it('rename then paint: the first undo removes the paint (name kept), the second the rename; redo replays both in order', () => {
    const map = small()
    const stack = new UndoStack()
    let t = addLabel([], 'label 1')
    t = stack.apply({ map, table: t }, tableStep(t, renameLabel(t, 1, 'spleen')))
    // Lattice points within 2 mm of a voxel centre on 1 mm voxels: 33 (Gauss's sphere problem).
    t = stack.apply({ map, table: t }, voxelStep(sphereBrush(map, { center: [10, 10, 10], radiusMm: 2 }, { mode: 'paint', label: 1 })))
    expect([count(map, 1), t[0].name]).toEqual([33, 'spleen'])
    const u1 = stack.undo(map, t)!
    expect([count(map, 1), u1.table[0].name, u1.step.rows.length]).toEqual([0, 'spleen', 0])
    const u2 = stack.undo(map, u1.table)!
    expect([count(map, 1), u2.table[0].name, u2.step.delta.indices.length]).toEqual([0, 'label 1', 0])
    expect(stack.canUndo).toBe(false)
    const r1 = stack.redo(map, u2.table)!
    expect([count(map, 1), r1.table[0].name]).toEqual([0, 'spleen'])
    const r2 = stack.redo(map, r1.table)!
    expect([count(map, 1), r2.table[0].name]).toEqual([33, 'spleen'])
  })

  it('a mixed sequence of 8 table and voxel steps undone one by one passes through every earlier state exactly, and redone through every later one', () => {
    const map = small()
    const stack = new UndoStack()
    let table: LabelDef[] = []
    const states: { data: Uint8Array; table: LabelDef[] }[] = [{ data: Uint8Array.from(map.data), table }]
    const step = (s: Step) => {
      table = stack.apply({ map, table }, s)
      states.push({ data: Uint8Array.from(map.data), table })
    }
    const edit = (next: LabelDef[]) => step(tableStep(table, next))
    edit(addLabel(table, 'liver'))
    edit(addLabel(table, 'kidney'))
    step({ delta: sphereBrush(map, { center: [5, 5, 5], radiusMm: 3 }, { mode: 'paint', label: 1 }), rows: [] })
    edit(recolorLabel(table, 2, [10, 200, 30]))
    // Painting label 3 (not in the table) adds its row in the same step, as the app's tools do.
    step({ delta: sphereBrush(map, { center: [7, 5, 5], radiusMm: 3 }, { mode: 'paint', label: 3 }), rows: tableChanges(table, withLabel(table, 3)) })
    edit(setLocked(table, 1, true))
    edit(renameLabel(table, 3, 'lesion'))
    step({ delta: sphereBrush(map, { center: [5, 5, 5], radiusMm: 3 }, { mode: 'erase', label: 3 }), rows: [] })
    expect(states.length).toBe(9)
    // The analytic end state: ball B1 (centre (5,5,5), 3 mm) of label 1, then B2 (centre (7,5,5))
    // of label 3 painted over it (label 1 was not locked yet), then label 3 erased inside B1:
    // label 1 on B1 \ B2, label 3 on B2 \ B1, background elsewhere.
    const inBall = (o: number, cx: number) => (o % 20 - cx) ** 2 + (((o / 20) | 0) % 20 - 5) ** 2 + (((o / 400) | 0) - 5) ** 2 <= 9
    const expected = Uint8Array.from({ length: 8000 }, (_, o) => (inBall(o, 5) && !inBall(o, 7) ? 1 : inBall(o, 7) && !inBall(o, 5) ? 3 : 0))
    expect(count({ ...map, data: states[3].data }, 1)).toBe(123)
    expect(Buffer.compare(Buffer.from(map.data), Buffer.from(expected))).toBe(0)
    expect(table.map((l) => [l.value, l.name, l.locked])).toEqual([[1, 'liver', true], [2, 'kidney', false], [3, 'lesion', false]])
    for (let k = states.length - 2; k >= 0; k--) {
      table = stack.undo(map, table)!.table
      expect(table).toEqual(states[k].table)
      expect(Buffer.compare(Buffer.from(map.data), Buffer.from(states[k].data))).toBe(0)
    }
    expect(stack.undo(map, table)).toBeNull()
    for (let k = 1; k < states.length; k++) {
      table = stack.redo(map, table)!.table
      expect(table).toEqual(states[k].table)
      expect(Buffer.compare(Buffer.from(map.data), Buffer.from(states[k].data))).toBe(0)
    }
  })

  it('deleting a renamed, recoloured label is one step; undone, its voxels, name, colour and lock come back, not "label N"', () => {
    const map = small()
    const stack = new UndoStack()
    let t = setLocked(recolorLabel(renameLabel(addLabel(addLabel([]), 'x'), 2, 'tumour'), 2, [200, 30, 90]), 1, true)
    t = stack.apply({ map, table: t }, voxelStep(sphereBrush(map, { center: [10, 10, 10], radiusMm: 3 }, { mode: 'paint', label: 2 })))
    const before = t
    const next = deleteLabel(t, 2)
    t = stack.apply({ map, table: t }, { delta: clearLabel(map, 2), rows: tableChanges(t, next) })
    expect([count(map, 2), t.map((l) => l.value)]).toEqual([0, [1]])
    const u = stack.undo(map, t)!
    expect(count(map, 2)).toBe(123)
    expect(u.table).toEqual(before)
    expect(u.table[1]).toEqual({ value: 2, name: 'tumour', color: [200, 30, 90], locked: false })
    expect(u.table[0].locked).toBe(true)
    expect(stack.canUndo).toBe(true) // the paint, a step of its own
  })

  it('a table step costs two rows whatever the table size; a change that changes nothing is not recorded; rows of another state are refused', () => {
    let big: LabelDef[] = []
    for (let v = 1; v <= 1000; v++) big = addLabel(big, `organ ${v}`, v)
    const s = tableStep(big, renameLabel(big, 500, 'liver'))
    expect(s.rows).toEqual([{ value: 500, before: { ...big[499] }, after: { ...big[499], name: 'liver' } }])
    expect(stepBytes(s)).toBe(256 + ROW_OVERHEAD_BYTES + 2 * ('organ 500'.length + 'liver'.length))
    const stack = new UndoStack()
    stack.apply({ map: small(), table: big }, tableStep(big, renameLabel(big, 500, 'organ 500')))
    expect(stack.canUndo).toBe(false)
    expect(() => applyRows(renameLabel(big, 500, 'spleen'), s.rows, 'forward')).toThrow(/label table change does not match label 500 \("spleen", expected "organ 500"\)/)
    expect(() => applyRows(big, s.rows, 'backward')).toThrow(/another state/)
  })
})
