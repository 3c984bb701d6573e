/**
 * `segtransfer batch` end to end on real public scans with the demo bundle: a 12-study batch with
 * one corrupt file (report.csv against the per-study statistics, report.html in Chromium), and a
 * batch killed with SIGKILL half-way then resumed; with the shipped brain-MRI bundle, a CT refused as
 * unfit without --force and segmented, with its fit warnings, by --force --retry-failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { REPO, tempDir } from '../helpers/data'
import { cli } from '../cli/run-cli'
import { readJournal } from '../../src/engine/batch/journal'
import { BRAIN, DEMO, UNFIT_FAILURE, cohortDirs, filesIn, mtimes, readCsv, spawnCli, writeFitAndUnfit, writeStudies } from './fixtures'

const CHROMIUM = process.env.SEGTRANSFER_CHROMIUM ?? '/usr/bin/chromium'
const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === '1'
const partials = (dir: string) => filesIn(dir).filter((f) => f.includes('.partial-'))

describe('segtransfer batch: 12 studies, one corrupt', () => {
  const tmp = tempDir('segtransfer-batch-')
  const inputs = join(tmp.dir, 'in')
  const out = join(tmp.dir, 'out')
  let result: { code: number; out: string; err: string }

  beforeAll(async () => {
    mkdirSync(inputs)
    writeStudies(inputs, 12, true)
    result = await cli('batch', '--model', DEMO, '--inputs', inputs, '--out-dir', out, '--workers', '2', '--device', 'cpu', '--quiet')
  })
  afterAll(() => tmp.cleanup())

  it('records 11 done and 1 failed with its one-line error, and exits 1', () => {
    expect(result.code, result.err).toBe(1)
    const rows = readCsv(join(out, 'report.csv'))
    expect(rows).toHaveLength(12)
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(11)
    const failed = rows.filter((r) => r.status === 'failed')
    expect(failed.map((r) => r.id)).toEqual(['corrupt'])
    expect(failed[0].error).toMatch(/corrupt\.nii\.gz is truncated or corrupt/)
    expect(rows[0].id).toBe('corrupt') // failed first
    expect(partials(join(out, 'studies'))).toEqual([])
  })

  it('reports the same volumes in report.csv as in each study\'s statistics file', () => {
    const rows = readCsv(join(out, 'report.csv')).filter((r) => r.status === 'done')
    for (const r of rows) {
      const stats = readCsv(join(out, 'studies', `${r.id}_stats.csv`))
      expect(stats.length).toBeGreaterThan(0)
      for (const s of stats) expect(Number(r[`${s.name} (mL)`]), `${r.id} ${s.name}`).toBe(Number(s.volume_ml))
      expect(stats.some((s) => Number(s.volume_ml) > 0)).toBe(true)
    }
  })

  it('writes one mask, statistics file and thumbnail per done study, and journals each study once', () => {
    const files = filesIn(join(out, 'studies'))
    expect(files).toHaveLength(33)
    const journal = readJournal(out)
    expect(journal).toHaveLength(12)
    expect(new Set(journal.map((r) => r.key)).size).toBe(12)
    const png = readFileSync(join(out, 'studies', files.find((f) => f.endsWith('_thumb.png'))!))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
  })

  it('skips every finished study when run again', async () => {
    const before = mtimes(join(out, 'studies'))
    const again = await cli('batch', '--model', DEMO, '--inputs', inputs, '--out-dir', out, '--device', 'cpu', '--quiet')
    expect(again.out).toMatch(/11 done, 1 failed \(12 finished before this run\)/)
    expect(mtimes(join(out, 'studies'))).toEqual(before)
    expect(readJournal(out)).toHaveLength(12)
  })

  it.skipIf(!existsSync(CHROMIUM))('report.html opens offline in Chromium with 12 rows and 11 thumbnails, failed first', async () => {
    const ctx = await chromium.launchPersistentContext(join(tmp.dir, 'profile'), {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1100, height: 760 },
      offline: true
    })
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage())
      await page.goto(`file://${join(out, 'report.html')}`)
      await page.waitForFunction('[...document.images].every((i) => i.complete)')
      expect(await page.locator('tbody tr').count()).toBe(12)
      const loaded = await page.evaluate('[...document.images].filter((i) => i.naturalWidth > 0).length')
      expect(loaded).toBe(11)
      expect(await page.locator('tbody tr').first().getAttribute('data-id')).toBe('corrupt')
      if (UPDATE_DOCS) writeFileSync(join(REPO, 'docs/screenshot-batch-report.png'), await page.screenshot())
      await page.locator('th', { hasText: 'grey matter (mL)' }).click() // sorting works offline too
      const first = await page.locator('tbody tr').first().getAttribute('class')
      expect(first).toBe('done')
    } finally {
      await ctx.close()
    }
  })
})

describe('segtransfer batch killed with SIGKILL half-way', () => {
  const tmp = tempDir('segtransfer-batch-kill-')
  afterAll(() => tmp.cleanup())

  it('resumes: finishes the rest, does not redo the finished studies, leaves no partial file', async () => {
    const { inputs, out } = cohortDirs(tmp.dir, (d) => writeStudies(d, 12, true))
    const args = ['batch', '--model', DEMO, '--inputs', inputs, '--out-dir', out, '--workers', '1', '--device', 'cpu']
    const first = spawnCli(args)
    await first.waitFor(/^6\/12 finished/)
    first.child.kill('SIGKILL')
    await first.exited
    const journaled = readJournal(out)
    expect(journaled.length).toBeGreaterThanOrEqual(6)
    expect(journaled.length).toBeLessThan(12)
    const doneBefore = journaled.filter((r) => r.status === 'done')
    const studiesDir = join(out, 'studies')
    const before = mtimes(studiesDir)

    const second = await cli('batch', ...args.slice(1), '--quiet')
    expect(second.code, second.err).toBe(1)
    expect(partials(studiesDir)).toEqual([])
    expect(filesIn(out).filter((f) => f.includes('.partial-'))).toEqual([])
    // the finished studies were not redone: outputs untouched, one journal record each
    const after = mtimes(studiesDir)
    for (const r of doneBefore) for (const p of Object.values(r.outputs!)) expect(after.get(p.split('/')[1]), p).toBe(before.get(p.split('/')[1]))
    const journal = readJournal(out)
    expect(journal).toHaveLength(12)
    expect(new Set(journal.map((r) => r.key)).size).toBe(12)
    const rows = readCsv(join(out, 'report.csv'))
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(11)
    expect(filesIn(studiesDir)).toHaveLength(33)
  })
})

describe('segtransfer batch stopped by Ctrl-C', () => {
  const tmp = tempDir('segtransfer-batch-int-')
  afterAll(() => tmp.cleanup())

  it('cancels the study in flight, writes the report with the rest pending, exits 130, leaves no partial file', async () => {
    const { inputs, out } = cohortDirs(tmp.dir, (d) => writeStudies(d, 6))
    const run = spawnCli(['batch', '--model', DEMO, '--inputs', inputs, '--out-dir', out, '--device', 'cpu'], { detached: true })
    await run.waitFor(/^1\/6 finished/)
    process.kill(-run.child.pid!, 'SIGINT') // the whole process group, as Ctrl-C in a terminal does
    expect(await run.exited).toBe(130)
    const rows = readCsv(join(out, 'report.csv'))
    expect(rows).toHaveLength(6)
    expect(rows.filter((r) => r.status === 'pending').length).toBeGreaterThanOrEqual(4)
    expect(partials(join(out, 'studies'))).toEqual([])
    expect(readJournal(out).length).toBe(rows.filter((r) => r.status === 'done').length)
  })
})

describe('segtransfer batch --force: a CT in a brain-MRI cohort', () => {
  const tmp = tempDir('segtransfer-batch-force-')
  afterAll(() => tmp.cleanup())

  it('fails the CT as unfit (MODEL_UNFIT, with the hint) and segments the brain scan; --force --retry-failed then segments the CT with its fit warnings in the report', async () => {
    const { inputs, out } = cohortDirs(tmp.dir, (d) => writeFitAndUnfit(d))
    const args = ['batch', '--model', BRAIN, '--inputs', inputs, '--out-dir', out, '--device', 'cpu', '--quiet']
    const report = () => new Map(readCsv(join(out, 'report.csv')).map((r) => [r.id, r]))

    const first = await cli(...args)
    expect(first.code, first.err).toBe(1)
    expect(first.out.split('\n').find((l) => l.startsWith('failed '))).toMatch(/^failed spleen_ct: spleen_ct\.nii\.gz looks like CT .*--force --retry-failed to segment it anyway$/)
    let rows = report()
    expect(rows.get('spleen_ct')).toMatchObject({ status: 'failed', warnings: '' })
    expect(rows.get('spleen_ct')!.error).toMatch(UNFIT_FAILURE)
    expect(rows.get('t1_RAS')).toMatchObject({ status: 'done', error: '' })
    const brainDone = mtimes(join(out, 'studies'))

    // --force does not change the key: without --retry-failed the unfit study stays failed
    const forcedOnly = await cli(...args, '--force')
    expect(forcedOnly.out).toMatch(/^1 done, 1 failed \(2 finished before this run\)/)

    const second = await cli(...args, '--force', '--retry-failed')
    expect(second.code, second.err).toBe(0)
    rows = report()
    const ct = rows.get('spleen_ct')!
    expect(ct).toMatchObject({ status: 'done', error: '' })
    expect(ct.warnings.split(' | ')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spleen_ct\.nii\.gz looks like CT .*the model accepts MRI$/),
      expect.stringMatching(/^spleen_ct\.nii\.gz has voxels of 0\.79 × 0\.79 × 5\.00 mm; the model expects/)
    ]))
    expect(Number(ct['grey matter (mL)'])).toBeGreaterThan(0)
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('spleen_ct.nii.gz looks like CT')
    // the brain study was not redone
    const after = mtimes(join(out, 'studies'))
    for (const [f, t] of brainDone) expect(after.get(f), f).toBe(t)
    expect(readJournal(out).map((r) => `${r.id} ${r.status}`).sort()).toEqual(['spleen_ct done', 'spleen_ct failed', 't1_RAS done'])
  })
})
