/**
 * Benchmarks, each against its alternative in the same run (these machines are noisy: medians of
 * several repetitions, and ratios). Run: `npm run bench [-- --only read,readgz,resample,render,meshnet,shipped,batch,queue,dicom,teach] [--reps 5]`.
 * Needs ../shared/data for the real scans.
 *
 * - read:    readVolume (checks, our NIfTI decoder, in the reader worker) vs itk-wasm's readImageNode alone, t1_crop 256^3
 * - readgz:  a 512x512x300 int16 .nii.gz (t1_crop upsampled by nibabel, needs /usr/bin/python3): readVolume,
 *            which inflates it once, vs the same read preceded by the whole-stream counting inflation the
 *            reader made before (checkContentLength), and vs itk-wasm's readImageNode
 * - resample: t1_crop 256^3 onto a grid rotated by 10°, trilinear vs nearest neighbour
 * - render:  one 512x512 slice with label overlay, trilinear vs nearest (the renderer's hot path, in Node);
 *            and the redraw after a brush dab (labels changed in place, grey image kept) vs the whole redraw
 * - meshnet: MeshNet whole volume vs 128^3 sliding windows (50 % overlap) through the engine
 * - shipped: the shipped bundle on t1_crop through segment(): with vs without its intensity refinement,
 *            and labels brought back onto the 1 mm grid by interpolated probabilities vs nearest-neighbour
 *            labels (time, grey- and white-matter Dice);
 *            and (if /usr/bin/python3 has torch) the same checkpoint's forward pass in PyTorch
 * - batch:   `segtransfer batch` throughput (studies/min) with 1 and 2 local worker processes, the shipped
 *            bundle on 8 copies of t1_RAS (each run once: the figure is already a mean over 8 studies)
 * - queue:   the BullMQ queue's overhead per job (ms): 40 tiny demo-bundle studies (64x64x10) through a
 *            warm queue worker on a real redis-server vs the same through a warm local worker process
 * - dicom:   opening a 512x512x300 int16 series (written by plastimatch from t1_crop, upsampled):
 *            openDicom (scan + geometry + GDCM pixels) vs dcm2niix converting it to NIfTI (needs
 *            plastimatch, dcm2niix and /usr/bin/python3 with nibabel)
 * - teach:   features + training of `segtransfer teach` (largest component) on the three tasks of
 *            docs/teach.md (--tasks cord,spleen,t1), per feature set (--features, sets separated by
 *            '/', default filters/network,filters): MLP head vs linear head, medians of --reps (3 is the
 *            figure asked for)
 */
import path from 'node:path'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { readImageNode } from '@itk-wasm/image-io'
import { readVolume } from '../src/engine/volume/read'
import { checkContentLength, niftiContentBytes } from '../src/engine/volume/read-nifti'
import { NIFTI2_HEADER_BYTES, parseNiftiHeader, readHeadBytes } from '../src/engine/volume/nifti-header'
import { resampleToGrid } from '../src/engine/volume/resample'
import { importModel } from '../src/engine/bundle/import-model'
import { loadBundle } from '../src/engine/bundle/bundle'
import { segment } from '../src/engine/pipeline/segment'
import { dice } from '../src/engine/labelmap/metrics'
import { openDicom } from '../src/engine/dicom/open'
import { teach, type FeatureKind } from '../src/engine/teach/teach'
import { TASKS as TEACH_TASKS } from './teach-eval'
import { fitViewport } from '../src/renderer/src/geometry/space'
import { makeBuffers, makeLut, renderSlice, type SliceInput } from '../src/renderer/src/render/slice'
import { listStudies } from '../src/engine/batch/studies'
import { runBatch } from '../src/engine/batch/batch'
import { keyStudies } from '../src/engine/batch/plan'
import { StudyPool } from '../src/engine/batch/pool'
import { JournalWriter } from '../src/engine/batch/journal'
import { connect, enqueueStudies, startWorker } from '../src/engine/batch/queue'
import { Queue } from 'bullmq'
import { startRedis } from '../test/batch/fixtures'

