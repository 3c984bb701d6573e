/**
 * Evaluates the shipped bundle through the app's own path (segment(), as `segtransfer segment` runs
 * it) on real scans it never saw: Dice against the MeshNet reference on t1_crop (brain = label > 0;
 * reference labels 1 = white matter, 2 = grey matter), the contrast-family call on t1_crop and FLAIR,
 * and the whole-volume time on t1_crop (median of 5 after a warm-up). Dice is reported as shipped and,
 * when the bundle has an intensity refinement, for the network alone too, and on t1_crop under a
 * synthetic smooth bias field with and without the refinement's bias-field model.
 * Run: `npx tsx scripts/evaluate-model.ts [--model resources/models/brain-tissue-resunet] [--json out.json]`
 */
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import { loadBundle } from '../src/engine/bundle/bundle'
import { segment } from '../src/engine/pipeline/segment'
import { readVolume } from '../src/engine/volume/read'
import { dice } from '../src/engine/labelmap/metrics'

const ROOT = path.resolve(import.meta.dirname, '..')
const DATA = path.resolve(ROOT, '../shared/data')
const arg = (name: string, fallback?: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}
const bundle = await loadBundle(arg('model', path.join(ROOT, 'resources/models/brain-tissue-resunet'))!)
const labelOf = (name: string): number => {
  const l = bundle.manifest.output.labels.find((x) => x.name.toLowerCase() === name)
  if (!l) throw new Error(`the bundle has no label '${name}'`)
  return l.value
}

const t1 = path.join(DATA, 'mri/t1_crop.nii.gz')
const r = await segment({ bundle, inputs: [t1], device: 'cpu' })
const ref = await readVolume(path.join(DATA, 'meshnet-gwm/t1_crop_reference.nii.gz'))
const scores = (ours: ArrayLike<number>) => ({
  brain: dice(ours, ref.data, (v) => v > 0, (v) => v > 0),
  greyMatter: dice(ours, ref.data, (v) => v === labelOf('grey matter'), (v) => v === 2),
  whiteMatter: dice(ours, ref.data, (v) => v === labelOf('white matter'), (v) => v === 1)
})
const result = {
  model: bundle.dir,
  /** As shipped (with the bundle's output.refinement when it has one). */
  dice: scores(r.labels.data),
  /** The network's own decision (segment({ refinement: false })). */
  diceNetworkOnly: bundle.manifest.output.refinement
    ? scores((await segment({ bundle, inputs: [t1], device: 'cpu', refinement: false })).labels.data)
    : undefined,
  refinementNote: r.notes.find((n) => n.startsWith('intensity refinement')),
  /** t1_crop under a synthetic smooth bias field, refined with and without the bias-field model. */
  biasRobustness: undefined as undefined | { field: string; withBiasField: ReturnType<typeof scores>; withoutBiasField: ReturnType<typeof scores> },
  classification: {
    t1_crop: r.classification,
    FLAIR: (await segment({ bundle, inputs: [path.join(DATA, 'mri/FLAIR.nii.gz')], device: 'cpu' })).classification
  },
  timing: { runs: [] as number[], inferenceMs: [] as number[], medianMs: 0, medianInferenceMs: 0 }
}
if (bundle.manifest.output.refinement) {
  // exp(0.3 (x + y/2 − z/2)) with x, y, z the index position scaled to [-1, 1]: ×0.4…×2.5 corner to
  // corner, about ±30 % across the brain
  const v = await readVolume(t1)
  const [nx, ny, nz] = v.size
  const biased = new Float32Array(v.data.length)
  for (let k = 0, o = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o++) {
        const c = (a: number, n: number) => (a - n / 2) / (n / 2)
        biased[o] = v.data[o] * Math.exp(0.3 * (c(i, nx) + 0.5 * c(j, ny) - 0.5 * c(k, nz)))
      }
  const withField = (order: number) => {
    const refinement = { ...bundle.manifest.output.refinement!, biasFieldOrder: order }
    return { ...bundle, manifest: { ...bundle.manifest, output: { ...bundle.manifest.output, refinement } } }
  }
  const run = async (order: number) => scores((await segment({ bundle: withField(order), inputs: [{ ...v, data: biased }], device: 'cpu' })).labels.data)
  result.biasRobustness = {
    field: 'exp(0.3 (x + y/2 - z/2)), x, y, z in [-1, 1] across the grid',
    withBiasField: await run(bundle.manifest.output.refinement.biasFieldOrder || 2),
    withoutBiasField: await run(0)
  }
}
for (let i = 0; i < 5; i++) {
  const t = performance.now()
  const x = await segment({ bundle, inputs: [t1], device: 'cpu' })
  result.timing.runs.push(Math.round(performance.now() - t))
  result.timing.inferenceMs.push(x.timingsMs.inference)
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
result.timing.medianMs = median(result.timing.runs)
result.timing.medianInferenceMs = median(result.timing.inferenceMs)

const fmt = (c?: { classes: string[]; probabilities: number[] }) =>
  c ? c.classes.map((k, i) => `${k} ${c.probabilities[i].toFixed(3)}`).join(', ') : '(no classification head)'
console.log(`model      ${result.model}`)
console.log(`Dice       brain ${result.dice.brain.toFixed(4)}  grey matter ${result.dice.greyMatter.toFixed(4)}  white matter ${result.dice.whiteMatter.toFixed(4)}  (t1_crop vs MeshNet reference)`)
if (result.diceNetworkOnly) {
  const d = result.diceNetworkOnly
  console.log(`           network alone (no refinement): brain ${d.brain.toFixed(4)}  grey matter ${d.greyMatter.toFixed(4)}  white matter ${d.whiteMatter.toFixed(4)}`)
  console.log(`           ${result.refinementNote}`)
}
if (result.biasRobustness) {
  const { withBiasField: w, withoutBiasField: wo } = result.biasRobustness
  console.log(`bias       t1_crop × ${result.biasRobustness.field}:`)
  console.log(`           with the bias field: brain ${w.brain.toFixed(4)}  grey matter ${w.greyMatter.toFixed(4)}  white matter ${w.whiteMatter.toFixed(4)}; without: grey matter ${wo.greyMatter.toFixed(4)}  white matter ${wo.whiteMatter.toFixed(4)}`)
}
console.log(`class      t1_crop: ${fmt(result.classification.t1_crop)}`)
console.log(`class      FLAIR:   ${fmt(result.classification.FLAIR)}`)
console.log(`time       segment() on t1_crop: median ${result.timing.medianMs} ms of ${result.timing.runs.join(', ')} (inference alone: median ${result.timing.medianInferenceMs} ms)`)
const json = arg('json')
if (json) writeFileSync(json, JSON.stringify(result, null, 2) + '\n')
