/**
 * `segtransfer teach` end to end on real data: the spinal cord of the shared T2 scan labelled on
 * every 3rd axial slice; the baked bundle through `segtransfer segment` must reach cord Dice ≥ 0.95
 * on the unlabelled slices and equal the in-memory head voxel for voxel. Bad input: one line, no bundle.
 */
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { data } from '../helpers/data'
import { BASE, CORD, T2, teachThenSegment, useTempDir } from './cord'
import { cli, expectRefusal } from '../cli/run-cli'
import { readVolume } from '../../src/engine/volume/read'
import { writeLabelMap } from '../../src/engine/export'
import { loadBundle } from '../../src/engine/bundle/bundle'
import { predictInMemory, taughtModelOf } from '../../src/engine/teach/teach'
import { parseLabelledSlices, sliceMask } from '../../src/engine/teach/labelled-slices'
import { dice } from '../../src/engine/labelmap/metrics'

const tmp = useTempDir()

/** Dice of label 1 over the voxels off the labelled slices. */
function diceOff(pred: ArrayLike<number>, ref: ArrayLike<number>, labelled: Uint8Array): number {
  const keep = (a: ArrayLike<number>) => Array.from(a).filter((_, o) => !labelled[o])
  return dice(keep(pred), keep(ref), (v) => v === 1, (v) => v === 1)
}

describe('segtransfer teach', () => {
  it('learns the spinal cord from every 3rd axial slice: Dice ≥ 0.95 elsewhere, and segment on the bundle equals the in-memory head', async () => {
    const { out, mask, stdout } = await teachThenSegment(tmp.dir, 'cord-bundle', ['--head', 'mlp', '--label-names', '1:spinal cord'])
    expect(stdout).toMatch(/1 spinal cord\s+\d+\s+0\.\d{4}/) // the validation table
    const image = await readVolume(T2)
    const ref = await readVolume(CORD)
    const seg = await readVolume(mask)
    const labelled = sliceMask(image.size, parseLabelledSlices('axial:every:3', image))
    expect(diceOff(seg.data, ref.data, labelled)).toBeGreaterThanOrEqual(0.95)

    // The in-app preview runs the baked graph by slabs and decodes in TypeScript: the same labels.
    const taught = await taughtModelOf(await loadBundle(out))
    const differing = (v: { data: ArrayLike<number> }) => Array.from(v.data).filter((x, o) => x !== seg.data[o]).length
    expect(differing(await predictInMemory(taught, image))).toBe(0)
    // The float64 TypeScript head on the graph's features: equal up to exact ties in float32 logits.
    expect(differing(await predictInMemory(taught, image, { head: 'typescript' }))).toBeLessThanOrEqual(2)
    const manifest = (await loadBundle(out)).manifest
    const details = manifest.provenance.at(-1)!.details as Record<string, any>
    expect(manifest.output.labels.map((l) => l.name)).toEqual(['background', 'spinal cord'])
    expect(details.scans[0].imageSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(details.labelledVoxels['1']).toBeGreaterThan(1000)
    expect(details.base.modelSha256).toMatch(/^[0-9a-f]{64}$/)
  }, 120_000)

  async function expectRefused(args: string[], pattern: RegExp): Promise<void> {
    const out = join(tmp.dir, `refused_${Math.random().toString(36).slice(2)}`)
    await expectRefusal(['teach', '--model', BASE, ...args, '--out', out, '--quiet'], out, pattern)
  }

  it('refuses a label with no voxels on the labelled slices, with one line and no bundle', async () => {
    // Label 2 painted only on slice 1, which every:3 leaves unlabelled.
    const ref = await readVolume(CORD)
    const labels = Uint8Array.from(ref.data)
    const axis = parseLabelledSlices('axial:0', ref).axis
    const offset = axis === 1 ? 30 + ref.size[0] * 1 + ref.size[0] * ref.size[1] * 20 : -1
    labels[offset] = 2
    const file = join(tmp.dir, 'extra-label.nii.gz')
    await writeLabelMap({ ...ref, data: labels }, file, { like: ref })
    await expectRefused(['--image', T2, '--labels', file, '--labelled-slices', 'axial:every:3'], /label 2 has no voxels on the labelled slices/)
  })
  it('refuses a labels file on another grid than its image', async () => {
    await expectRefused(['--image', T2, '--labels', data('ct/spleen_ct_seg.nii.gz'), '--labelled-slices', 'axial:every:3'], /labels .*spleen_ct_seg.* another grid/)
  })
  it('refuses a slice list outside the volume', async () => {
    await expectRefused(['--image', T2, '--labels', CORD, '--labelled-slices', 'axial:3,200'], /slice 200 is outside the volume/)
  })
  it('refuses --threads, --epochs and --seed beyond LIMITS before reading any scan', async () => {
    await expectRefused(['--image', T2, '--labels', CORD, '--threads', '300'], /--threads 300 is out of range; expected an integer from 1 to 256$/)
    await expectRefused(['--image', T2, '--labels', CORD, '--epochs', '10001'], /--epochs 10001 is out of range; expected an integer from 1 to 10000$/)
    await expectRefused(['--image', T2, '--labels', CORD, '--seed', '4294967296'], /--seed 4294967296 is out of range; expected an integer from 0 to 4294967295$/)
  })
  it('refuses a second run onto an existing folder and mismatched --image/--labels counts', async () => {
    await expectRefused(['--image', T2, '--image', T2, '--labels', CORD], /one --labels per --image/)
    const r = await cli('teach', '--model', BASE, '--image', T2, '--labels', CORD, '--out', BASE, '--quiet')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/already exists; expected a new folder/)
  })
})
