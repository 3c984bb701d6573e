/**
 * The reader's watchdog (read-in-worker.ts): a decoder that never returns costs one request. The
 * hang is real: itk-wasm spinning on the crafted sform of issue 13, reached through a worker that
 * skips our header checks (SEGTRANSFER_READ_WORKER, the hook the packaged app uses for its
 * compiled reader). Its own file: the reader keeps one idle worker per process.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { readVolume } from '../../src/engine/volume/read'
import { readDeadlineMs } from '../../src/engine/volume/read-in-worker'
import { data, refusal, tempDir } from './fixtures'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('the reader watchdog', () => {
  it('terminates a decoder spinning on a crafted sform after the deadline; the caller stays responsive and the next read works', async () => {
    const bytes = new Uint8Array(gunzipSync(readFileSync(data('geometry/t1_RAS.nii.gz'))))
    const v = new DataView(bytes.buffer)
    v.setInt16(254, 1, true)
    v.setFloat32(296, 3.4e10, true)
    v.setFloat32(300, Infinity, true)
    const spin = join(tmp.dir, 'spin.nii')
    writeFileSync(spin, bytes)
    process.env.SEGTRANSFER_READ_WORKER = fileURLToPath(new URL('./watchdog-itk-worker.mjs', import.meta.url))
    let ticks = 0
    const ticker = setInterval(() => ticks++, 100)
    const started = Date.now()
    try {
      const e = await refusal(readVolume(spin, { deadlineMs: 4000 }))
      expect([e.code, e.message]).toEqual(['CORRUPT_FILE', 'spin.nii could not be read within 4 s (the reader was stopped); expected a readable image file'])
    } finally {
      clearInterval(ticker)
      delete process.env.SEGTRANSFER_READ_WORKER
    }
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(4000)
    expect(waited).toBeLessThan(15_000)
    expect(ticks).toBeGreaterThan(10) // this thread kept running its timers all along
    const ok = await readVolume(data('geometry/t1_RAS.nii.gz'))
    expect(ok.size).toEqual([64, 79, 67])
  })

  it('scales the deadline with the file and the decoded voxels: 20 s + 1 s per 5 MB on disk + 1 s per 10 MB decoded', () => {
    expect(readDeadlineMs(0, 0)).toBe(20_000)
    expect(readDeadlineMs(5e6, 0)).toBe(21_000)
    expect(readDeadlineMs(5e6, 256 ** 3 * 4)).toBeCloseTo(21_000 + 6_710.9, 0)
  })

  it('refuses a fixed deadline outside 100 ms..1 h', async () => {
    const e = await refusal(readVolume(data('geometry/t1_RAS.nii.gz'), { deadlineMs: 0 }))
    expect([e.code, e.message]).toEqual(['BAD_ARGUMENT', 'a read deadline of 0 ms is out of range; expected 100 to 3600000 ms'])
  })
})
