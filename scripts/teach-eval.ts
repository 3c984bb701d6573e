/**
 * The teach figures of docs/teach.md: for each task (a scan with its reference labels given on every
 * Nth axial slice only), teach a head, run the baked bundle through segment(), and score Dice on the
 * unlabelled slices; also counts voxels where the baked bundle and the in-memory head differ.
 * Run: `npx tsx scripts/teach-eval.ts [--only cord,spleen,t1] [--heads linear,mlp] [--features filters/network/network,filters] [--lcc]`
 * (`--features`: feature sets separated by '/', each a comma list; `@base` after one runs it in the
 * base bundle's model space, e.g. `filters@base`; `--taps decoder,layer1.0/Relu_0` other taps).
 */
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { loadBundle, writeBundle } from '../src/engine/bundle/bundle'
import { readVolume } from '../src/engine/volume/read'
import { segment } from '../src/engine/pipeline/segment'
import { teach, predictInMemory, type TeachOptions } from '../src/engine/teach/teach'
import { parseLabelledSlices, sliceMask } from '../src/engine/teach/labelled-slices'
import type { HeadKind } from '../src/engine/teach/head'
import type { FeatureKind } from '../src/engine/teach/teach'

const ROOT = path.resolve(import.meta.dirname, '..')
const DATA = path.resolve(ROOT, '../shared/data')
const BASE = path.join(ROOT, 'resources/models/brain-tissue-resunet')

export interface Task {
  name: string
  image: string
  labels: string
  slices: string
  /** Label values scored, with names. */
  scored: [number, string][]
}

export const TASKS: Task[] = [
  { name: 'cord', image: 'spine/t2.nii.gz', labels: 'spine/t2_cord_seg.nii.gz', slices: 'axial:every:3', scored: [[1, 'cord']] },
  { name: 'spleen', image: 'ct/spleen_ct.nii.gz', labels: 'ct/spleen_ct_seg.nii.gz', slices: 'axial:every:4', scored: [[1, 'spleen']] },
  { name: 't1', image: 'mri/t1_crop.nii.gz', labels: 'meshnet-gwm/t1_crop_reference.nii.gz', slices: 'axial:every:8', scored: [[1, 'WM'], [2, 'GM']] }
]

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}

/** Dice of `value` over the voxels off the labelled slices. */
function diceOffSlices(pred: ArrayLike<number>, ref: ArrayLike<number>, labelled: Uint8Array, value: number): number {
  let a = 0, b = 0, both = 0
  for (let o = 0; o < ref.length; o++) {
    if (labelled[o]) continue
    const x = pred[o] === value
    const y = ref[o] === value
    if (x) a++
    if (y) b++
    if (x && y) both++
  }
  return a + b ? (2 * both) / (a + b) : 1
}

export async function runTask(task: Task, head: HeadKind, extra: Partial<TeachOptions> = {}) {
  const base = await loadBundle(BASE)
  const image = await readVolume(path.join(DATA, task.image))
  const labels = await readVolume(path.join(DATA, task.labels))
  const t0 = performance.now()
  const result = await teach({ base, scans: [{ name: task.image, image, labels, labelledSlices: task.slices }], head, seed: 1, ...extra })
  const teachMs = performance.now() - t0
  const dir = mkdtempSync(path.join(tmpdir(), 'teach-eval-'))
  try {
    const bundle = await writeBundle(path.join(dir, 'b'), result.manifest, result.onnx)
    const seg = await segment({ bundle, inputs: [image], device: 'cpu' })
    const count = (v: { data: ArrayLike<number> }) => { let d = 0; for (let o = 0; o < v.data.length; o++) if (v.data[o] !== seg.labels.data[o]) d++; return d }
    const differ = count(await predictInMemory(result, image))
    // A model on network taps is previewed by its graph only.
    const differTs = extra.features?.includes('network') || extra.space === 'base' ? undefined : count(await predictInMemory(result, image, { head: 'typescript' }))
    const labelled = sliceMask(image.size, parseLabelledSlices(task.slices, image))
    const dice = task.scored.map(([v, n]) => [n, diceOffSlices(seg.labels.data, labels.data, labelled, v)] as const)
    return { teachMs, timings: result.timingsMs, differ, differTs, dice, best: result.best, epochs: result.history.length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = arg('only')?.split(',')
  const heads = (arg('heads') ?? 'linear,mlp').split(',') as HeadKind[]
  const lcc = process.argv.includes('--lcc')
  const scalesMm = arg('scales')?.split(',').map(Number)
  const taps = arg('taps')?.split(',')
  const featureSets = (arg('features') ?? 'filters').split('/').map((f) => {
    const [list, space] = f.split('@')
    return { features: list.split(',') as FeatureKind[], space: space === 'base' ? ('base' as const) : undefined }
  })
  const rows: string[] = []
  for (const task of TASKS.filter((t) => !only || only.includes(t.name))) {
    for (const { features, space } of featureSets) for (const head of heads) {
      const r = await runTask(task, head, { largestComponent: lcc, scalesMm, features, space, taps })
      const label = `${features.join(' + ')}${space || features.includes('network') ? ' (base space)' : ''}`
      const cells = [task.name, label, head, lcc ? 'yes' : 'no', r.dice.map(([n, d]) => `${n} ${d.toFixed(3)}`).join(', '), r.best.validationDice.slice(1).map((d) => d.toFixed(3)).join(', '), `${(r.teachMs / 1000).toFixed(1)}`, `${r.differ} / ${r.differTs ?? '—'}`]
      rows.push(`| ${cells.join(' | ')} |`)
      console.log(`${task.name.padEnd(7)} ${label.padEnd(30)} ${head.padEnd(6)} lcc=${lcc} ${r.dice.map(([n, d]) => `${n} ${d.toFixed(4)}`).join(' ')} | teach ${(r.teachMs / 1000).toFixed(1)} s ${JSON.stringify(r.timings)}, ${r.epochs} epochs (best ${r.best.epoch}), val Dice ${r.best.validationDice.map((d) => d.toFixed(3)).join('/')} | baked vs in-memory (graph / TS head): ${r.differ} / ${r.differTs} voxels differ`)
    }
  }
  console.log('\n| task | features | head | largest component | Dice, unlabelled slices | validation Dice (held-out slices) | teach s (loaded machine) | voxels where the bundle ≠ in-memory preview (graph / TS head) |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(r)
}
