/**
 * Benchmarks, each against its alternative in the same run (these machines are noisy: medians of
 * several repetitions, and ratios). Run: `npm run bench [-- --only read,resample,render,meshnet,shipped] [--reps 5]`.
 * Needs ../shared/data for the real scans.
 *
 * - read:    readVolume (itk-wasm + our NIfTI header policy) vs itk-wasm's readImageNode alone, t1_crop 256^3
 * - resample: t1_crop 256^3 onto a grid rotated by 10°, trilinear vs nearest neighbour
 * - render:  one 512x512 slice with label overlay, trilinear vs nearest (the renderer's hot path, in Node)
 * - meshnet: MeshNet whole volume vs 128^3 sliding windows (50 % overlap) through the engine
 * - shipped: the shipped bundle on t1_crop through segment(): with vs without its intensity refinement,
 *            and labels brought back onto the 1 mm grid by interpolated probabilities vs nearest-neighbour
 *            labels (time, grey- and white-matter Dice);
 *            and (if /usr/bin/python3 has torch) the same checkpoint's forward pass in PyTorch
 * - teach:   features + training of `segtransfer teach` (filters, largest component) on the three
 *            tasks of docs/teach.md (--tasks cord,spleen,t1): MLP head vs linear head, medians of --reps
 *            (3 is the figure asked for)
 */
import path from 'node:path'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { readImageNode } from '@itk-wasm/image-io'
import { readVolume } from '../src/engine/volume/read'
import { resampleToGrid } from '../src/engine/volume/resample'
import { importModel } from '../src/engine/bundle/import-model'
import { loadBundle } from '../src/engine/bundle/bundle'
import { segment } from '../src/engine/pipeline/segment'
import { dice } from '../src/engine/labelmap/metrics'
import { teach } from '../src/engine/teach/teach'
import { TASKS as TEACH_TASKS } from './teach-eval'
import { fitViewport } from '../src/renderer/src/geometry/space'
import { makeBuffers, makeLut, renderSlice, type SliceInput } from '../src/renderer/src/render/slice'

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

async function benchTeach(): Promise<void> {
  const base = await loadBundle(SHIPPED)
  const tasks = arg('tasks')?.split(',')
  for (const task of TEACH_TASKS.filter((t) => !tasks || tasks.includes(t.name))) {
    const scans = [{ name: task.image, image: await readVolume(path.join(DATA, task.image)), labels: await readVolume(path.join(DATA, task.labels)), labelledSlices: task.slices }]
    const time = (head: 'mlp' | 'linear') => timeIt(() => teach({ base, scans, head, largestComponent: true, seed: 1 }), REPS)
    const mlp = await time('mlp')
    const linear = await time('linear')
    row('teach', [`${task.name} MLP head`, mlp], ['linear head', linear])
  }
}

const benches: Record<string, () => Promise<void>> = { read: benchRead, resample: benchResample, render: benchRender, meshnet: benchMeshNet, shipped: benchShipped, teach: benchTeach }
console.log(`SegTransfer benchmarks — medians of ${REPS} runs after a warm-up; ratio = right / left`)
for (const [name, fn] of Object.entries(benches)) if (!only || only.includes(name)) await fn()
