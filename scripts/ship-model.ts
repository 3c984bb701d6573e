/**
 * Turns the training pipeline's checkpoint into the shipped bundle through the app's own path:
 * `segtransfer transfer --to shared` (checkpoint import, load report, ONNX builder) with the model
 * card facts of training/manifest-facts.json passed as --describe.
 * Run: `npx tsx scripts/ship-model.ts [--from training/runs/cpu/checkpoint.pth] [--out resources/models/brain-tissue-resunet]`
 */
import path from 'node:path'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { main } from '../src/cli/main'

const ROOT = path.resolve(import.meta.dirname, '..')
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}
// Paths relative to the repository, so the bundle's provenance names no machine-specific folder.
const from = path.relative(ROOT, path.resolve(arg('from', path.join(ROOT, 'training/runs/cpu/checkpoint.pth'))))
const out = path.relative(ROOT, path.resolve(arg('out', path.join(ROOT, 'resources/models/brain-tissue-resunet'))))
process.chdir(ROOT)
const facts = JSON.parse(readFileSync(path.join(ROOT, 'training/manifest-facts.json'), 'utf8'))

const describe = {
  name: 'Brain tissue ResUNet (SegTransfer, trained on Colin27 and synthetic MRI)',
  description:
    'Encoder-sharing 3D ResUNet (ResNet-10 encoder, deep stem) trained by training/ on the Colin27 T1 and on images synthesised from its labels: brain, CSF, grey and white matter on any MRI contrast, plus the contrast family of the whole scan. The CSF / grey / white split is refitted to each scan\'s own intensities at its resolution (output.refinement). See docs/model-card.md.',
  channels: facts.channels,
  geometry: facts.geometry,
  inference: facts.inference,
  output: facts.output,
  classification: facts.classification,
  accepts: facts.accepts,
  license: facts.license,
  model: { axisOrder: facts.model.axisOrder }
}
const a = facts.architecture
const tmp = mkdtempSync(path.join(tmpdir(), 'ship-'))
try {
  const desc = path.join(tmp, 'describe.json')
  writeFileSync(desc, JSON.stringify(describe))
  rmSync(out, { recursive: true, force: true })
  const code = await main([
    'transfer', '--from', from, '--to', 'shared', '--in-channels', String(a.inChannels), '--classes', String(a.segClasses),
    '--head-classes', String(a.numClasses), '--strict', '--describe', desc, '--name', 'brain-tissue-resunet', '--out', out
  ])
  process.exitCode = code
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
