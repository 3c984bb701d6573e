import { parseArgs } from 'node:util'
import path from 'node:path'
import { SegError } from '../../engine/errors'
import { boundedInt } from '../../engine/limits'
import { VOLUME_FLAG_HELP, joinVolumeValue, parseVolumeFlag } from '../volume-flag'
import { loadBundle } from '../../engine/bundle/bundle'
import { segment } from '../../engine/pipeline/segment'
import { DEVICE_CHOICES } from '../../shared/contract'
import { checkDevice } from './batch'
import { labelMapExtension, labelStatistics, prepareLabelMap, prepareStatistics, statisticsFormat, STATISTICS_TEMP_EXTENSION } from '../../engine/export'
import { createProgressBar } from '../progress'
import { canonicalPath, checkOutputPath, tempPathFor, writeOutputsAtomically, type OutputRules, type PendingOutput } from '../../engine/fs/atomic'
import type { CommandIO } from '../io'
import { isDicomSegPath, resolveInputs, writeSegOutput } from '../dicom-input'

export const usage = `segtransfer segment --model <bundle> --input <a.nii.gz> [--input <b.nii.gz> ...] --out <mask.nii.gz>
        [--device ${DEVICE_CHOICES.join('|')}] [--stats <stats.csv|stats.json>] [--threads N] [--no-refinement] [--overwrite] [--force]
        [--series <number or UID>] [--volume N]
    Segment one case: one --input per model channel, in the bundle's channel order. The mask is
    written on exactly the first input's grid (.nii.gz, .nii or .nrrd; .dcm writes DICOM-SEG
    referencing a DICOM input). A DICOM folder or file as --input opens its one image series,
    or the one --series names. ${VOLUME_FLAG_HELP} --no-refinement keeps the
    model's own tissue split where the bundle refits it to the scan's intensities (output.refinement).
    Existing files are replaced only with --overwrite (inputs and model bundles never); all outputs
    are written together at the end, or none. Ctrl-C stops at once and writes nothing (status 130).
    A scan that grossly mismatches what the bundle accepts (manifest "accepts", e.g. CT for an MRI
    model) is refused unless --force; smaller mismatches print "warning:" lines.`

/** The extension of --out's temp file: the writers (dcmqi, itk-wasm) choose the format by it. */
const outExtension = (out: string): string => (isDicomSegPath(out) ? '.dcm' : labelMapExtension(out))

/**
 * Refuses bad outputs (extension, same file twice, the rules of checkOutputPath, a name with no
 * room for its temp file beside it: tempPathFor) before any work.
 */
function checkOutputs(out: string, stats: string | undefined, rules: OutputRules): void {
  const extension = outExtension(out)
  if (stats !== undefined) {
    statisticsFormat(stats)
    if (canonicalPath(stats) === canonicalPath(out)) {
      throw new SegError('OUTPUT_CONFLICT', `--stats and --out are the same file ${path.resolve(out)}; expected two different paths`)
    }
  }
  checkOutputPath(out, rules)
  if (stats !== undefined) checkOutputPath(stats, rules)
  tempPathFor(out, extension)
  if (stats !== undefined) tempPathFor(stats, STATISTICS_TEMP_EXTENSION)
}

/** Writes the outputs all or nothing; Ctrl-C meanwhile is caught: what was written is removed, exit 130. */
async function writeAllOrNothing(outputs: PendingOutput[], rules: OutputRules): Promise<void> {
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.once('SIGINT', onSigint)
  try {
    await writeOutputsAtomically(outputs, { overwrite: rules.overwrite, signal: controller.signal })
  } finally {
    process.off('SIGINT', onSigint)
  }
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: joinVolumeValue(argv),
    options: {
      model: { type: 'string' },
      input: { type: 'string', multiple: true },
      out: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      stats: { type: 'string' },
      threads: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'no-refinement': { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      series: { type: 'string' },
      volume: { type: 'string' },
      force: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  if (!values.model) throw new SegError('BAD_ARGUMENT', 'missing --model <bundle folder>')
  if (!values.input?.length) throw new SegError('BAD_ARGUMENT', 'missing --input <volume> (one per model channel)')
  if (!values.out) throw new SegError('BAD_ARGUMENT', 'missing --out <mask.nii.gz>')
  const device = checkDevice(values.device!)
  const threads = values.threads === undefined ? undefined : Number(values.threads)
  if (threads !== undefined) boundedInt('--threads', threads, 'threads')
  const volume = parseVolumeFlag(values.volume)

  let rules: OutputRules = { inputs: values.input, overwrite: values.overwrite, protectedDirs: [values.model] }
  checkOutputs(values.out, values.stats, rules) // before the run, not after a minute of inference
  const bundle = await loadBundle(values.model)
  const resolved = await resolveInputs(values.input, values.series, values.out)
  const bar = values.quiet ? undefined : createProgressBar()
  // No SIGINT handler while computing: the model call (onnxruntime-node runs it synchronously on
  // this thread) and the post-processing block the event loop, so a JS handler would only run when
  // they end. Ctrl-C therefore ends the process at once, by the signal (the shell reports 130);
  // no output exists yet, so nothing is left behind.
  const result = await segment({
    bundle,
    inputs: resolved.inputs,
    device,
    threads,
    volume,
    refinement: !values['no-refinement'],
    force: values.force,
    onProgress: (p) => bar?.update(p.fraction, p.message)
  })
  rules = { ...rules, inputs: [...values.input, ...result.inputFiles] } // the files actually read
  const names = Object.fromEntries(bundle.manifest.output.labels.map((l) => [l.value, l.name]))
  const stats = labelStatistics(result.labels, names)
  const out = values.out
  const outputs: PendingOutput[] = isDicomSegPath(out)
    ? [{ path: out, extension: outExtension(out), write: (temp) => writeSegOutput(result.labels, resolved, bundle.manifest, out, temp) }]
    : [prepareLabelMap(result.labels, out, { like: result.reference, ...rules })]
  if (values.stats) outputs.push(prepareStatistics(stats, values.stats, rules))
  await writeAllOrNothing(outputs, rules)
  bar?.done(`segmented with ${bundle.manifest.name} on ${result.provider}`)
  for (const n of result.notes) io.err(`note: ${n}`)
  for (const w of result.warnings) io.err(`warning: ${w}`)
  io.out(`wrote ${path.resolve(values.out)}`)
  for (const s of stats) io.out(`  ${String(s.value).padStart(3)} ${s.name.padEnd(20)} ${String(s.voxels).padStart(10)} voxels ${s.volumeMl.toFixed(2).padStart(10)} mL`)
  if (result.classification) {
    const { classes, probabilities } = result.classification
    const best = probabilities.indexOf(Math.max(...probabilities))
    io.out(`classification: ${classes[best]} (${classes.map((c, i) => `${c} ${probabilities[i].toFixed(3)}`).join(', ')})`)
  }
  if (values.stats) io.out(`wrote ${path.resolve(values.stats)}`)
  return 0
}
