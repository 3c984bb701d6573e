/**
 * The app core's Teach methods on the real spine T2 with its cord mask loaded as a label layer:
 * summarizeBase marks every layer of the base network frozen; teach trains in the worker, reports
 * each epoch over the progress channel and keeps its prediction as a segmentation of the scan;
 * saveTaught writes a bundle, asks (OUTPUT_EXISTS) before replacing one, and never writes into the
 * base bundle or over an open scan; bad requests are refused with one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeImageNode } from '@itk-wasm/image-io'
import { data, REPO, tempDir } from '../helpers/data'
import { createApiCore, dispatch, type ApiCore } from '../../src/app-core/api-core'
import { tsxTeachWorker, tsxWorker } from '../../src/bridge/server'
import type { CompleteSlices, ProgressEvent, SegmentSummary, TeachSummary, VolumeInfo } from '../../src/shared/contract'
import { readVolume } from '../../src/engine/volume/read'
import { toItkImage } from '../../src/engine/volume/itk-image'
import type { Vec3, Volume } from '../../src/engine/volume/volume'
import { loadBundle } from '../../src/engine/bundle/bundle'
import { buildTeachSet } from '../../src/engine/teach/teach-set'
import { teachGeometry } from '../../src/engine/teach/teach'
import { teachLabelsOf } from '../../src/app-core/teach-labels'

const tmp = tempDir('segtransfer-teach-core-')
/** The shipped encoder-sharing ResUNet: a base with a decoder to tap (never written into). */
const RESUNET = join(REPO, 'resources/models/brain-tissue-resunet')
const base = join(tmp.dir, 'demo-base')
const events: ProgressEvent[] = []
let core: ApiCore
let scan: VolumeInfo
let layer: SegmentSummary
let taught: TeachSummary

