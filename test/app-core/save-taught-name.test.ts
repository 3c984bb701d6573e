/**
 * A taught bundle's name (saveTaught's `name`) ends up in one-line messages and listings: a name that
 * is blank or holds a line break or another control character is refused in one line before anything is saved.
 */
import { describe, expect, it } from 'vitest'
import { validateIpcArgs } from '../../src/app-core/validation'

describe("saveTaught's bundle name", () => {
  it.each([['a line break', 'cord\nmodel'], ['a tab', 'cord\tmodel'], ['blanks only', '   ']])('refuses a name with %s in one line', (_what, name) => {
    expect(() => validateIpcArgs('saveTaught', ['t-1', '/tmp/out', { name }])).toThrow(
      /^invalid arguments to saveTaught: 2\.name: expected a one-line name of printable characters, not blank$/
    )
  })

  it('takes a plain name, accents and punctuation included', () => {
    expect(validateIpcArgs('saveTaught', ['t-1', '/tmp/out', { name: 'Moelle épinière (T2, v2)' }])[2]).toEqual({ name: 'Moelle épinière (T2, v2)' })
  })
})
