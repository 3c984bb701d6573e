/**
 * Distributed mode on a real redis-server (Debian's, on a free port): 20 jobs, 3 worker processes,
 * one SIGKILLed in the middle of a job. BullMQ's stalled-job recovery must hand that job to another
 * worker, and every study must end exactly once: one set of outputs, one journal record, one row.
 * With the shipped brain-MRI bundle, a CT job fails as unfit and `queue add --force --retry-failed` runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { readJournal } from '../../src/engine/batch/journal'
import { connect } from '../../src/engine/batch/queue'
import { BRAIN, DEMO, UNFIT_FAILURE, filesIn, readCsv, spawnCli, startRedis, writeFitAndUnfit, writeStudies } from './fixtures'

const QUEUE = 'segtransfer-test'
const haveRedis = spawnSync('redis-server', ['--version']).status === 0
if (!haveRedis) console.warn('queue tests skipped: no redis-server on PATH (apt-get install redis-server; .ci/run does)')

describe.skipIf(!haveRedis)('segtransfer queue + 3 workers, one killed mid-job', () => {
  const tmp = tempDir('segtransfer-queue-')
  const inputs = join(tmp.dir, 'in')
  const out = join(tmp.dir, 'out')
  let redis: Awaited<ReturnType<typeof startRedis>>
  let workers: ReturnType<typeof spawnCli>[] = []

  beforeAll(async () => {
    redis = await startRedis()
    mkdirSync(inputs)
    writeStudies(inputs, 20)
  })
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM')
    await Promise.all(workers.map((w) => w.exited))
    await redis?.stop()
    tmp.cleanup()
  })

  it('rejects a Redis URL that is not one, and an unreachable server, in one line', async () => {
    const bad = await cli('queue', 'status', '--redis', 'localhost:6379')
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^error: --redis localhost:6379 is not a Redis URL; expected redis:\/\/host:port/)
    const down = await cli('queue', 'status', '--redis', 'redis://127.0.0.1:1')
    expect(down.code).toBe(2)
    expect(down.err).toMatch(/^error: could not reach Redis at redis:\/\/127\.0\.0\.1:1 .*expected a running redis-server$/)
  })

  it('queues 20 jobs once (re-queuing adds none)', async () => {
    const add = ['queue', 'add', '--redis', redis.url, '--queue', QUEUE, '--model', DEMO, '--inputs', inputs, '--out-dir', out]
    expect((await cli(...add)).out).toBe('queued 20 new jobs (0 already in the queue) of 20 studies')
    expect((await cli(...add)).out).toBe('queued 0 new jobs (20 already in the queue) of 20 studies')
  })

  it('completes all 20 exactly once after a worker is SIGKILLed mid-job; the killed job is retried by another worker', async () => {
    // Short lock and stall check so that the dead worker's job is recovered within seconds.
    const start = () => spawnCli(['worker', '--redis', redis.url, '--queue', QUEUE, '--concurrency', '1', '--device', 'cpu', '--lock-ms', '3000', '--stalled-ms', '1000'])
    const victim = start()
    workers = [victim]
    const started = await victim.waitFor(/^started \S+ job [0-9a-f]{40}$/)
    const killedJob = started.split(' ').at(-1)!
    workers.push(start(), start())
    victim.child.kill('SIGKILL')
    await victim.exited
    expect(victim.lines.some((l) => l.startsWith('done '))).toBe(false) // it never finished that job

    const connection = await connect(redis.url, true)
    const queue = new Queue(QUEUE, { connection })
    try {
      const deadline = Date.now() + 150_000
      let counts: Record<string, number> = {}
      while (Date.now() < deadline) {
        counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting')
        if (counts.completed + counts.failed === 20) break
        await new Promise((r) => setTimeout(r, 500))
      }
      expect(counts).toMatchObject({ completed: 20, failed: 0 })
      const job = await queue.getJob(killedJob)
      const survivors = workers.slice(1).map((w) => w.child.pid)
      expect(survivors.some((pid) => job!.returnvalue.worker.endsWith(`-${pid}`)), job!.returnvalue.worker).toBe(true)
      expect(workers.slice(1).flatMap((w) => w.lines).filter((l) => l.endsWith(`job ${killedJob}`)).map((l) => l.split(' ')[0])).toEqual(['started', 'done'])
    } finally {
      await queue.close()
      connection.disconnect()
    }
    // exactly once: one record per study in the journal, one set of outputs, no temp file
    const journal = readJournal(out)
    expect(journal).toHaveLength(20)
    expect(new Set(journal.map((r) => r.id)).size).toBe(20)
    const files = filesIn(join(out, 'studies'))
    expect(files.filter((f) => f.includes('.partial-'))).toEqual([])
    expect(files).toHaveLength(60)

    const report = await cli('queue', 'report', '--redis', redis.url, '--queue', QUEUE, '--out-dir', out)
    expect(report.code, report.err).toBe(0)
    const rows = readCsv(join(out, 'report.csv'))
    expect(rows).toHaveLength(20)
    const byId = new Map(journal.map((r) => [r.id, r]))
    for (const row of rows) {
      const rec = byId.get(row.id)!
      expect(row.status).toBe('done')
      for (const l of rec.labels!) expect(Number(row[`${l.name} (mL)`])).toBe(l.volumeMl)
    }
    const status = await cli('queue', 'status', '--redis', redis.url, '--queue', QUEUE)
    expect(status.out).toMatch(/^\[#{20}\] 20\/20 finished: 20 done, 0 failed \| [\d.]+ studies\/min \| ETA 0 s/)
  })

  it('retries with backoff a job whose study process crashed, and journals only the attempt that finished', async () => {
    const q = `${QUEUE}-retry`
    const one = join(tmp.dir, 'one')
    const outOne = join(tmp.dir, 'out-one')
    mkdirSync(one)
    writeStudies(one, 1)
    expect((await cli('queue', 'add', '--redis', redis.url, '--queue', q, '--model', DEMO, '--inputs', one, '--out-dir', outOne, '--attempts', '2')).code).toBe(0)
    const w = spawnCli(['worker', '--redis', redis.url, '--queue', q, '--device', 'cpu'])
    workers.push(w)
    await w.waitFor(/^started /)
    const [child] = execFileSync('pgrep', ['-P', String(w.child.pid)], { encoding: 'utf8' }).trim().split('\n')
    process.kill(Number(child), 'SIGKILL') // the study's process, not the worker
    await w.waitFor(/^failed t1_RAS_00 job \S+: the worker process stopped during this study \(SIGKILL\)/)
    await w.waitFor(/^done t1_RAS_00 /, 60_000)
    expect(w.lines.filter((l) => l.startsWith('started '))).toHaveLength(2)
    const journal = readJournal(outOne)
    expect(journal.map((r) => r.status)).toEqual(['done'])
  })

  it('fails a CT job as unfit (MODEL_UNFIT, with the hint) and runs the brain one; queue add --force --retry-failed runs the CT again, its fit warnings in the report', async () => {
    const q = `${QUEUE}-force`
    const inputs = join(tmp.dir, 'fit')
    const outFit = join(tmp.dir, 'out-fit')
    mkdirSync(inputs)
    writeFitAndUnfit(inputs)
    const add = ['queue', 'add', '--redis', redis.url, '--queue', q, '--model', BRAIN, '--inputs', inputs, '--out-dir', outFit]
    expect((await cli(...add)).out).toBe('queued 2 new jobs (0 already in the queue) of 2 studies')
    const w = spawnCli(['worker', '--redis', redis.url, '--queue', q, '--device', 'cpu'])
    workers.push(w)
    const failed = await w.waitFor(/^failed spleen_ct job /)
    expect(failed.replace(/^failed spleen_ct job \S+: /, '')).toMatch(UNFIT_FAILURE)
    await w.waitFor(/^done t1_RAS /)

    const again = await cli(...add, '--force', '--retry-failed')
    expect(again.out).toBe('queued 0 new jobs (2 already in the queue, 1 of them failed before and queued again) of 2 studies')
    await w.waitFor(/^done spleen_ct /)
    w.child.kill('SIGTERM')
    await w.exited
    expect(readJournal(outFit).map((r) => `${r.id} ${r.status}`).sort()).toEqual(['spleen_ct done', 'spleen_ct failed', 't1_RAS done'])
    expect((await cli('queue', 'report', '--redis', redis.url, '--queue', q, '--out-dir', outFit)).code).toBe(0)
    const ct = readCsv(join(outFit, 'report.csv')).find((r) => r.id === 'spleen_ct')!
    expect(ct).toMatchObject({ status: 'done', error: '' })
    expect(ct.warnings).toMatch(/^spleen_ct\.nii\.gz looks like CT .*the model accepts MRI( \| |$)/)
  })
})
