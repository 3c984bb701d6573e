/**
 * The Teach panel's figures in docs/teach.md ("In the app"): the app core's teach() (worker thread,
 * the panel's complete-slices mode) on the cord and spleen tasks, each head, largest part on, seed 1;
 * Dice of the preview against the reference on the slices not given.
 * Run: `npx tsx scripts/teach-app-eval.ts [filters|network,filters|network]` (the panel's Features choice; default filters).
 */
import path from 'node:path'
import { createApiCore } from '../src/app-core/api-core'
import { TEACH_FEATURES, type TeachFeatures } from '../src/shared/contract'
import { tsxTeachWorker, tsxWorker } from '../src/bridge/server'
import { readVolume } from '../src/engine/volume/read'
import { parseLabelledSlices, sliceMask } from '../src/engine/teach/labelled-slices'
import { dice } from '../src/engine/labelmap/metrics'

const ROOT = path.resolve(import.meta.dirname, '..')
const DATA = path.resolve(ROOT, '../shared/data')
const BASE = path.join(ROOT, 'resources/models/brain-tissue-resunet')
const TASKS = [['spine/t2.nii.gz', 'spine/t2_cord_seg.nii.gz', 3], ['ct/spleen_ct.nii.gz', 'ct/spleen_ct_seg.nii.gz', 4]] as const

/** Dice of label > 0 between `a` and `b` over the voxels where `where` is 1 (the engine's dice on the rest zeroed). */
function diceWhere(a: ArrayLike<number>, b: ArrayLike<number>, where: Uint8Array): number {
  const only = (d: ArrayLike<number>) => Uint16Array.from(where, (w, o) => (w ? d[o] : 0))
  return dice(only(a), only(b), (v) => v > 0, (v) => v > 0)
}

async function main(): Promise<void> {
  const features = (process.argv[2] ?? 'filters') as TeachFeatures
  if (!TEACH_FEATURES.includes(features)) throw new Error(`features must be one of ${TEACH_FEATURES.join(' | ')}, got '${features}'`)
  const core = createApiCore({ host: { kind: 'browser' }, runWorker: tsxWorker, runTeachWorker: tsxTeachWorker, emit: () => undefined })
  for (const [image, labels, every] of TASKS) {
    const [scan] = await core.openVolumes([path.join(DATA, image)])
    const layer = await core.loadLabelFile(scan.id, path.join(DATA, labels))
    const ref = await readVolume(path.join(DATA, labels))
    const other = sliceMask(ref.size, parseLabelledSlices(`axial:every:${every}`, ref)).map((x) => 1 - x)
    for (const head of ['linear', 'mlp'] as const) {
      const t0 = Date.now()
      const r = await core.teach({ volumeId: scan.id, runId: layer.runId, baseBundleDir: BASE, learn: [1], slices: { plane: 'axial', every }, head, features, largestComponent: true, seed: 1 })
      const s = (Date.now() - t0) / 1000
      const preview = new Uint8Array((await core.readLabels(r.preview.runId)).data)
      console.log(`${image} axial every ${every}, ${features}, ${head}${r.taps.length ? ` (taps ${r.taps.join(', ')})` : ''}: Dice on the other slices ${diceWhere(preview, ref.data, other).toFixed(4)}; ${r.history.length} epochs (best ${r.best.epoch}); teach ${s.toFixed(1)} s`)
    }
  }
}

void main()
