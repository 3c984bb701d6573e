import { parseArgs } from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promises as fs } from 'node:fs'
import { run as segmentRun } from './segment'
import type { CommandIO } from '../io'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const DEMO_BUNDLE = path.join(ROOT, 'resources/models/brain-tissue-resunet')
export const DEMO_SAMPLE = path.join(ROOT, 'resources/samples/colin27_t1_brain_2mm.nii.gz')

export const usage = `segtransfer demo [--out <folder>] [--device auto|cpu|cuda]
    Segment the bundled sample (Colin27 brain T1, 2 mm) with the shipped brain-tissue ResUNet; writes
    <folder>/colin27_tissue.nii.gz and <folder>/colin27_tissue_stats.csv (default folder: segtransfer-demo),
    replacing the demo's own two files from an earlier run.`

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { out: { type: 'string', default: 'segtransfer-demo' }, device: { type: 'string', default: 'auto' } } })
  await fs.mkdir(values.out!, { recursive: true })
  io.out(`model:  ${DEMO_BUNDLE}`)
  io.out(`sample: ${DEMO_SAMPLE}`)
  return segmentRun(
    ['--model', DEMO_BUNDLE, '--input', DEMO_SAMPLE, '--out', path.join(values.out!, 'colin27_tissue.nii.gz'), '--stats', path.join(values.out!, 'colin27_tissue_stats.csv'), '--device', values.device!, '--overwrite'],
    io
  )
}
