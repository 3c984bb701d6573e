/**
 * The contract's lists of choices (devices, export kinds, slice planes, label resamplings, teach features) are written
 * once, in src/shared/contract.ts: the argument validation takes its enums from them, so a value added
 * to a contract list is accepted with no edit to validation.ts, and a value outside any list is refused
 * with one line that names the choices.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../helpers/data'
import { DEVICE_CHOICES, EXPORT_KINDS, LABEL_RESAMPLINGS, SLICE_PLANES, TEACH_FEATURES } from '../../src/shared/contract'
import { validateIpcArgs, type IpcMethod } from '../../src/app-core/validation'
import { isSegError } from '../../src/engine/errors'

/** Each list with a call that carries one of its values where the contract puts it. */
const LISTS: [string, readonly string[], (v: string) => [IpcMethod, unknown[]]][] = [
  ['DEVICE_CHOICES', DEVICE_CHOICES, (v) => ['segment', [{ bundleDir: '/b', volumeIds: ['v-1'], device: v }]]],
  ['EXPORT_KINDS', EXPORT_KINDS, (v) => ['exportRun', ['run-1', v, '/out/x']]],
  ['SLICE_PLANES', SLICE_PLANES, (v) => ['interpolateLabels', [{ volumeId: 'v-1', runs: [], labels: [], label: 1, plane: v }]]],
  ['LABEL_RESAMPLINGS', LABEL_RESAMPLINGS, (v) => ['loadLabelFile', ['v-1', '/seg.nii.gz', { resample: v }]]],
  ['TEACH_FEATURES', TEACH_FEATURES, (v) => ['teach', [{ volumeId: 'v-1', runId: 'r-1', baseBundleDir: '/b', learn: [1], head: 'linear', features: v }]]]
]

describe('contract lists of choices drive the argument validation', () => {
  it.each(LISTS)('every value of %s is accepted', (_name, list, call) => {
    expect(list.length).toBeGreaterThan(0)
    for (const v of list) expect(() => validateIpcArgs(...call(v)), v).not.toThrow()
  })

  it.each(LISTS)('a value outside %s is refused with one BAD_ARGUMENT line naming every listed value', (_name, list, call) => {
    let err: unknown
    try {
      validateIpcArgs(...call('not-a-choice'))
    } catch (e) {
      err = e
    }
    expect(isSegError(err) && err.code).toBe('BAD_ARGUMENT')
    const msg = (err as Error).message
    expect(msg).not.toContain('\n')
    for (const v of list) expect(msg).toContain(`"${v}"`)
  })

  it('validation.ts retypes no list of choices: its enums and literals come from the contract', () => {
    const src = readFileSync(join(REPO, 'src/app-core/validation.ts'), 'utf8')
    expect(src).not.toMatch(/z\.enum\(\s*\[/)
    expect(src).not.toMatch(/z\.literal\(\s*['"]/)
  })
})
