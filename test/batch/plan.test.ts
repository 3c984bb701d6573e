/**
 * The batch's bookkeeping without a model run: the journal (torn last line, corrupt lines), study
 * keys (inputs, bundle and options), the planner, study listing from folders and CSVs, and the
 * progress numbers.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { LOCK_FILE } from '../../src/engine/batch/lock'
import { JournalWriter, parseJournal, readJournal, type StudyRecord } from '../../src/engine/batch/journal'
import { keyStudies, planBatch } from '../../src/engine/batch/plan'
import { studyKey } from '../../src/engine/batch/hash'
import { listStudies } from '../../src/engine/batch/studies'
import { batchRate, progressBar, progressLine } from '../../src/engine/batch/progress'
import { threadsPerWorker } from '../../src/engine/batch/pool'
import { studyOutputs } from '../../src/engine/batch/study'
import { writeStudies } from './fixtures'

const record = (key: string, status: StudyRecord['status'] = 'done'): StudyRecord => ({
  key, id: key, inputs: [], status, seconds: 1, worker: 'w', finishedAt: new Date().toISOString(), outputs: status === 'done' ? studyOutputs(key) : undefined
})

describe('batch journal', () => {
  const tmp = tempDir('segtransfer-journal-')
  afterAll(() => tmp.cleanup())

  it('reads back what was appended and skips a torn last line (a process killed mid-write)', () => {
    const w = new JournalWriter(tmp.dir, 'host-1')
    w.append(record('a'))
    w.append(record('b', 'failed'))
    w.close()
    appendFileSync(join(tmp.dir, 'journal', 'host-1.jsonl'), '{"key":"c","id":"c","sta')
    expect(readJournal(tmp.dir).map((r) => r.key)).toEqual(['a', 'b'])
  })

  it('refuses a corrupt line that is not the last, naming the file and line', () => {
    expect(() => parseJournal('{"key":"a"}\n{"key":"a","id":"a","status":"done"}\n', 'j.jsonl')).toThrow(/^j\.jsonl line 1 is not a journal record; expected one JSON study record per line/)
  })
})

describe('batch keys and planner', () => {
  const tmp = tempDir('segtransfer-plan-')
  afterAll(() => tmp.cleanup())

  it('changes a study\'s key when its input bytes, the bundle or the refinement option change, and not otherwise', async () => {
    const dir = join(tmp.dir, 'in')
    mkdirSync(dir)
    writeStudies(dir, 2)
    const studies = await listStudies(dir, 1)
    const [a, b] = await keyStudies(studies, 'bundle-1', { refinement: true })
    expect((await keyStudies(studies, 'bundle-1', { refinement: true }))[0].key).toBe(a.key)
    expect((await keyStudies(studies, 'bundle-2', { refinement: true }))[0].key).not.toBe(a.key)
    expect((await keyStudies(studies, 'bundle-1', { refinement: false }))[0].key).not.toBe(a.key)
    copyFileSync(studies[1].inputs[0], studies[0].inputs[0]) // new bytes under the same name
    const [a2, b2] = await keyStudies(studies, 'bundle-1', { refinement: true })
    expect(a2.key).not.toBe(a.key)
    expect(b2.key).toBe(b.key)
    expect(studyKey('x', ['h'], 'b', { refinement: true })).toMatch(/^[0-9a-f]{40}$/)
  })

  it('runs what is new, changed, or done with its outputs gone; skips done and failed (unless retryFailed)', () => {
    const out = join(tmp.dir, 'out')
    mkdirSync(join(out, 'studies'), { recursive: true })
    for (const p of Object.values(studyOutputs('done'))) writeFileSync(join(out, p), 'x')
    const keyed = ['done', 'gone', 'failed', 'new'].map((k) => ({ id: k, inputs: [], key: k }))
    const journal = [record('done'), record('gone'), record('failed', 'failed')]
    const plan = planBatch(keyed, journal, out)
    expect(plan.todo.map((s) => s.id)).toEqual(['gone', 'new'])
    expect(plan.finished.map((r) => r.key)).toEqual(['done', 'failed'])
    expect(planBatch(keyed, journal, out, { retryFailed: true }).todo.map((s) => s.id)).toEqual(['gone', 'failed', 'new'])
  })

  it('keeps a study whose input cannot be read, with the reason, instead of stopping', async () => {
    const [s] = await keyStudies([{ id: 'x', inputs: [join(tmp.dir, 'missing.nii.gz')] }], 'b', { refinement: true })
    expect(s.unreadable).toMatch(/missing\.nii\.gz could not be read/)
  })
})

describe('batch study listing', () => {
  const tmp = tempDir('segtransfer-list-')
  afterAll(() => tmp.cleanup())

  it('lists a folder\'s volume files as studies (hidden and other files skipped, a .hdr/.img pair once) and refuses a folder for a multi-channel bundle', async () => {
    writeStudies(tmp.dir, 2)
    writeFileSync(join(tmp.dir, 'notes.txt'), 'x')
    writeFileSync(join(tmp.dir, '.hidden.nii.gz'), 'x')
    expect((await listStudies(tmp.dir, 1)).map((s) => s.id)).toEqual(['t1_RAS_00', 't2_00'])
    // an .hdr/.img pair is one study
    writeFileSync(join(tmp.dir, 'analyze.hdr'), 'x')
    writeFileSync(join(tmp.dir, 'analyze.img'), 'x')
    expect((await listStudies(tmp.dir, 1)).map((s) => [s.id, s.inputs[0].slice(-3)])).toEqual([['analyze', 'hdr'], ['t1_RAS_00', '.gz'], ['t2_00', '.gz']])
    await expect(listStudies(tmp.dir, 2)).rejects.toThrow(/the bundle takes 2 channels; expected --inputs to be a CSV/)
  })

  it('reads a CSV with one file per channel, relative to the CSV, and refuses bad rows in one line', async () => {
    const csv = join(tmp.dir, 'list.csv')
    writeFileSync(csv, 'id,t1,flair\ncase-1,t1_RAS_00.nii.gz,"t2_00.nii.gz"\n,t2_00.nii.gz,t1_RAS_00.nii.gz\n')
    const studies = await listStudies(csv, 2)
    expect(studies).toEqual([
      { id: 'case-1', inputs: [join(tmp.dir, 't1_RAS_00.nii.gz'), join(tmp.dir, 't2_00.nii.gz')] },
      { id: 't2_00', inputs: [join(tmp.dir, 't2_00.nii.gz'), join(tmp.dir, 't1_RAS_00.nii.gz')] }
    ])
    await expect(listStudies(csv, 1)).rejects.toThrow(/header is 'id,t1,flair'; expected 'id' and then 1 column, one per model channel/)
    writeFileSync(csv, 'id,t1\ncase/1,a.nii.gz\n')
    await expect(listStudies(csv, 1)).rejects.toThrow(/list\.csv row 2: study id 'case\/1' is not usable as a file name/)
    writeFileSync(csv, 'id,t1\na,a.nii.gz\na,b.nii.gz\n')
    await expect(listStudies(csv, 1)).rejects.toThrow(/two studies have the id 'a'/)
    await expect(listStudies(join(tmp.dir, 'notes.txt'), 1)).rejects.toThrow(/is neither a folder nor a \.csv/)
  })
})

describe('batch progress and threads', () => {
  it('computes the rate from the studies finished in this run and the ETA from the rest', () => {
    const c = { total: 10, done: 5, failed: 1, skipped: 2 }
    expect(batchRate(c, 60_000)).toEqual({ perMinute: 4, etaSeconds: 60 })
    expect(progressLine(c, 60_000)).toBe('6/10 finished: 5 done (2 from before), 1 failed | 4.0 studies/min | ETA 60 s')
    expect(batchRate({ total: 3, done: 0, failed: 0, skipped: 0 }, 1000).etaSeconds).toBeUndefined()
    expect(progressBar(c, 10)).toBe('[######....]')
  })

  it('gives each worker process floor(cores / workers) threads, at least one', () => {
    expect(threadsPerWorker(2, 16)).toBe(8)
    expect(threadsPerWorker(3, 16)).toBe(5)
    expect(threadsPerWorker(4, 2)).toBe(1)
  })
})

describe('batch and queue commands: bad arguments', () => {
  const tmp = tempDir('segtransfer-batch-args-')
  afterAll(() => tmp.cleanup())
  const DEMO_BUNDLE = join(REPO, 'resources/models/demo-tissue')

  it('refuses out-of-range numbers, missing inputs and a folder in use by another batch, in one line each', async () => {
    const base = ['batch', '--model', DEMO_BUNDLE, '--out-dir', tmp.dir]
    expect((await cli(...base, '--inputs', tmp.dir, '--workers', '0')).err).toBe('error: --workers 0 is out of range; expected an integer from 1 to 64')
    expect((await cli(...base, '--inputs', join(tmp.dir, 'nope'))).err).toMatch(/^error: \S+nope does not exist; expected a folder of volumes or a \.csv list$/)
    expect((await cli('worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '65')).err).toBe('error: --concurrency 65 is out of range; expected an integer from 1 to 64')
    expect((await cli('queue', 'add', '--redis', 'redis://127.0.0.1:1', '--model', DEMO_BUNDLE, '--inputs', tmp.dir, '--out-dir', tmp.dir, '--attempts', '99')).err).toBe('error: --attempts 99 is out of range; expected an integer from 1 to 20')
    expect((await cli('queue', 'drop', '--redis', 'redis://127.0.0.1:1')).err).toBe('error: queue drop: unknown subcommand; expected add, status or report')
    const inputs = join(tmp.dir, 'in')
    mkdirSync(inputs)
    writeStudies(inputs, 1)
    writeFileSync(join(tmp.dir, LOCK_FILE), String(process.ppid)) // a live process holds the folder
    const busy = await cli(...base, '--inputs', inputs)
    expect(busy.code).toBe(2)
    expect(busy.err).toMatch(/is in use by another batch \(pid \d+\); expected one batch per output folder$/)
  })
})

describe('report.csv', () => {
  it('escapes study ids and errors a spreadsheet would run as formulas (leading =, +, -, @)', async () => {
    const { reportCsv } = await import('../../src/engine/batch/report')
    const rec: StudyRecord = {
      key: 'k', id: '=HYPERLINK("http://x")', inputs: ['/d/a.nii.gz'], status: 'failed', error: '-1+2 bad', seconds: 1, worker: 'w', finishedAt: '2026-01-01T00:00:00Z'
    }
    const row = reportCsv([rec]).split('\n')[1]
    expect(row.startsWith(`"'=HYPERLINK(""http://x"")",failed,"'-1+2 bad"`)).toBe(true)
  })
})