const ROOT = path.resolve(import.meta.dirname, '..')
const DATA = path.resolve(ROOT, '../shared/data')
const SHIPPED = path.join(ROOT, 'resources/models/brain-tissue-resunet')
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const REPS = Number(arg('reps') ?? 5)
const only = arg('only')?.split(',')

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function timeIt(fn: () => Promise<unknown> | unknown, reps = REPS): Promise<number> {
  await fn() // warm-up (JIT, session caches)
  const ms: number[] = []
  for (let r = 0; r < reps; r++) {
    const t = performance.now()
    await fn()
    ms.push(performance.now() - t)
  }
  return median(ms)
}

function row(name: string, a: [string, number], b: [string, number]): void {
  console.log(`${name.padEnd(8)} ${a[0]} ${a[1].toFixed(1)} ms | ${b[0]} ${b[1].toFixed(1)} ms | ratio ${(b[1] / a[1]).toFixed(2)}×`)
}

async function benchRead(): Promise<void> {
  const f = path.join(DATA, 'mri/t1_crop.nii.gz')
  const ours = await timeIt(() => readVolume(f))
  const itk = await timeIt(() => readImageNode(f))
  row('read', ['readVolume', ours], ['itk-wasm alone', itk])
}

async function benchResample(): Promise<void> {
  const t1 = await readVolume(path.join(DATA, 'mri/t1_crop.nii.gz'))
  const c = Math.cos((10 * Math.PI) / 180), s = Math.sin((10 * Math.PI) / 180)
  const rot = [c, -s, 0, s, c, 0, 0, 0, 1]
  const direction = [0, 1, 2].flatMap((r) => [0, 1, 2].map((k) => rot[r * 3] * t1.direction[k] + rot[r * 3 + 1] * t1.direction[3 + k] + rot[r * 3 + 2] * t1.direction[6 + k]))
  const target = { size: t1.size, spacing: t1.spacing, origin: t1.origin, direction }
  const linear = await timeIt(() => resampleToGrid(t1, target, { interpolation: 'linear', fill: 0 }))
  const nearest = await timeIt(() => resampleToGrid(t1, target, { interpolation: 'nearest', fill: 0 }))
  row('resample', ['256³ trilinear', linear], ['nearest', nearest])
}

async function benchRender(): Promise<void> {
  const v = await readVolume(path.join(DATA, 'mri/FLAIR.nii.gz'))
  const labels = new Uint8Array(v.data.length).map((_, i) => (i % 7 === 0 ? 1 : 0))
  const buf = makeBuffers(512, 512)
  const vp = fitViewport(v, 'coronal', 512, 512)
  const base: SliceInput = {
    view: 'coronal', viewport: vp, crosshair: vp.center, image: { grid: v, data: v.data }, labels: { grid: v, data: labels },
    window: { level: 300, width: 600 }, interpolation: 'linear', overlay: { lut: makeLut([{ value: 1, color: [255, 0, 0] }]), opacity: 0.5, outline: true }
  }
  const linear = await timeIt(() => renderSlice(base, buf), 20)
  const nearest = await timeIt(() => renderSlice({ ...base, interpolation: 'nearest' }, buf), 20)
  row('render', ['512² trilinear+overlay', linear], ['nearest', nearest])
  // A brush dab changes only the labels: a live view keeps its grey image (makeBuffers keepGrey) and redraws the overlay.
  const kept = makeBuffers(512, 512, true)
  const dab = () => {
    labels[(labels.length >> 1) + 3] ^= 1 // an edit in place, as the tools make them
    renderSlice(base, kept)
  }
  row('render', ['512² after a dab, grey image kept', await timeIt(dab, 20)], ['whole redraw', linear])
}

