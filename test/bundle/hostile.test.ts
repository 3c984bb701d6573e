/**
 * Hostile bundles: mutated manifests of the shipped bundles are refused with one-line SegErrors,
 * never a raw error, whether at load or when segmenting with them; numbers beyond LIMITS name the
 * limit; a manifest that is not JSON is refused by position, without quoting its text.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { REPO, tempDir } from '../helpers/data'
import { loadBundle } from '../../src/engine/bundle/bundle'
import { segment } from '../../src/engine/pipeline/segment'
import { mulberry32 } from '../../src/engine/transfer/architectures/net'
import { LIMITS } from '../../src/engine/limits'
import { SegError } from '../../src/engine/errors'
import type { Volume } from '../../src/engine/volume/volume'

let tmp: ReturnType<typeof tempDir>
beforeAll(() => (tmp = tempDir()))
afterAll(() => tmp.cleanup())

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** Replacement values a hostile manifest might hold: huge, negative, fractional, non-finite-ish, wrong types, long text. */
const HOSTILE: Json[] = [1e9, 1e300, -1, 0, 0.5, 2 ** 31, 2 ** 53 + 2, -1e-300, 65536, 'x', '', 'A'.repeat(5000), [], {}, true, null, [1e9, 1e9, 1e9], [0, 0, 0], [1, -1, 1]]

/** Small numbers that still load, so the run itself meets them. */
const PLAUSIBLE: Json[] = [1, 2, 3, 7, 16, 100, 513, 0.25, 0.999]

/** Whole sections that load but ask for extreme work: huge grids and windows, tiny windows, extreme fits. */
const SECTIONS: [(string | number)[], Json][] = [
  [['inference'], { mode: 'sliding-window', patchSize: [2048, 2048, 2048], overlap: 0.99, batchSize: 256 }],
  [['inference'], { mode: 'sliding-window', patchSize: [5, 4, 3], overlap: 0.9, batchSize: 7, blend: 'constant' }],
  [['inference'], { mode: 'whole', divisibleBy: 1024 }],
  [['geometry'], { mode: 'conform', orientation: 'LIA', size: [2048, 2048, 2048], spacing: [0.001, 0.001, 0.001], uint8: true }],
  [['geometry'], { mode: 'conform', orientation: 'SPL', size: [5, 9, 2], spacing: [1000, 1, 0.5], uint8: false }],
  [['geometry'], { mode: 'resample', spacing: [0.001, 0.001, 0.001] }],
  [['geometry'], { mode: 'resample', orientation: 'PIL', spacing: [1000, 1000, 1000] }],
  [['geometry'], { mode: 'reorient', orientation: 'SPL' }],
  [['output', 'largestComponent'], true],
  [['output', 'kind'], 'sigmoid'],
  [['output', 'refinement'], { kind: 'intensity-em', labels: [1, 2], maxIterations: 10000, tolerance: 1e-300, biasFieldOrder: 4 }]
]

/** Every path to a value inside `v` (objects and arrays included). */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = at.length ? [at] : []
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])))
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push(...paths(v[k], [...at, k]))
  return out
}

/** `v` with the value at `path` replaced (or deleted when `to` is undefined). */
function mutate(v: Json, path: (string | number)[], to: Json | undefined): Json {
  const copy = structuredClone(v) as { [k: string]: Json }
  let parent = copy as Json
  for (const key of path.slice(0, -1)) parent = (parent as { [k: string]: Json })[key as string]
  const last = path[path.length - 1]
  if (to === undefined && !Array.isArray(parent)) delete (parent as { [k: string]: Json })[last as string]
  else (parent as { [k: string]: Json })[last as string] = to ?? null
  return copy
}

/** A bundle folder holding `manifest` and a link to the shipped bundle's model. */
function hostileBundle(from: string, manifest: Json, i: number): string {
  const dir = join(tmp.dir, `${from}-${i}`)
  mkdirSync(dir)
  symlinkSync(join(REPO, 'resources/models', from, 'model.onnx'), join(dir, 'model.onnx'))
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest))
  return dir
}

/** A small scan-like volume: a bright ball in a dark box, 1 mm voxels. */
function ball(n: number): Volume {
  const data = new Float32Array(n ** 3)
  const c = (n - 1) / 2
  for (let k = 0, o = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++, o++) data[o] = Math.hypot(i - c, j - c, k - c) < n / 3 ? 100 + i : 5
  return { size: [n, n, n], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data }
}

