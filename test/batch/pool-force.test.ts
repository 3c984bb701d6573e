/**
 * --force is chosen per study, not per worker process: one StudyPool (one process with one model
 * session here) runs a CT the brain-MRI bundle refuses as unfit, and the same CT forced, so a queue
 * worker needs no second pool for the jobs `queue add --force --retry-failed` re-queues.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { data, tempDir } from '../helpers/data'
import { StudyPool } from '../../src/engine/batch/pool'
import { BRAIN, UNFIT_FAILURE } from './fixtures'

describe('StudyPool: force per study', () => {
  const tmp = tempDir('segtransfer-pool-force-')
  afterAll(() => tmp.cleanup())

  it('one process runs the same CT refused as unfit, then forced (segmented, its fit warnings in the record)', async () => {
    const pool = new StudyPool({ workers: 1, bundleDir: BRAIN, outDir: tmp.dir, device: 'cpu', refinement: false, threads: 2 })
    try {
      const ct = { id: 'spleen_ct', inputs: [data('ct/spleen_ct.nii.gz')] }
      const refused = await pool.run({ ...ct, key: 'unforced' })
      expect([refused.status, refused.error]).toEqual(['failed', expect.stringMatching(UNFIT_FAILURE)])
      const forced = await pool.run({ ...ct, key: 'forced' }, { force: true })
      expect(forced.status, forced.error).toBe('done')
      expect(forced.warnings?.[0]).toMatch(/^spleen_ct\.nii\.gz looks like CT .*the model accepts MRI/)
      expect(existsSync(join(tmp.dir, forced.outputs!.mask))).toBe(true)
    } finally {
      await pool.close()
    }
  }, 120_000)
})