const failure = async (method: string, ...args: unknown[]) => {
  const r = await dispatch(core, method, args)
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`
}

beforeAll(async () => {
  cpSync(join(REPO, 'resources/models/demo-tissue'), base, { recursive: true })
  core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, runTeachWorker: tsxTeachWorker, emit: (e) => events.push(e) })
  ;[scan] = await core.openVolumes([data('spine/t2.nii.gz')])
  layer = await core.loadLabelFile(scan.id, data('spine/t2_cord_seg.nii.gz'))
  taught = await core.teach({ volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], slices: { plane: 'axial', every: 3 }, head: 'linear', maxEpochs: 4 })
}, 120_000)
afterAll(() => tmp.cleanup())

/**
 * Another scan from `v`: voxel axes i and j swapped (so the axial slices lie across i, not j), cropped
 * by `crop` voxels on each side in-plane, spacing × 1.25 and the origin moved by 12 mm: its own grid.
 */
function croppedSwapped(v: Volume, crop: number): Volume {
  const [ni, nj, nk] = v.size
  const size: Vec3 = [nj - 2 * crop, ni - 2 * crop, nk]
  const data = new (v.data.constructor as new (n: number) => typeof v.data)(size[0] * size[1] * size[2])
  for (let k = 0; k < nk; k++) for (let b = 0; b < size[1]; b++) for (let a = 0; a < size[0]; a++) {
    data[a + size[0] * (b + size[1] * k)] = v.data[b + crop + ni * (a + crop + nj * k)]
  }
  const d = v.direction
  const direction = [0, 1, 2].flatMap((r) => [d[r * 3 + 1], d[r * 3], d[r * 3 + 2]])
  return { size, spacing: [v.spacing[1] * 1.25, v.spacing[0] * 1.25, v.spacing[2] * 1.25], origin: v.origin.map((x) => x + 12) as Vec3, direction, data }
}

/** Labelled voxels per label of these scans in the taught model's space (the first scan's orientation and spacing), by the engine's own teach set. */
async function expectedCounts(scans: { image: Volume; layer: Volume; slices: CompleteSlices }[]): Promise<Record<string, number>> {
  const { manifest } = await loadBundle(base)
  const geometry = teachGeometry(scans[0].image)
  const total: Record<string, number> = {}
  for (const s of scans) {
    const given = teachLabelsOf(s.layer.data, [1], s.slices)
    const set = buildTeachSet([{ name: 'x', image: s.image, labels: { ...s.layer, data: given.data }, labelledSlices: given.labelledSlices }], geometry, manifest.channels[0].normalization)
    for (const [v, n] of Object.entries(set.counts)) total[v] = (total[v] ?? 0) + n
  }
  return total
}

describe('teach in the app core', () => {
  it('summarizes the base network with every parameter frozen', async () => {
    const s = await core.summarizeBase(base)
    expect(s.frozen).toEqual(['smooth', 'Mul_1', 'Concat_2', 'classify'])
    expect(s.table).toMatch(/Trainable params: 0\n/)
    expect(s.table).not.toMatch(/ True$/m)
    expect([s.features, s.hidden]).toEqual([19, 24])
  })

  it('reports each epoch as progress and keeps the prediction as a taught segmentation of the scan', async () => {
    const epochs = events.filter((e) => e.epoch).map((e) => e.epoch!.epoch)
    expect(epochs).toEqual([1, 2, 3, 4])
    expect(events.every((e) => e.stage.startsWith('teach:'))).toBe(true)
    expect(taught.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    expect(taught.preview.source).toMatchObject({ kind: 'taught', teachId: taught.teachId, head: 'linear', name: 'taught label 1 (linear)' })
    expect(taught.preview.volumeId).toBe(scan.id)
    const labels = new Uint8Array((await core.readLabels(taught.preview.runId, scan.id)).data)
    const cord = labels.reduce((n, v) => n + (v === 1 ? 1 : 0), 0)
    expect(taught.preview.stats).toEqual([expect.objectContaining({ value: 1, voxels: cord })])
    expect(cord).toBeGreaterThan(500)
  })

  it('saves a bundle, asks before replacing it, and never writes into the base bundle or over the scan', async () => {
    const out = join(tmp.dir, 'cord')
    expect(await core.saveTaught(taught.teachId, out)).toBe(out)
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'model.onnx'])
    expect(await failure('saveTaught', taught.teachId, out)).toBe(`OUTPUT_EXISTS: ${out} is an existing model bundle; expected a new folder, or replacing it confirmed (overwrite)`)
    expect(await failure('saveTaught', taught.teachId, out, { overwrite: true })).toBe('ok')
    expect(await failure('saveTaught', taught.teachId, base, { overwrite: true })).toMatch(/^OUTPUT_CONFLICT: .* is or lies in the base bundle/)
    expect(await failure('saveTaught', taught.teachId, join(base, 'inner'))).toMatch(/^OUTPUT_CONFLICT: .* is or lies in the base bundle/)
    expect(existsSync(join(base, 'inner'))).toBe(false)
    expect(await failure('saveTaught', taught.teachId, data('spine/t2.nii.gz'), { overwrite: true })).toMatch(/^OUTPUT_CONFLICT: /)
    expect(await failure('saveTaught', 'no-such-model', join(tmp.dir, 'x'))).toBe('BAD_ARGUMENT: no taught model no-such-model; train one first')
  })

  it('refuses bad teach requests with one line', async () => {
    const req = { volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], head: 'linear' }
    expect(await failure('teach', { ...req, learn: [65535] })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.learn\.0: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', every: 0 } })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.slices\.every: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', every: 2, list: [3] } })).toBe('BAD_ARGUMENT: invalid arguments to teach: 0.slices: give either every or list')
    expect(await failure('teach', { ...req, maxEpochs: 1e6 })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.maxEpochs: /)
    expect(await failure('saveTaught', 'id-1', '/tmp/x', { overwrite: 'yes' })).toMatch(/^BAD_ARGUMENT: invalid arguments to saveTaught: 2\.overwrite: /)
    expect(await failure('teach', { ...req, slices: { plane: 'axial', list: [3, 500] } })).toBe("BAD_ARGUMENT: --labelled-slices 'axial:3,500': slice 500 is outside the volume; axial slices run along voxel axis j from 0 to 54")
    expect(await failure('teach', { ...req, learn: [2] })).toBe('BAD_ARGUMENT: label 2 is not painted in this segmentation; expected labels it holds to learn')
    expect(await failure('teach', req)).toMatch(/^BAD_ARGUMENT: nothing is painted as background/)
  })

  it('teaches from two scans on different grids, naming both in the provenance and counting the labelled voxels of both', async () => {
    const [t2, cord] = await Promise.all([readVolume(data('spine/t2.nii.gz')), readVolume(data('spine/t2_cord_seg.nii.gz'))])
    const other = { image: croppedSwapped(t2, 4), layer: croppedSwapped(cord, 4) }
    const [imagePath, segPath] = [join(tmp.dir, 't2_swapped.nii.gz'), join(tmp.dir, 't2_swapped_cord.nii.gz')]
    await writeImageNode(toItkImage(other.image, other.image.data), imagePath, { useCompression: true })
    await writeImageNode(toItkImage(other.layer, other.layer.data), segPath, { useCompression: true })
    const [scan2] = await core.openVolumes([imagePath])
    expect(scan2.size).toEqual([47, 52, 52])
    const layer2 = await core.loadLabelFile(scan2.id, segPath)
    const slices1: CompleteSlices = { plane: 'axial', every: 3 }
    const slices2: CompleteSlices = { plane: 'axial', every: 4 }
    const two = await core.teach({ volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], slices: slices1, otherScans: [{ volumeId: scan2.id, runId: layer2.runId, slices: slices2 }], head: 'linear', maxEpochs: 2 })
    const out = join(tmp.dir, 'two-scans')
    await core.saveTaught(two.teachId, out)
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
    const scans = manifest.provenance.at(-1).details.scans
    expect(scans.map((x: { name: string; labelledSlices: string }) => [x.name, x.labelledSlices])).toEqual([['t2.nii.gz', 'axial:every:3'], ['t2_swapped.nii.gz', 'axial:every:4']])
    expect(scans[0].imageSha256).not.toBe(scans[1].imageSha256)
    const both = await expectedCounts([{ image: t2, layer: cord, slices: slices1 }, { ...other, slices: slices2 }])
    expect(two.labelledVoxels).toEqual(both)
    expect(two.labelledVoxels['1']).toBeGreaterThan(taught.labelledVoxels['1']) // the shown scan alone (beforeAll) has fewer
    expect(two.preview.volumeId).toBe(scan.id)
    expect((await core.readLabels(two.preview.runId, scan.id)).data.byteLength).toBe(t2.data.length)

    const req = { volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], slices: slices1, head: 'linear' }
    expect(await failure('teach', { ...req, otherScans: [{ volumeId: scan.id, runId: layer.runId }] })).toBe('BAD_ARGUMENT: t2.nii.gz is listed twice to teach from; expected each scan once')
    expect(await failure('teach', { ...req, otherScans: [{ volumeId: scan2.id, runId: layer.runId }] })).toBe(
      `BAD_ARGUMENT: segmentation ${layer.runId} belongs to t2.nii.gz, not to t2_swapped.nii.gz; expected a segmentation of the scan it is listed with`
    )
    expect(await failure('teach', { ...req, learn: [1, 2], otherScans: [{ volumeId: scan2.id, runId: layer2.runId }] })).toBe(
      'BAD_ARGUMENT: label 2 is not painted in this segmentation; expected labels it holds to learn'
    )
    expect(await failure('teach', { ...req, otherScans: [{ volumeId: scan2.id, runId: layer2.runId }] })).toMatch(/^BAD_ARGUMENT: t2_swapped\.nii\.gz: nothing is painted as background/)
    const many = Array.from({ length: 16 }, () => ({ volumeId: scan2.id, runId: layer2.runId }))
    expect(await failure('teach', { ...req, otherScans: many })).toMatch(/^BAD_ARGUMENT: invalid arguments to teach: 0\.otherScans: /)
    await core.closeVolume(scan2.id)
  }, 60_000)

  it('summarizes which layer network features tap and the model space they run in, as the engine resolves them', async () => {
    expect((await core.summarizeBase(RESUNET)).network).toEqual({ taps: ['decoder_0.1/Relu'], channels: 8, space: '128×128×128 voxels of 2 mm, RAS' })
    expect((await core.summarizeBase(base)).network).toEqual({ taps: ['features'], channels: 2, space: "the scan's own grid" })
  })

  it('teaches on network + filters in the base space: the preview on the scan grid, a bundle recording features, taps and space that segments as the preview', async () => {
    const net = await core.teach({ volumeId: scan.id, runId: layer.runId, baseBundleDir: RESUNET, learn: [1], slices: { plane: 'axial', every: 3 }, head: 'linear', features: 'network,filters', maxEpochs: 10, largestComponent: true })
    expect([net.features, net.taps, net.preview.source.kind === 'taught' && net.preview.source.name]).toEqual(['network,filters', ['decoder_0.1/Relu'], 'taught label 1 (linear, network + filters)'])
    const preview = new Uint8Array((await core.readLabels(net.preview.runId, scan.id)).data)
    expect(preview.length).toBe(scan.size[0] * scan.size[1] * scan.size[2])
    expect(preview.reduce((n, v) => n + (v === 1 ? 1 : 0), 0)).toBeGreaterThan(100)
    const out = join(tmp.dir, 'cord-network')
    await core.saveTaught(net.teachId, out)
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
    expect(manifest.architecture).toMatchObject({ space: 'base', features: ['filters', 'network'], taps: ['decoder_0.1/Relu'], featureCount: 27 })
    expect(manifest.geometry).toEqual({ ...(await loadBundle(RESUNET)).manifest.geometry })
    expect(manifest.provenance.at(-1).details.frozen).toBe("the base network's nodes up to decoder_0.1/Relu (weights unchanged) and the filter bank (fixed kernels)")
    await core.openBundle(out)
    const run = await core.segment({ bundleDir: out, volumeIds: [scan.id], device: 'cpu' })
    const saved = new Uint8Array((await core.readLabels(run.runId, scan.id)).data)
    expect(saved.length).toBe(preview.length)
    expect(saved.reduce((n, v, i) => n + (v === preview[i] ? 0 : 1), 0)).toBe(0)
  }, 60_000)

  it('refuses an unknown features value in one line', async () => {
    const req = { volumeId: scan.id, runId: layer.runId, baseBundleDir: base, learn: [1], head: 'linear' }
    expect(await failure('teach', { ...req, features: 'filters,network' })).toBe(
      'BAD_ARGUMENT: invalid arguments to teach: 0.features: Invalid option: expected one of "filters"|"network,filters"|"network"'
    )
  })

  it('forgets the taught model with its scan', async () => {
    await core.closeVolume(scan.id)
    expect(await failure('saveTaught', taught.teachId, join(tmp.dir, 'after-close'))).toBe(`BAD_ARGUMENT: no taught model ${taught.teachId}; train one first`)
  })
})
