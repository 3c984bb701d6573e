/**
 * mapLimited (src/engine/fs/map-limited.ts), which scanDicom and readNativePixels use to read 8 files
 * at a time: order kept, at most `limit` in flight, and no new item started once one has failed (a
 * slice refused early must not leave the other lanes reading the rest of a 3,000-file series).
 */
import { describe, expect, it } from 'vitest'
import { mapLimited } from '../../src/engine/fs/map-limited'

const tick = () => new Promise<void>((r) => setImmediate(r))

describe('mapLimited', () => {
  it('keeps the order of the items and never has more than `limit` in flight', async () => {
    let inFlight = 0
    let most = 0
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (x, i) => {
      most = Math.max(most, ++inFlight)
      for (let k = 0; k < x; k++) await tick()
      inFlight--
      return `${i}:${x}`
    })
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3'])
    expect(most).toBe(2)
  })

  it('starts no item after one has failed: the failure is what it rejects with, and the lanes stop', async () => {
    const started: number[] = []
    const failing = mapLimited(Array.from({ length: 100 }, (_, i) => i), 8, async (i) => {
      started.push(i)
      await tick()
      if (i === 3) throw new Error('slice 3 is cut short')
      return i
    })
    await expect(failing).rejects.toThrow('slice 3 is cut short')
    for (let k = 0; k < 20; k++) await tick() // what the other lanes would still start
    expect(Math.max(...started)).toBeLessThan(16) // the first 8, and at most one more a lane
  })
})
