/**
 * Label and bundle names from the renderer are bounded by the bundle manifest's one definition
 * (manifest.ts `Name`: 1..LIMITS.nameChars printable characters on one line): what a manifest
 * refuses, the argument validation refuses with the same reason.
 */
import { describe, expect, it } from 'vitest'
import { validateIpcArgs } from '../../src/app-core/validation'
import { LabelSchema, Name } from '../../src/engine/bundle/manifest'
import { LIMITS } from '../../src/engine/limits'
import { parseItkSnapNames, parseJsonNames, parseSlicerSegNames } from '../../src/engine/labelmap/label-names'
import { addLabel, renameLabel } from '../../src/shared/editing/labels'

const label = (name: string) => ({ value: 1, name, color: [255, 0, 0] })
/** The manifest's reason for refusing `name` as a label name. */
function manifestReason(name: string): string {
  const r = LabelSchema.safeParse(label(name))
  expect(r.success, name).toBe(false)
  return r.error!.issues[0].message
}

describe('label names in edited label maps', () => {
  it.each([['empty', ''], ['a line break', 'grey\nmatter'], ['a tab', 'grey\tmatter'], ['one character too many', 'x'.repeat(LIMITS.nameChars + 1)]])(
    'a label name %s is refused in one line with the manifest\'s own reason',
    (_what, name) => {
      const call = () => validateIpcArgs('putEditedLabels', [{ volumeId: 'v-1', runs: [], labels: [label(name)] }])
      expect(call).toThrow(`invalid arguments to putEditedLabels: 0.labels.0.name: ${manifestReason(name)}`)
    }
  )

  it('a name the manifest takes is taken, at the longest length', () => {
    const name = 'é'.repeat(LIMITS.nameChars)
    expect(LabelSchema.parse(label(name)).name).toBe(name)
    expect(validateIpcArgs('putEditedLabels', [{ volumeId: 'v-1', runs: [], labels: [label(name)] }])[0].labels[0].name).toBe(name)
  })
})

describe("saveTaught's bundle name", () => {
  it("a name longer than the manifest's bound is refused with the manifest's reason", () => {
    const name = 'x'.repeat(LIMITS.nameChars + 1)
    const reason = Name.safeParse(name).error!.issues[0].message
    expect(() => validateIpcArgs('saveTaught', ['t-1', '/tmp/out', { name }])).toThrow(`invalid arguments to saveTaught: 2.name: ${reason}`)
  })
})

describe('a name an edited map can get is a name its export takes (putEditedLabels validates with the manifest)', () => {
  const tabbed = 'grey\tmatter'
  const accepted = (name: string) => validateIpcArgs('putEditedLabels', [{ volumeId: 'v-1', runs: [], labels: [label(name)] }])

  it.each([
    ['a JSON sidecar', () => parseJsonNames(JSON.stringify({ 1: tabbed }), 'a.json')],
    ['an ITK-SNAP label file', () => parseItkSnapNames(`1 255 0 0 1 1 1 "${tabbed}"`, 'a.txt')],
    ['a Slicer .seg.nrrd header', () => parseSlicerSegNames(`Segment0_LabelValue:=1\nSegment0_Name:=${tabbed}\n`, 'a.seg.nrrd')]
  ])('a label name with a tab in %s is refused when the file is loaded, not later at the export', (_what, parse) => {
    expect(() => accepted(tabbed)).toThrow(/invalid arguments to putEditedLabels/)
    expect(parse).toThrow(/^a\.(json|txt|seg\.nrrd): the name of label 1 holds a tab, line break or other control character; expected printable characters on one line$/)
  })

  it('renaming (or adding) a label to a name with a tab is refused in the table, not later at the export', () => {
    const t = addLabel([], 'liver')
    expect(() => renameLabel(t, 1, tabbed)).toThrow('label name must be printable characters on one line (no tab, line break or other control character)')
    expect(() => addLabel(t, tabbed)).toThrow(/printable characters on one line/)
    expect(accepted(renameLabel(t, 1, ' left liver ')[0].name)[0].labels[0].name).toBe('left liver')
  })

  it('a name padded with spaces in a names file is kept trimmed, so a name within the bound after trimming exports', () => {
    const padded = `  ${'x'.repeat(LIMITS.nameChars)}  `
    const [named] = parseItkSnapNames(`1 255 0 0 1 1 1 "${padded}"`, 'a.txt')
    expect(named.name).toBe('x'.repeat(LIMITS.nameChars))
    expect(accepted(named.name)[0].labels[0].name).toBe(named.name)
  })
})