/** Runs `fn`; a failure must be a one-line SegError with one of `codes` that does not quote the long text. */
async function expectCleanFailure(fn: () => Promise<unknown>, codes: string[], what: string): Promise<boolean> {
  try {
    await fn()
    return true
  } catch (e) {
    expect(e, `${what}: ${String(e)}`).toBeInstanceOf(SegError)
    const err = e as SegError
    expect(codes, `${what}: ${err.code} ${err.message}`).toContain(err.code)
    expect(err.message).not.toMatch(/\n|AAAAAAAAAA/)
    return false
  }
}

describe('hostile manifests', () => {
  it('300 mutated manifests of the shipped bundles: each loads and segments, or fails with a one-line SegError', async () => {
    const rnd = mulberry32(13)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]
    const volume = ball(12)
    let loaded = 0
    let segmented = 0
    for (let i = 0; i < 300; i++) {
      const from = i % 2 === 0 ? 'demo-tissue' : 'brain-tissue-resunet'
      const original = JSON.parse(readFileSync(join(REPO, 'resources/models', from, 'manifest.json'), 'utf8')) as Json
      const kind = rnd()
      const [path, to] =
        kind < 0.25 ? pick(SECTIONS)
          : [pick(paths(original).filter((p) => p[0] !== 'provenance' && p[0] !== 'architecture')), kind < 0.3 ? undefined : pick(kind < 0.5 ? PLAUSIBLE : HOSTILE)]
      const manifest = mutate(original, path, to)
      const what = `${from} ${path.join('.')} = ${JSON.stringify(to)?.slice(0, 40)}`
      const dir = hostileBundle(from, manifest, i)
      const bundle = await loadBundle(dir).catch((e: unknown) => e as Error)
      if (!(bundle instanceof Error)) {
        loaded++
        // the small demo model runs for real; the shipped one is only checked against its memory bound
        const ok = await expectCleanFailure(
          () => segment({ bundle, inputs: [volume], device: 'cpu', memoryBudget: from === 'demo-tissue' ? 2 ** 30 : 1 }),
          ['BAD_MANIFEST', 'MODEL_MISMATCH', 'TOO_LARGE', 'GRID_MISMATCH', 'BAD_ARGUMENT'],
          what
        )
        if (ok) segmented++
        continue
      }
      await expectCleanFailure(() => Promise.reject(bundle), ['BAD_MANIFEST'], what)
    }
    console.log(`hostile manifests: 300 mutated, ${loaded} loaded, ${segmented} segmented, the rest refused with a SegError`)
    expect(loaded).toBeGreaterThan(20)
  })

  it('names the limit for numbers beyond it (divisibleBy 1e9, a 1e7-class output, a 4096³ conform)', async () => {
    const original = JSON.parse(readFileSync(join(REPO, 'resources/models/brain-tissue-resunet/manifest.json'), 'utf8')) as Json
    const cases: [(string | number)[], Json, RegExp][] = [
      [['inference', 'divisibleBy'], 1e9, /inference\.divisibleBy: at most 1024 \(LIMITS\.divisibleBy\)/],
      [['geometry', 'size'], [4096, 4096, 4096], /geometry\.size\.0: at most 2048 \(LIMITS\.axisVoxels\)/],
      [['geometry', 'spacing'], [1e-9, 1, 1], /geometry\.spacing\.0: at least 0\.001 mm/],
      [['output', 'refinement', 'maxIterations'], 1e12, /at most 10000 \(LIMITS\.refinementIterations\)/],
      [['output', 'labels'], Array.from({ length: LIMITS.classes + 1 }, (_, v) => ({ value: v, name: `c${v}`, color: [0, 0, 0] })), /output\.labels: at most 1024 \(LIMITS\.classes\)/]
    ]
    for (const [i, [path, to, message]] of cases.entries()) {
      const err = await loadBundle(hostileBundle('brain-tissue-resunet', mutate(original, path, to), 1000 + i)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SegError)
      expect((err as SegError).message).toMatch(message)
    }
  })

  it('refuses a manifest that is not JSON (a link to a system file) with its line and column, quoting none of it', async () => {
    const dir = join(tmp.dir, 'passwd-link')
    mkdirSync(dir)
    writeFileSync(join(dir, 'secret.txt'), 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1\n')
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'manifest.json'))
    const err = await loadBundle(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SegError)
    expect((err as SegError).message).toMatch(/manifest\.json is not valid JSON \(syntax error at line 1, column 1\)/)
    expect((err as SegError).message).not.toMatch(/root|daemon|bash/)
    writeFileSync(join(dir, 'secret.txt'), '{\n  "format": "segtransfer-bundle",\n  "version": 1 oops\n}\n')
    const second = (await loadBundle(dir).catch((e: unknown) => e)) as SegError
    expect(second.message).toMatch(/line 3, column 16\)/)
    expect(second.message).not.toMatch(/oops/)
  })
})
