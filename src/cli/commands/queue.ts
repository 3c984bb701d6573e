import { parseArgs } from 'node:util'
import { SegError } from '../../engine/errors'
import { loadBundle } from '../../engine/bundle/bundle'
import { listStudies } from '../../engine/batch/studies'
import { enqueueStudies, queueStatus, writeQueueReport, DEFAULT_ATTEMPTS } from '../../engine/batch/queue'
import { progressBar, progressLine } from '../../engine/batch/progress'
import { intOption } from './batch'
import type { CommandIO } from '../io'

export const usage = `segtransfer queue add --redis <url> --model <bundle> --inputs <folder | list.csv> --out-dir <dir>
        [--queue <name>] [--attempts N] [--no-refinement] [--force] [--retry-failed]
segtransfer queue status --redis <url> [--queue <name>]
segtransfer queue report --redis <url> --out-dir <dir> [--queue <name>]
    Distributed batches over BullMQ on Redis. 'add' queues one job per study (job id = content hash
    of the study's inputs, the bundle and the options: queuing again adds nothing); paths must be
    valid on the worker machines (shared storage). 'status' prints counts, rate and ETA; 'report'
    writes report.csv and report.html into the output folder. Workers: 'segtransfer worker'.
    'add --force' segments studies that grossly mismatch the model (they fail as unfit otherwise),
    with their fit warnings in the report; it does not change the job id, so studies that failed as
    unfit are queued again with 'add --force --retry-failed' (it re-runs the failed jobs).`

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv
  const { values } = parseArgs({
    args: rest,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string' },
      model: { type: 'string' },
      inputs: { type: 'string' },
      'out-dir': { type: 'string' },
      attempts: { type: 'string' },
      'no-refinement': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'retry-failed': { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  if (!['add', 'status', 'report'].includes(sub ?? '')) throw new SegError('BAD_ARGUMENT', `queue ${sub ?? ''}: unknown subcommand; expected add, status or report`)
  if (!values.redis) throw new SegError('BAD_ARGUMENT', 'missing --redis <redis://host:port>')
  const q = { redisUrl: values.redis, queue: values.queue }
  if (sub === 'status') {
    const s = await queueStatus(q)
    io.out(`${progressBar(s.counts)} ${progressLine(s.counts, s.elapsedMs)}`)
    io.out(`${s.counts.waiting} waiting, ${s.counts.delayed} waiting to retry`)
    for (const a of s.active) io.out(`  running ${a.id} ${a.progress}%`)
    return 0
  }
  if (!values['out-dir']) throw new SegError('BAD_ARGUMENT', 'missing --out-dir <folder for the outputs>')
  if (sub === 'report') {
    const r = await writeQueueReport({ ...q, outDir: values['out-dir'] })
    io.out(`wrote ${r.csv} (${r.rows} studies)`)
    io.out(`wrote ${r.html}`)
    return 0
  }
  if (!values.model) throw new SegError('BAD_ARGUMENT', 'missing --model <bundle folder>')
  if (!values.inputs) throw new SegError('BAD_ARGUMENT', 'missing --inputs <folder of volumes | list.csv>')
  const attempts = intOption('attempts', values.attempts, DEFAULT_ATTEMPTS, 1, 20)
  const bundle = await loadBundle(values.model)
  const studies = await listStudies(values.inputs, bundle.manifest.channels.length)
  const r = await enqueueStudies({ ...q, bundle, studies, outDir: values['out-dir'], refinement: !values['no-refinement'], force: values.force, retryFailed: values['retry-failed'], attempts })
  const retried = values['retry-failed'] ? `, ${r.retried} of them failed before and queued again` : ''
  io.out(`queued ${r.added} new jobs (${r.existing} already in the queue${retried}) of ${studies.length} studies`)
  return 0
}
