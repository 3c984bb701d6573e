import { parseArgs } from 'node:util'
import path from 'node:path'
import { SegError } from '../../engine/errors'
import { loadBundle } from '../../engine/bundle/bundle'
import { segment, type Device } from '../../engine/pipeline/segment'
import { writeLabelMap, labelStatistics, writeStatistics } from '../../engine/export'
import { createProgressBar } from '../progress'
import { checkOutputPath } from '../../engine/fs/atomic'
import type { CommandIO } from '../io'
import { isDicomSegPath, resolveInputs, writeSegOutput } from '../dicom-input'

export const usage = `segtransfer segment --model <bundle> --input <a.nii.gz> [--input <b.nii.gz> ...] --out <mask.nii.gz>
        [--device auto|cpu|cuda|dml|coreml] [--stats <stats.csv|stats.json>] [--threads N] [--no-refinement]
        [--series <number or UID>]
    Segment one case: one --input per model channel, in the bundle's channel order. The mask is
    written on exactly the first input's grid (.nii.gz, .nii or .nrrd; .dcm writes DICOM-SEG
    referencing a DICOM input). A DICOM folder or file as --input opens its one image series,
    or the one --series names. --no-refinement keeps the
    model's own tissue split where the bundle refits it to the scan's intensities (output.refinement).`

const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml']

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      input: { type: 'string', multiple: true },
      out: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      stats: { type: 'string' },
      threads: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'no-refinement': { type: 'boolean', default: false },
      series: { type: 'string' }
    },
    strict: true,
    allowPositionals: false
  })
  if (!values.model) throw new SegError('BAD_ARGUMENT', 'missing --model <bundle folder>')
  if (!values.input?.length) throw new SegError('BAD_ARGUMENT', 'missing --input <volume> (one per model channel)')
  if (!values.out) throw new SegError('BAD_ARGUMENT', 'missing --out <mask.nii.gz>')
  if (!DEVICES.includes(values.device!)) throw new SegError('BAD_ARGUMENT', `--device ${values.device} is not known; expected one of ${DEVICES.join(', ')}`)
  const threads = values.threads === undefined ? undefined : Number(values.threads)
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new SegError('BAD_ARGUMENT', `--threads must be a positive integer, got ${values.threads}`)

  checkOutputPath(values.out, values.input) // before the run, not after a minute of inference
  if (values.stats) checkOutputPath(values.stats, values.input)
  const bundle = await loadBundle(values.model)
  const resolved = await resolveInputs(values.input, values.series, values.out)
  const bar = values.quiet ? undefined : createProgressBar()
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.once('SIGINT', onSigint)
  try {
    const result = await segment({
      bundle,
      inputs: resolved.inputs,
      device: values.device as Device,
      threads,
      refinement: !values['no-refinement'],
      signal: controller.signal,
      onProgress: (p) => bar?.update(p.fraction, p.message)
    })
    if (isDicomSegPath(values.out)) await writeSegOutput(result.labels, resolved, bundle.manifest, values.out)
    else await writeLabelMap(result.labels, values.out, { like: result.reference, inputs: values.input })
    bar?.done(`segmented with ${bundle.manifest.name} on ${result.provider}`)
    for (const n of result.notes) io.err(`note: ${n}`)
    const names = Object.fromEntries(bundle.manifest.output.labels.map((l) => [l.value, l.name]))
    const stats = labelStatistics(result.labels, names)
    if (values.stats) await writeStatistics(stats, values.stats)
    io.out(`wrote ${path.resolve(values.out)}`)
    for (const s of stats) io.out(`  ${String(s.value).padStart(3)} ${s.name.padEnd(20)} ${String(s.voxels).padStart(10)} voxels ${s.volumeMl.toFixed(2).padStart(10)} mL`)
    if (result.classification) {
      const { classes, probabilities } = result.classification
      const best = probabilities.indexOf(Math.max(...probabilities))
      io.out(`classification: ${classes[best]} (${classes.map((c, i) => `${c} ${probabilities[i].toFixed(3)}`).join(', ')})`)
    }
    if (values.stats) io.out(`wrote ${path.resolve(values.stats)}`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
  }
}
