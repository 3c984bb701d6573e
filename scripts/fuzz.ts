/**
 * `npm run fuzz [-- --count N --seed S --deadline-ms D]`: the long header fuzz of the volume reader
 * (test/volume/fuzz-cases.ts; the suite runs a few hundred cases of the same). Prints the counts
 * per verdict and per refusal code, and the first failures; exits 1 when any case hung, crashed,
 * failed unexpectedly, gave a message with internal text or an implausible volume.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSeeds, runFuzz } from '../test/volume/fuzz-cases'

const ROOT = path.resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' }, seed: { type: 'string', default: '13' }, 'deadline-ms': { type: 'string', default: '20000' } } })
const count = Number(values.count)
const seed = Number(values.seed)
const deadlineMs = Number(values['deadline-ms'])
if (!(Number.isInteger(count) && count >= 1 && count <= 1e7) || !Number.isInteger(seed) || !(deadlineMs >= 100 && deadlineMs <= 3.6e6)) {
  console.error('usage: npm run fuzz -- [--count 1..10000000] [--seed integer] [--deadline-ms 100..3600000]')
  process.exit(2)
}
const work = mkdtempSync(path.join(tmpdir(), 'segtransfer-fuzz-'))
try {
  const seeds = await loadSeeds(path.join(ROOT, '../shared/data'), path.join(ROOT, 'test/fixtures/nifti2/le_int16_scaled_sform.nii.gz'), work)
  const report = await runFuzz({
    seeds, count, seed, workDir: work, deadlineMs,
    onCase: (k) => { if ((k + 1) % 1000 === 0) console.error(`${k + 1} / ${count}`) }
  })
  console.log(`reader fuzz: ${report.cases} files from ${seeds.length} seeds, seed ${seed}, ${(report.ms / 1000).toFixed(0)} s`)
  console.log('verdicts:', JSON.stringify(report.verdicts))
  console.log('refusals by code:', JSON.stringify(report.codes))
  for (const f of report.failures) console.log('  ' + f)
  const bad = report.cases - report.verdicts.read - report.verdicts.refused
  process.exitCode = bad === 0 ? 0 : 1
} finally {
  rmSync(work, { recursive: true, force: true })
}