async function benchMeshNet(): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-'))
  try {
    const common = {
      onnxPath: path.join(DATA, 'meshnet-gwm/model.onnx'), labelsPath: path.join(DATA, 'meshnet-gwm/labels.json'),
      geometry: { mode: 'conform' as const, orientation: 'LIA', size: [256, 256, 256] as [number, number, number], spacing: [1, 1, 1] as [number, number, number], uint8: true }
    }
    const whole = await importModel({ ...common, out: path.join(tmp, 'whole') })
    const sliding = await importModel({ ...common, out: path.join(tmp, 'sliding'), inference: { mode: 'sliding-window', patchSize: [128, 128, 128], overlap: 0.5 } })
    const input = [path.join(DATA, 'mri/t1_crop.nii.gz')]
    const reps = Math.min(REPS, 3)
    const w = await timeIt(() => segment({ bundle: whole, inputs: input, device: 'cpu' }), reps)
    const s = await timeIt(() => segment({ bundle: sliding, inputs: input, device: 'cpu' }), reps)
    row('meshnet', ['whole 256³', w], ['sliding 128³/50 %', s])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function benchShipped(): Promise<void> {
  if (!existsSync(SHIPPED)) return console.log(`shipped  skipped: ${SHIPPED} does not exist`)
  const bundle = await loadBundle(SHIPPED)
  const input = [path.join(DATA, 'mri/t1_crop.nii.gz')]
  const ref = await readVolume(path.join(DATA, 'meshnet-gwm/t1_crop_reference.nii.gz'))
  // the bundle as shipped (probabilities interpolated back, intensity refinement), without the
  // refinement, and with nearest-neighbour labels instead of interpolated probabilities
  const runs = async (resampling: 'probabilities' | 'labels', refinement: boolean) => {
    const b = { ...bundle, manifest: { ...bundle.manifest, output: { ...bundle.manifest.output, resampling } } }
    const times: Record<string, number[]> = {}
    const ms: number[] = []
    let grey = 0
    let white = 0
    for (let r = 0; r <= REPS; r++) {
      const t = performance.now()
      const res = await segment({ bundle: b, inputs: input, device: 'cpu', refinement })
      if (r === 0) {
        grey = dice(res.labels.data, ref.data, (v) => v === 2, (v) => v === 2)
        white = dice(res.labels.data, ref.data, (v) => v === 3, (v) => v === 1)
        continue
      }
      ms.push(performance.now() - t)
      for (const [k, v] of Object.entries(res.timingsMs)) (times[k] ??= []).push(v)
    }
    return { total: median(ms), times, dice: `GM ${grey.toFixed(4)}, WM ${white.toFixed(4)}` }
  }
  const shipped = await runs('probabilities', true)
  const { times } = shipped
  const engine = shipped.total
  console.log(`shipped  segment() on t1_crop, median of ${REPS}: ${engine.toFixed(0)} ms (${Object.entries(times).map(([k, v]) => `${k} ${median(v)}`).join(', ')} ms)`)
  const prob = await runs('probabilities', false)
  const near = await runs('labels', false)
  row('shipped', [`no refinement (${prob.dice}), segment()`, prob.total], [`intensity refinement (${shipped.dice}), segment()`, shipped.total])
  row('shipped', [`labels back by nearest (${near.dice}), post-processing`, median(near.times['postprocess'])],
    [`by probabilities (${prob.dice}), post-processing`, median(prob.times['postprocess'])])
  // the checkpoint the bundle was made from (ship-model.ts records it, relative to the repository)
  const ckpt = path.join(ROOT, String(bundle.manifest.provenance.at(-1)?.source ?? ''))
  const py = '/usr/bin/python3'
  if (!existsSync(py) || !ckpt.endsWith('.pth') || !existsSync(ckpt)) return
  const a = bundle.manifest.architecture as Record<string, unknown>
  const size = (bundle.manifest.geometry as { size?: number[] }).size ?? [128, 128, 128]
  const script = `
import sys, time, json, torch
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'test/fixtures/transfer'))})
import reference as R
torch.set_num_threads(2)
a = json.loads(${JSON.stringify(JSON.stringify(a))})
m = R.SharedModel(R.ResNet(a['depth'], in_channels=a['inChannels'], num_classes=a['numClasses'], base_width=a['baseWidth'], deep_stem=a['deepStem']), a['segClasses'], a['baseWidth'], head_cue=a.get('headCue'))
m.load_state_dict(torch.load(${JSON.stringify(ckpt)}, map_location='cpu')); m.eval()
x = torch.rand(1, 1, ${size.join(', ')})
with torch.no_grad():
    m(x); ts = []
    for _ in range(${REPS}):
        t = time.perf_counter(); m(x); ts.append((time.perf_counter() - t) * 1000)
print(sorted(ts)[len(ts) // 2])`
  const r = spawnSync(py, ['-c', script], { encoding: 'utf8' })
  if (r.status !== 0) return console.log(`shipped  PyTorch comparison skipped: ${r.stderr.trim().split('\n').at(-1)}`)
  const torchMs = Number(r.stdout.trim())
  const ortMs = median(times['inference'] ?? [engine])
  row('shipped', [`ORT forward ${size.join('x')}`, ortMs], ['PyTorch 1.13 forward', torchMs])
}

/** A temp folder with one study file per entry of `scans` (copies of shared scans), removed by the caller. */
function studyFolder(scans: string[]): { dir: string; inputs: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'segtransfer-bench-'))
  const inputs = path.join(dir, 'in')
  mkdirSync(inputs)
  scans.forEach((s, i) => copyFileSync(path.join(DATA, s), path.join(inputs, `study_${String(i).padStart(3, '0')}.nii.gz`)))
  return { dir, inputs, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

async function benchBatch(): Promise<void> {
  if (!existsSync(SHIPPED)) return console.log(`batch    skipped: ${SHIPPED} does not exist`)
  const bundle = await loadBundle(SHIPPED)
  const n = 8
  const tmp = studyFolder(Array(n).fill('geometry/t1_RAS.nii.gz'))
  try {
    const studies = await listStudies(tmp.inputs, 1)
    const perMinute = async (workers: number) => {
      const t = performance.now()
      const r = await runBatch({ bundle, studies, outDir: path.join(tmp.dir, `out-${workers}`), workers, device: 'cpu', refinement: true })
      if (r.counts.done !== n) throw new Error(`batch bench: ${r.counts.failed} studies failed`)
      return (n * 60_000) / (performance.now() - t)
    }
    const one = await perMinute(1)
    const two = await perMinute(2)
    console.log(`batch    shipped bundle, ${n} studies (t1_RAS copies), ${availableParallelism()} cores: 1 worker ${one.toFixed(1)} studies/min | 2 workers ${two.toFixed(1)} studies/min | ratio ${(two / one).toFixed(2)}×`)
  } finally {
    tmp.cleanup()
  }
}

async function benchQueue(): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return console.log('queue    skipped: no redis-server (apt-get install redis-server)')
  const demo = await loadBundle(path.join(ROOT, 'resources/models/demo-tissue'))
  const n = 40
  const tmp = studyFolder(Array(n).fill('geometry/minimal_no_orientation.nii.gz')) // 64x64x10: the study itself is cheap
  const redis = await startRedis()
  try {
    const studies = await listStudies(tmp.inputs, 1)
    const outDir = path.join(tmp.dir, 'out')
    mkdirSync(outDir)
    // local: the studies through one warm worker process, one after another, journaled as runBatch does
    const keyed = await keyStudies(studies, 'bench', { refinement: true })
    const pool = new StudyPool({ workers: 1, bundleDir: demo.dir, outDir: path.join(tmp.dir, 'local'), device: 'cpu', refinement: true })
    const journal = new JournalWriter(path.join(tmp.dir, 'local'))
    await pool.run(keyed[0])
    let t = performance.now()
    for (const s of keyed) journal.append(await pool.run(s))
    const local = performance.now() - t
    journal.close()
    await pool.close()
    // queue: the same studies through a warm worker (concurrency 1), from add to the last completion
    const worker = await startWorker({ redisUrl: redis.url, concurrency: 1, device: 'cpu' })
    const connection = await connect(redis.url, true)
    const queue = new Queue('segtransfer', { connection })
    const finished = async (k: number) => { while ((await queue.getJobCounts('completed')).completed < k) await new Promise((r) => setTimeout(r, 5)) }
    await enqueueStudies({ redisUrl: redis.url, bundle: demo, studies: studies.slice(0, 1), outDir: path.join(tmp.dir, 'warm'), refinement: true })
    await finished(1)
    t = performance.now()
    await enqueueStudies({ redisUrl: redis.url, bundle: demo, studies, outDir, refinement: true })
    await finished(n + 1)
    const queued = performance.now() - t
    await queue.close()
    connection.disconnect()
    await worker.close()
    console.log(`queue    demo bundle, ${n} studies of 64x64x10, 1 warm worker: local process ${(local / n).toFixed(1)} ms/study | BullMQ queue ${(queued / n).toFixed(1)} ms/study | overhead ${((queued - local) / n).toFixed(1)} ms/job`)
  } finally {
    await redis.stop()
    tmp.cleanup()
  }
}

