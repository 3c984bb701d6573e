/**
 * The overlay's label colours are visible on grey scans: a manifest colour too close to grey (the
 * shipped brain bundles' white matter, 245,245,245: invisible on a T1) is drawn in its palette
 * colour; a saturated one is drawn as it is.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../helpers/data'
import { makeLut } from '../../src/renderer/src/render/slice'
import { visibleOnGrey, type Rgb } from '../../src/shared/editing'

describe('label colours on grey scans', () => {
  it.each(['brain-tissue-resunet', 'demo-tissue'])('the %s bundle\'s labels are all drawn in colours visible on grey, white matter included', (bundle) => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'resources/models', bundle, 'manifest.json'), 'utf8')) as { output: { labels: { value: number; name: string; color: Rgb }[] } }
    const labels = manifest.output.labels.filter((l) => l.value > 0)
    const wm = labels.find((l) => l.name === 'white matter')!
    expect(visibleOnGrey(wm.color)).toBe(false) // the manifest's own colour: near-white
    const lut = makeLut(labels)
    for (const l of labels) {
      const drawn = Array.from(lut.subarray(l.value * 4, l.value * 4 + 3)) as Rgb
      expect(visibleOnGrey(drawn), `${l.name} drawn as (${drawn.join(', ')})`).toBe(true)
      if (visibleOnGrey(l.color)) expect(drawn).toEqual(l.color) // a saturated colour is kept
    }
  })
})
