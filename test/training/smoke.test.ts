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

  it.skipIf(!torchThere || !dataThere)('run_final.sh, the one command that made the shipped model, replays all its stages (SMOKE=1: a few steps each) and evaluates', { timeout: 600_000 }, async () => {
    const tmp = tempDir()
    try {
      const r = spawnSync('sh', [join(REPO, 'training/run_final.sh')], { encoding: 'utf8', cwd: REPO, timeout: 580_000, env: { ...process.env, SMOKE: '1', RUNS: tmp.dir, PYTHON } })
      expect(r.status, (r.stderr + r.stdout).slice(-2000)).toBe(0)
      for (const stage of ['phase1', 'phase2', 'phase3', 'phase4', 'phase5', 'phase6', 'phase7', 'final']) {
        expect(existsSync(join(tmp.dir, stage, 'checkpoint.pth')), stage).toBe(true)
      }
      const evaluation = JSON.parse(readFileSync(join(tmp.dir, 'final', 'evaluation.json'), 'utf8'))
      expect(Object.keys(evaluation.t1_crop.class_probs)).toEqual(['T1-like', 'T2-like', 'PD-like', 'FLAIR-like'])
      expect(evaluation.t1_crop.gm_dice).toBeGreaterThanOrEqual(0)
    } finally {
      tmp.cleanup()
    }
  })
})
