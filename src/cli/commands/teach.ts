/**
 * `segtransfer teach`: learn a new structure from a few labelled slices of one or more scans and
 * save it as a bundle (filter bank + trained head in one ONNX graph), printing the validation table.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadBundle, writeBundle } from '../../engine/bundle/bundle'
import { SegError } from '../../engine/errors'
import { checkFolderOutput } from '../../engine/fs/atomic'
import { readVolume } from '../../engine/volume/read'
import { teach, type FeatureKind, type LabelName } from '../../engine/teach/teach'
import type { ScanLabels } from '../../engine/teach/teach-set'
import type { HeadKind } from '../../engine/teach/head'
import { LIMITS } from '../../engine/limits'
import { createProgressBar } from '../progress'
import { intOption } from './batch'
import type { CommandIO } from '../io'

export const usage = `segtransfer teach --model <base bundle> --image <a.nii.gz> --labels <a_seg.nii.gz> [--image b --labels b_seg ...]
        [--labelled-slices axial:every:4|axial:3,7,12 (one, or one per --image)] [--ignore-value 255]
        [--head linear|mlp] [--features filters|network|network,filters] [--taps decoder,<graph value>...] [--space scan|base]
        [--seed N] [--largest-component] [--label-names 1:spleen,2:...]
        [--epochs N] [--name NAME] --out <new bundle>
    Teach a new structure from sparse labels: painted voxels of each label, background (0) included;
    unpainted voxels are unknown — those off the --labelled-slices (slices along the voxel axis closest
    to the head–foot axis for axial, left–right for sagittal, anterior–posterior for coronal), or those
    equal to --ignore-value. Trains a head on a multi-scale filter bank (at the first scan's own
    resolution) and/or on network features (taps on the base bundle's graph: 'decoder' = its decoder's
    last feature map, or named values such as encoder stage outputs, upsampled; these run in the base's
    own model space, and the whole model then does), early-stopped on held-out labelled slices, and
    writes a bundle that 'segtransfer segment' runs like any other. --space base runs filters-only
    in the base's model space too (to compare with network features at the same resolution).`

const HEADS = ['linear', 'mlp']

/** `1:spleen,2:liver` → label names. */
function parseLabelNames(text: string | undefined): LabelName[] | undefined {
  if (text === undefined) return undefined
  return text.split(',').map((item) => {
    const m = /^(\d+):(.+)$/.exec(item.trim())
    if (!m || Number(m[1]) > 65535) throw new SegError('BAD_ARGUMENT', `--label-names item '${item}': expected value:name with a value in 0..65535, e.g. 1:spleen`)
    return { value: Number(m[1]), name: m[2].trim() }
  })
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, image: { type: 'string', multiple: true }, labels: { type: 'string', multiple: true },
      'labelled-slices': { type: 'string', multiple: true }, 'ignore-value': { type: 'string' }, head: { type: 'string', default: 'linear' },
      features: { type: 'string', default: 'filters' }, taps: { type: 'string' }, space: { type: 'string' }, seed: { type: 'string' }, 'largest-component': { type: 'boolean', default: false },
      'label-names': { type: 'string' }, epochs: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' },
      threads: { type: 'string' }, quiet: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  if (!values.model) throw new SegError('BAD_ARGUMENT', 'teach needs --model <base bundle>')
  if (!values.out) throw new SegError('BAD_ARGUMENT', 'teach needs --out <new bundle folder>')
  const images = values.image ?? []
  const labels = values.labels ?? []
  if (!images.length || images.length !== labels.length) {
    throw new SegError('BAD_ARGUMENT', `teach needs one --labels per --image (got ${images.length} image(s), ${labels.length} labels file(s))`)
  }
  const slices = values['labelled-slices'] ?? []
  if (slices.length > 1 && slices.length !== images.length) {
    throw new SegError('BAD_ARGUMENT', `give one --labelled-slices for all scans or one per --image (got ${slices.length} for ${images.length} images)`)
  }
  if (!HEADS.includes(values.head!)) throw new SegError('BAD_ARGUMENT', `--head must be linear or mlp, got '${values.head}'`)
  const features = values.features!.split(',') as FeatureKind[]
  if (features.some((f) => f !== 'filters' && f !== 'network')) throw new SegError('BAD_ARGUMENT', `--features must list filters and/or network, got '${values.features}'`)
  if (values.space !== undefined && values.space !== 'scan' && values.space !== 'base') throw new SegError('BAD_ARGUMENT', `--space must be scan or base, got '${values.space}'`)
  const ignoreValue = intOption('ignore-value', values['ignore-value'], undefined, 0, 65535)
  const seed = intOption('seed', values.seed, undefined, 0, LIMITS.seed)
  const maxEpochs = intOption('epochs', values.epochs, undefined, 1, LIMITS.epochs)
  const threads = intOption('threads', values.threads, undefined, 1, LIMITS.threads)
  if (existsSync(values.out)) throw new SegError('OUTPUT_CONFLICT', `--out ${values.out} already exists; expected a new folder (bundles are never overwritten)`)
  // Before minutes of training: --out inside an input or the base bundle, or in an unwritable folder.
  checkFolderOutput(values.out, { inputs: [...images, ...labels, values.model] })

  const base = await loadBundle(values.model)
  const scans: ScanLabels[] = []
  for (let i = 0; i < images.length; i++) {
    scans.push({
      name: images[i],
      image: await readVolume(images[i]),
      labels: await readVolume(labels[i]),
      labelledSlices: slices.length ? slices[slices.length === 1 ? 0 : i] : undefined,
      ignoreValue
    })
  }
  const bar = values.quiet ? undefined : createProgressBar()
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.once('SIGINT', onSigint)
  try {
    const result = await teach({
      base, scans, features, taps: values.taps?.split(','), space: values.space as 'scan' | 'base' | undefined, head: values.head as HeadKind, seed,
      largestComponent: values['largest-component'], labelNames: parseLabelNames(values['label-names']),
      maxEpochs, threads,
      name: values.name ?? path.basename(path.resolve(values.out)), signal: controller.signal,
      onProgress: (p) => bar?.update(p.fraction, p.epoch ? `epoch ${p.epoch.epoch} loss ${p.epoch.trainLoss.toFixed(4)} val ${p.epoch.validationLoss.toFixed(4)}` : p.message)
    })
    const bundle = await writeBundle(values.out, result.manifest, result.onnx)
    bar?.done(`taught ${result.history.length} epochs`)
    const names = (result.manifest.output.labels ?? []).map((l) => l.name)
    io.out(`label            ${'labelled voxels'.padStart(15)}  ${'validation Dice'.padStart(15)}`)
    result.values.forEach((v, c) => {
      const d = result.best.validationDice[c]
      io.out(`${`${v} ${names[c]}`.padEnd(16)} ${String(result.teachSet.counts[v]).padStart(15)}  ${(d === undefined || Number.isNaN(d) ? 'n/a' : d.toFixed(4)).padStart(15)}`)
    })
    io.out(`best epoch       ${result.best.epoch} of ${result.history.length} (validation loss ${result.best.validationLoss.toFixed(4)})`)
    io.out(`wrote ${bundle.dir}`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
  }
}