/**
 * Writes a 512x512x300 int16 .nii.gz (t1_crop upsampled 2x in-plane, 0.5x0.5x1 mm, by nibabel) to
 * `out`; returns why it could not, or null.
 */
function writeBigNifti(out: string): string | null {
  const make = spawnSync('/usr/bin/python3', ['-c', `
import sys, nibabel as nib, numpy as np
a = np.asanyarray(nib.load(sys.argv[1]).dataobj).astype(np.int16)
b = np.repeat(np.repeat(a, 2, 0), 2, 1)
nib.save(nib.Nifti1Image(np.concatenate([b, b[:, :, :44]], axis=2), np.diag([0.5, 0.5, 1, 1])), sys.argv[2])`, path.join(DATA, 'mri/t1_crop.nii.gz'), out], { encoding: 'utf8' })
  return make.status === 0 ? null : (make.stderr || String(make.error)).trim().split('\n').at(-1)!
}

async function benchReadGz(): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'segtransfer-bench-gz-'))
  try {
    const f = path.join(tmp, 'big.nii.gz')
    const failed = writeBigNifti(f)
    if (failed !== null) return console.log(`readgz   skipped: ${failed}`)
    // The old path inflated the stream twice: checkContentLength's counting pass, then the decoding pass.
    const expected = niftiContentBytes(parseNiftiHeader(await readHeadBytes(f, NIFTI2_HEADER_BYTES))!)
    const once = await timeIt(() => readVolume(f))
    const twice = await timeIt(async () => { await checkContentLength(f, expected); await readVolume(f) })
    row('readgz', ['512x512x300 int16 .nii.gz, readVolume (one inflation)', once], ['two inflations (before)', twice])
    row('readgz', ['readVolume', once], ['itk-wasm readImageNode', await timeIt(() => readImageNode(f))])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function benchDicom(): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'segtransfer-bench-dicom-'))
  try {
    const nii = path.join(tmp, 'big.nii.gz')
    const made = writeBigNifti(nii)
    const series = path.join(tmp, 'series')
    if (made !== null) return console.log(`dicom    skipped: ${made}`)
    const write = spawnSync('plastimatch', ['convert', '--input', nii, '--output-dicom', series], { encoding: 'utf8' })
    if (write.status !== 0) return console.log(`dicom    skipped: ${(write.stderr || String(write.error)).trim().split('\n').at(-1)}`)
    const ours = await timeIt(() => openDicom([series]))
    const out = path.join(tmp, 'dcm2niix')
    const theirs = await timeIt(() => {
      rmSync(out, { recursive: true, force: true })
      mkdirSync(out)
      const r = spawnSync('dcm2niix', ['-z', 'n', '-f', 'ref', '-o', out, series], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`dcm2niix failed: ${r.stderr}`)
    })
    row('dicom', ['dcm2niix to NIfTI, 512x512x300', theirs], ['openDicom', ours])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function benchTeach(): Promise<void> {
  const base = await loadBundle(SHIPPED)
  const tasks = arg('tasks')?.split(',')
  const featureSets = (arg('features') ?? 'filters/network,filters').split('/').map((f) => f.split(',') as FeatureKind[])
  for (const task of TEACH_TASKS.filter((t) => !tasks || tasks.includes(t.name))) {
    const scans = [{ name: task.image, image: await readVolume(path.join(DATA, task.image)), labels: await readVolume(path.join(DATA, task.labels)), labelledSlices: task.slices }]
    for (const features of featureSets) {
      const time = (head: 'mlp' | 'linear') => timeIt(() => teach({ base, scans, head, features, largestComponent: true, seed: 1 }), REPS)
      const mlp = await time('mlp')
      const linear = await time('linear')
      row('teach', [`${task.name} ${features.join('+')} MLP head`, mlp], ['linear head', linear])
    }
  }
}

const benches: Record<string, () => Promise<void>> = { read: benchRead, readgz: benchReadGz, resample: benchResample, render: benchRender, meshnet: benchMeshNet, shipped: benchShipped, batch: benchBatch, queue: benchQueue, dicom: benchDicom, teach: benchTeach }
console.log(`SegTransfer benchmarks — medians of ${REPS} runs after a warm-up; ratio = right / left`)
for (const [name, fn] of Object.entries(benches)) if (!only || only.includes(name)) await fn()
