/**
 * Label and bundle names from the renderer are bounded by the bundle manifest's one definition
 * (manifest.ts `Name`: 1..LIMITS.nameChars printable characters on one line): what a manifest
 * refuses, the argument validation refuses with the same reason.
 */
import { describe, expect, it } from 'vitest'
import { validateIpcArgs } from '../../src/app-core/validation'
import { LabelSchema, Name } from '../../src/engine/bundle/manifest'
import { LIMITS } from '../../src/engine/limits'

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
