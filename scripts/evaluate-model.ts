/**
 * Evaluates the shipped bundle through the app's own path (segment(), as `segtransfer segment` runs
 * it) on real scans it never saw: Dice against the MeshNet reference on t1_crop (brain = label > 0;
 * reference labels 1 = white matter, 2 = grey matter), the contrast-family call on t1_crop and FLAIR,
 * and the whole-volume time on t1_crop (median of 5 after a warm-up).
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
const ours = r.labels.data
const result = {
  model: bundle.dir,
  dice: {
    brain: dice(ours, ref.data, (v) => v > 0, (v) => v > 0),
    greyMatter: dice(ours, ref.data, (v) => v === labelOf('grey matter'), (v) => v === 2),
    whiteMatter: dice(ours, ref.data, (v) => v === labelOf('white matter'), (v) => v === 1)
  },
  classification: {
    t1_crop: r.classification,
    FLAIR: (await segment({ bundle, inputs: [path.join(DATA, 'mri/FLAIR.nii.gz')], device: 'cpu' })).classification
  },
  timing: { runs: [] as number[], inferenceMs: [] as number[], medianMs: 0, medianInferenceMs: 0 }
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
console.log(`class      t1_crop: ${fmt(result.classification.t1_crop)}`)
console.log(`class      FLAIR:   ${fmt(result.classification.FLAIR)}`)
console.log(`time       segment() on t1_crop: median ${result.timing.medianMs} ms of ${result.timing.runs.join(', ')} (inference alone: median ${result.timing.medianInferenceMs} ms)`)
const json = arg('json')
if (json) writeFileSync(json, JSON.stringify(result, null, 2) + '\n')
