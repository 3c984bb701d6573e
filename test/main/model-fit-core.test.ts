/**
 * The app core's side of the model-fit check: through the real core (validated dispatch) and a real
 * segmentation worker, the shipped brain-MRI bundle on the abdominal CT spleen_ct is refused with
 * MODEL_UNFIT (the renderer asks "run anyway?"), and with force: true runs, its summary carrying the warnings.
 */
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { data, REPO } from '../helpers/data'
import { createApiCore, dispatch } from '../../src/app-core/api-core'
import { tsxWorker } from '../../src/bridge/server'
import type { SegmentSummary } from '../../src/shared/contract'

const BRAIN = join(REPO, 'resources/models/brain-tissue-resunet')

describe('app core: a gross misfit needs the user\'s confirmation', () => {
  it('spleen_ct with the brain-MRI bundle: MODEL_UNFIT naming CT; with force the summary carries the warnings', async () => {
    const core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, emit: () => undefined })
    const [ct] = await core.openVolumes([data('ct/spleen_ct.nii.gz')])
    const req = { bundleDir: BRAIN, volumeIds: [ct.id], device: 'cpu' }
    const refused = await dispatch(core, 'segment', [req])
    expect(refused).toMatchObject({ ok: false, error: { code: 'MODEL_UNFIT', message: expect.stringMatching(/^spleen_ct\.nii\.gz looks like CT .*the model accepts MRI/) } })
    const forced = await dispatch(core, 'segment', [{ ...req, force: true }])
    expect(forced.ok).toBe(true)
    const run = (forced as { ok: true; value: SegmentSummary }).value
    expect(run.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/looks like CT .*the model accepts MRI$/), expect.stringMatching(/^intensity refinement \(stopped after 50 iterations without converging\)/)]))
    expect(run.notes.join('\n')).not.toContain('without converging')
  }, 60_000)
})
