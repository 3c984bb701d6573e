import { parseArgs } from 'node:util'
import { SegError } from '../../engine/errors'
import { loadBundle } from '../../engine/bundle/bundle'
import type { Device } from '../../engine/pipeline/segment'
import { DEVICE_CHOICES } from '../../shared/contract'
import { listStudies } from '../../engine/batch/studies'
import { runBatch } from '../../engine/batch/batch'
import { MAX_WORKERS } from '../../engine/batch/pool'
import { progressBar, progressLine, type BatchCounts } from '../../engine/batch/progress'
import type { CommandIO } from '../io'

export const usage = `segtransfer batch --model <bundle> --inputs <folder | list.csv> --out-dir <dir>
        [--workers N] [--device ${DEVICE_CHOICES.join('|')}] [--no-refinement] [--retry-failed] [--force]
    Segment many studies on this machine with N worker processes (default 1), each with its own
    model session and floor(cores / N) threads. --inputs is a folder (one study per volume file) or
    a CSV 'id,<channel 1>,...' with one file per model channel. Writes studies/<id>.nii.gz,
    <id>_stats.csv and <id>_thumb.png, a journal, report.csv and report.html. Re-running skips the
    studies finished with the same inputs and bundle (failed ones too, unless --retry-failed);
    Ctrl-C stops cleanly and writes the report. Exit status 1 when a study failed.
    A study that grossly mismatches the model (CT for an MRI model) fails as unfit unless --force,
    which segments it and lists its fit warnings in the report. --force does not change a study's
    key (only whether it is segmented), so studies that failed as unfit are run with
    --force --retry-failed.`

/** Failed studies named in the summary; the rest are in report.csv. */
const MAX_FAILURES_LISTED = 10

/** A checked integer option: BAD_ARGUMENT naming the option and its range. */
export function intOption<T extends number | undefined>(name: string, raw: string | undefined, fallback: T, min: number, max: number): number | T {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!(Number.isInteger(n) && n >= min && n <= max)) throw new SegError('BAD_ARGUMENT', `--${name} ${raw} is out of range; expected an integer from ${min} to ${max}`)
  return n
}

export function checkDevice(device: string): Device {
  if (!(DEVICE_CHOICES as readonly string[]).includes(device)) throw new SegError('BAD_ARGUMENT', `--device ${device} is not known; expected one of ${DEVICE_CHOICES.join(', ')}`)
  return device as Device
}

/** Prints a progress bar with counts, rate and ETA: redrawn in place on a TTY, else one line per finished study. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { update(c: BatchCounts): void; done(): void } {
  const start = Date.now()
  let last = ''
  return {
    update(c) {
      const line = progressLine(c, Date.now() - start)
      if (stream.isTTY) stream.write(`\r${progressBar(c)} ${line}`.padEnd(120))
      else if (line !== last) stream.write(line + '\n')
      last = line
    },
    done() {
      if (stream.isTTY) stream.write('\n')
    }
  }
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      inputs: { type: 'string' },
      'out-dir': { type: 'string' },
      workers: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      quiet: { type: 'boolean', default: false },
      'no-refinement': { type: 'boolean', default: false },
      'retry-failed': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  if (!values.model) throw new SegError('BAD_ARGUMENT', 'missing --model <bundle folder>')
  if (!values.inputs) throw new SegError('BAD_ARGUMENT', 'missing --inputs <folder of volumes | list.csv>')
  if (!values['out-dir']) throw new SegError('BAD_ARGUMENT', 'missing --out-dir <folder for the outputs>')
  const workers = intOption('workers', values.workers, 1, 1, MAX_WORKERS)
  const device = checkDevice(values.device!)
  const bundle = await loadBundle(values.model)
  const studies = await listStudies(values.inputs, bundle.manifest.channels.length)
  const bar = values.quiet ? undefined : progressPrinter()
  const controller = new AbortController()
  const onSigint = () => {
    io.err('stopping: cancelling the studies in flight (Ctrl-C again to force)')
    controller.abort()
    process.once('SIGINT', () => process.exit(130))
  }
  process.once('SIGINT', onSigint)
  try {
    const r = await runBatch({ bundle, studies, outDir: values['out-dir'], workers, device, refinement: !values['no-refinement'], force: values.force, retryFailed: values['retry-failed'], signal: controller.signal, onProgress: (c) => bar?.update(c) })
    bar?.done()
    const c = r.counts
    io.out(`${c.done} done, ${c.failed} failed (${c.skipped} finished before this run), ${c.total - c.done - c.failed} not run, of ${c.total} studies`)
    for (const f of r.failures.slice(0, MAX_FAILURES_LISTED)) io.out(`failed ${f.id}: ${f.error}`)
    if (r.failures.length > MAX_FAILURES_LISTED) io.out(`... and ${r.failures.length - MAX_FAILURES_LISTED} more failed (see report.csv)`)
    io.out(`wrote ${r.report.csv}`)
    io.out(`wrote ${r.report.html}`)
    if (r.cancelled) return 130
    return c.failed > 0 ? 1 : 0
  } finally {
    process.off('SIGINT', onSigint)
  }
}
