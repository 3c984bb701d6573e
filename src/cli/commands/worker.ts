import { parseArgs } from 'node:util'
import { SegError } from '../../engine/errors'
import { startWorker } from '../../engine/batch/queue'
import { MAX_WORKERS } from '../../engine/batch/pool'
import { intOption, checkDevice } from './batch'
import type { CommandIO } from '../io'

export const usage = `segtransfer worker --redis <url> [--concurrency 1] [--queue <name>] [--device auto|cpu|cuda|dml|coreml]
        [--lock-ms 30000] [--stalled-ms 30000]
    Runs queued studies ('segtransfer queue add') until stopped (Ctrl-C or SIGTERM finish the jobs in
    flight first). Run one per machine; --concurrency studies at once, each in its own process with
    floor(cores / concurrency) threads. A worker silent for --lock-ms is taken as dead and its job
    is given to another worker.`

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      'lock-ms': { type: 'string' },
      'stalled-ms': { type: 'string' }
    },
    strict: true,
    allowPositionals: false
  })
  if (!values.redis) throw new SegError('BAD_ARGUMENT', 'missing --redis <redis://host:port>')
  const ms = (name: string, raw: string | undefined) => (raw === undefined ? undefined : intOption(name, raw, 0, 500, 3_600_000))
  const worker = await startWorker({
    redisUrl: values.redis,
    queue: values.queue,
    concurrency: intOption('concurrency', values.concurrency, 1, 1, MAX_WORKERS),
    device: checkDevice(values.device!),
    lockDurationMs: ms('lock-ms', values['lock-ms']),
    stalledIntervalMs: ms('stalled-ms', values['stalled-ms']),
    onEvent: (event, j) => io.out(`${event} ${j.id} job ${j.jobId}${j.detail ? `: ${j.detail}` : ''}`)
  })
  io.out(`worker ${process.pid} waiting for jobs on ${values.redis}`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  io.err('stopping: finishing the jobs in flight (Ctrl-C again to stop at once: their jobs go back to the queue)')
  const force = () => process.exit(130)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await worker.close()
  return 0
}
