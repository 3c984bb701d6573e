/**
 * The one Python training pipeline still runs end to end: its smoke mode derives the labels from
 * Debian's mricron-data, synthesises images, trains a few steps of the encoder-sharing ResUNet and
 * writes a checkpoint the app's own checkpoint reader accepts. CI installs python3-torch, so there
 * this test runs; elsewhere it says why it was skipped.
 */
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO, tempDir } from '../helpers/data'
import { readCheckpoint } from '../../src/engine/checkpoint'
import { transfer } from '../../src/engine/transfer/ops'

const PYTHON = '/usr/bin/python3'
const torchThere = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, nibabel'], { encoding: 'utf8' }).status === 0
const dataThere = existsSync('/usr/share/mricron/templates/ch2bet.nii.gz')
if (!torchThere || !dataThere) console.warn('training smoke test skipped: needs /usr/bin/python3 with torch and nibabel, and mricron-data (apt-get install python3-torch python3-nibabel mricron-data)')

describe('training pipeline', () => {
  it.skipIf(!torchThere || !dataThere)('smoke mode trains a few steps and writes a checkpoint the app can import', { timeout: 300_000 }, async () => {
    const tmp = tempDir()
    try {
      const r = spawnSync(PYTHON, [join(REPO, 'training/train.py'), '--smoke', '--real-p', '0.5', '--out', tmp.dir], { encoding: 'utf8', cwd: REPO, timeout: 280_000 })
      expect(r.status, r.stderr.slice(-2000)).toBe(0)
      const ckpt = join(tmp.dir, 'checkpoint.pth')
      expect(existsSync(ckpt)).toBe(true)
      const { state } = await readCheckpoint(ckpt)
      expect(state.has('stem.0.conv.weight')).toBe(true)
      expect([...state.keys()].some((k) => k.startsWith('decoder'))).toBe(true)
      expect(state.has('head_fc.weight')).toBe(true)
    } finally {
      tmp.cleanup()
    }
  })

  it.skipIf(!torchThere)("contrast families: rule 'contrast' tells a low grey/white-contrast FLAIR from a T1 by the share of the tissue/CSF contrast, rule 'order' by the order alone", () => {
    // [csf, gm, wm] on the 0..1 scale the generator draws them on
    const cases: Record<string, [number, number, number]> = {
      t1: [0.3, 0.71, 0.94], // grey matter well between CSF and white matter (t1_crop-like)
      flairWmBrighter: [0.22, 0.61, 0.67], // FLAIR with WM slightly brighter: 0.06 of a 0.45 span
      flairGmBrighter: [0.1, 0.7, 0.6],
      between: [0.2, 0.55, 0.65], // WM - GM = 0.22 of the span: neither T1 nor FLAIR under 'contrast'
      t2: [0.9, 0.5, 0.3],
      pd: [0.62, 0.6, 0.5]
    }
    const script = `
import json, sys, numpy as np
sys.path.insert(0, 'training')
from synth import family_of, draw_means
cases = json.loads(sys.argv[1])
out = {rule: {k: family_of(*v, rule=rule) for k, v in cases.items()} for rule in ('order', 'contrast')}
try:
    family_of(0, 0.5, 1, rule='nope'); out['bad'] = None
except ValueError as e:
    out['bad'] = str(e)
rng = np.random.default_rng(0)
fams = [family_of(*draw_means(rng, 'realistic', 'lowcontrast')[0], rule='contrast') for _ in range(4000)]
out['share'] = [fams.count(f) / len(fams) for f in (-1, 0, 1, 2, 3)]
print(json.dumps(out))`
    const r = spawnSync(PYTHON, ['-c', script, JSON.stringify(cases)], { encoding: 'utf8', cwd: REPO })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.order).toEqual({ t1: 0, flairWmBrighter: 0, flairGmBrighter: 3, between: 0, t2: 1, pd: 2 })
    expect(out.contrast).toEqual({ t1: 0, flairWmBrighter: 3, flairGmBrighter: 3, between: -1, t2: 1, pd: 2 })
    expect(out.bad).toMatch(/rule must be 'order' or 'contrast', got 'nope'/)
    // every family is taught, and few draws are left unlabelled
    const [unlabelled, ...families] = out.share as number[]
    expect(unlabelled).toBeLessThan(0.1)
    for (const share of families) expect(share).toBeGreaterThan(0.1)
  })

  it.skipIf(!torchThere || !dataThere)('fit_head.py re-fits only the contrast head, in closed form, as a tissue-means head the app imports strictly', { timeout: 300_000 }, async () => {
    const tmp = tempDir()
    try {
      const base = join(tmp.dir, 'base')
      let r = spawnSync(PYTHON, [join(REPO, 'training/train.py'), '--smoke', '--out', base], { encoding: 'utf8', cwd: REPO, timeout: 200_000 })
      expect(r.status, r.stderr.slice(-2000)).toBe(0)
      const out = join(tmp.dir, 'fit')
      r = spawnSync(PYTHON, [join(REPO, 'training/fit_head.py'), '--smoke', '--init', join(base, 'checkpoint.pth'), '--out', out], { encoding: 'utf8', cwd: REPO, timeout: 200_000 })
      expect(r.status, r.stderr.slice(-2000)).toBe(0)
      const before = (await readCheckpoint(join(base, 'checkpoint.pth'))).state
      const after = (await readCheckpoint(join(out, 'checkpoint.pth'))).state
      expect([...after.keys()]).toEqual([...before.keys()])
      const bytes = (t: { data: ArrayBufferView }) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)
      const changed = [...after.keys()].filter((k) => !bytes(after.get(k)!).equals(bytes(before.get(k)!)))
      expect(changed.sort()).toEqual(['head_fc.bias', 'head_fc.weight'])
      // head_fc now reads [pooled layer4 (64), tissue means (4 seg classes)]; --head tissue (the default)
      // uses only the CSF, GM and WM means: every other column is zero
      const w = after.get('head_fc.weight')!
      expect(before.get('head_fc.weight')!.dims).toEqual([4, 64])
      expect(w.dims).toEqual([4, 68])
      const used = new Set<number>()
      w.data.forEach((v, i) => { if (v !== 0) used.add(i % 68) })
      expect([...used].sort((a, b) => a - b)).toEqual([65, 66, 67])
      const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'))
      expect(metrics.fit + metrics.held_out).toBe(16)
      expect(Object.keys(metrics.held_out_correct_by_head)).toEqual(['tissue', 'features', 'both'])
      // the app's own import recognises the cue from head_fc's width and loads every tensor
      const imported = await transfer({ from: join(out, 'checkpoint.pth'), to: 'shared', classes: 4, strict: true })
      expect(imported.config).toMatchObject({ kind: 'shared', headCue: 'tissue-means', numClasses: 4 })
      expect(imported.report.load.missing).toEqual([])
      // and train.py can go on from it (--init recognises the cue head)
      r = spawnSync(PYTHON, [join(REPO, 'training/train.py'), '--smoke', '--init', join(out, 'checkpoint.pth'), '--out', join(tmp.dir, 'again')], { encoding: 'utf8', cwd: REPO, timeout: 200_000 })
      expect(r.status, r.stderr.slice(-2000)).toBe(0)
      expect((await readCheckpoint(join(tmp.dir, 'again', 'checkpoint.pth'))).state.get('head_fc.weight')!.dims).toEqual([4, 68])
      // a wrong --init is one line naming it, and leaves no output folder behind
      const none = join(tmp.dir, 'none')
      r = spawnSync(PYTHON, [join(REPO, 'training/fit_head.py'), '--init', join(tmp.dir, 'missing.pth'), '--out', none], { encoding: 'utf8', cwd: REPO })
      expect(r.status).not.toBe(0)
      expect(r.stderr.trim()).toMatch(/^fit_head: --init .*missing\.pth: no such file; expected a checkpoint written by train\.py$/)
      expect(existsSync(none)).toBe(false)
    } finally {
      tmp.cleanup()
    }
  })

  it.skipIf(!torchThere)('train.py --device: an unknown device, or cuda where PyTorch sees no GPU, is a one-line error before anything is written', () => {
    const cuda = spawnSync(PYTHON, ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' }).stdout.trim() === 'True'
    const tmp = tempDir()
    try {
      const cases: [string, RegExp][] = [['bogus', /--device bogus: not a device; expected cpu, cuda or cuda:N/]]
      if (!cuda) cases.push(['cuda', /--device cuda: this PyTorch sees no CUDA GPU; expected --device cpu here/])
      for (const [device, message] of cases) {
        const out = join(tmp.dir, device)
        const r = spawnSync(PYTHON, [join(REPO, 'training', 'train.py'), '--smoke', '--device', device, '--out', out], { encoding: 'utf8', cwd: REPO, timeout: 120_000 })
        expect(r.status).not.toBe(0)
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
        expect(r.stderr).toMatch(message)
        expect(existsSync(out)).toBe(false)
      }
    } finally {
      tmp.cleanup()
    }
  })

  /** Runs a training script with SMOKE=1 into a temporary RUNS folder, checks that it exits 0 and wrote
   * each stage's checkpoint, then hands the folder and the last stage's evaluation to `check`. */
  const smokeReplay = (script: string, stages: string[], timeoutMs: number, check: (dir: string, evaluation: any) => void) => {
    const tmp = tempDir()
    try {
      const r = spawnSync('sh', [join(REPO, 'training', script)], { encoding: 'utf8', cwd: REPO, timeout: timeoutMs, env: { ...process.env, SMOKE: '1', RUNS: tmp.dir, PYTHON } })
      expect(r.status, (r.stderr + r.stdout).slice(-2000)).toBe(0)
      for (const stage of stages) expect(existsSync(join(tmp.dir, stage, 'checkpoint.pth')), stage).toBe(true)
      check(tmp.dir, JSON.parse(readFileSync(join(tmp.dir, stages.at(-1)!, 'evaluation.json'), 'utf8')))
    } finally {
      tmp.cleanup()
    }
  }

  it.skipIf(!torchThere || !dataThere)('run_budget.sh, the ~90-minute from-scratch recipe, runs its three steps (SMOKE=1: a few steps on tiny crops) and evaluates', { timeout: 300_000 }, () => {
    smokeReplay('run_budget.sh', ['cpu-base0', 'cpu-base', 'cpu'], 280_000, (dir, evaluation) => {
      const base = JSON.parse(readFileSync(join(dir, 'cpu-base', 'metrics.json'), 'utf8'))
      expect(base.config).toMatchObject({ freeze_bn: true, init: join(dir, 'cpu-base0', 'checkpoint.pth') })
      const metrics = JSON.parse(readFileSync(join(dir, 'cpu', 'metrics.json'), 'utf8'))
      expect(metrics.config).toMatchObject({ families: 'contrast', flair: 'lowcontrast', head: 'tissue', head_cue: 'tissue-means', init: join(dir, 'cpu-base', 'checkpoint.pth') })
      expect(Object.keys(evaluation.FLAIR.class_probs)).toEqual(['T1-like', 'T2-like', 'PD-like', 'FLAIR-like'])
    })
  })

  it.skipIf(!torchThere || !dataThere)('run_final.sh, the one command that made the shipped model, replays all its stages (SMOKE=1: a few steps each) and evaluates', { timeout: 600_000 }, () => {
    const stages = ['phase1', 'phase2', 'phase3', 'phase4', 'phase5', 'phase6', 'phase7', 'final']
    smokeReplay('run_final.sh', stages, 580_000, (_dir, evaluation) => {
      expect(Object.keys(evaluation.t1_crop.class_probs)).toEqual(['T1-like', 'T2-like', 'PD-like', 'FLAIR-like'])
      expect(evaluation.t1_crop.gm_dice).toBeGreaterThanOrEqual(0)
    })
  })
})
