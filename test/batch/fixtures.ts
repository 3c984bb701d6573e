/**
 * Batch test fixtures: folders of real public scans (and copies of them) in a temp folder, the CLI
 * as a child process (so it can be killed), a real redis-server on a free port, output listings.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { basename, join } from 'node:path'
import { data, REPO } from '../helpers/data'
import { splitCsvLine } from '../../src/engine/batch/studies'

export const DEMO = join(REPO, 'resources/models/demo-tissue')
/** The shipped brain-MRI bundle: it refuses CT as unfit (MODEL_UNFIT) unless forced. */
export const BRAIN = join(REPO, 'resources/models/brain-tissue-resunet')

/** A folder with one CT (unfit for BRAIN) and one small brain MRI (fit), named spleen_ct and t1_RAS. */
export function writeFitAndUnfit(dir: string): void {
  for (const scan of ['ct/spleen_ct.nii.gz', 'geometry/t1_RAS.nii.gz']) copyFileSync(data(scan), join(dir, basename(scan)))
}

/** The one-line failure of a batch or queue study refused as unfit, hint included. */
export const UNFIT_FAILURE = /^spleen_ct\.nii\.gz looks like CT .*; the model accepts MRI \(model '.+'\); re-run with --force --retry-failed to segment it anyway$/

/** Small public scans the demo bundle segments in about a second each. */
export const SCANS = ['geometry/t1_RAS.nii.gz', 'spine/t2.nii.gz', 'geometry/t1_LAS.nii.gz', 'mri/FLAIR.nii.gz', 'ct/spleen_ct.nii.gz']

/**
 * Writes `n` studies into `dir`: the scans in turn, copies named <scan>_<k>; with `corrupt`, the
 * last one is a FLAIR cut short (a truncated gzip stream).
 */
export function writeStudies(dir: string, n: number, corrupt = false): string[] {
  const names: string[] = []
  for (let i = 0; i < n; i++) {
    const src = data(SCANS[i % SCANS.length])
    const name = `${basename(src, '.nii.gz')}_${String(Math.floor(i / SCANS.length)).padStart(2, '0')}.nii.gz`
    if (corrupt && i === n - 1) writeFileSync(join(dir, 'corrupt.nii.gz'), readFileSync(data('mri/FLAIR.nii.gz')).subarray(0, 60_000))
    else copyFileSync(src, join(dir, name))
    names.push(corrupt && i === n - 1 ? 'corrupt' : name.replace('.nii.gz', ''))
  }
  return names
}

/** The CLI in a child process (`detached`: in its own process group, as a terminal runs it); `lines` collects stdout and stderr lines as they come. */
/** A batch's `inputs` folder under `dir`, filled by `write`, and its `out` folder (not made). */
export function cohortDirs(dir: string, write: (inputs: string) => unknown): { inputs: string; out: string } {
  const inputs = join(dir, 'in')
  mkdirSync(inputs)
  write(inputs)
  return { inputs, out: join(dir, 'out') }
}

export function spawnCli(args: string[], opts: { detached?: boolean } = {}): { child: ChildProcess; lines: string[]; exited: Promise<number | null>; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const child = spawn(process.execPath, [join(REPO, 'bin/segtransfer.mjs'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached })
  const lines: string[] = []
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
  const onData = (buf: Buffer) => {
    for (const l of buf.toString().split('\n').filter(Boolean)) {
      lines.push(l)
      for (const w of waiters.filter((w) => w.re.test(l))) waiters.splice(waiters.indexOf(w), 1), w.resolve(l)
    }
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const waitFor = (re: RegExp, ms = 60_000) => {
    const seen = lines.find((l) => re.test(l))
    if (seen) return Promise.resolve(seen)
    return new Promise<string>((resolve, reject) => {
      waiters.push({ re, resolve })
      setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; output:\n${lines.join('\n')}`)), ms).unref()
    })
  }
  return { child, lines, exited, waitFor }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

/** Debian's redis-server on 127.0.0.1 and a free port, without persistence; stop() ends it. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (b: Buffer) => (out += b.toString(), /ready to accept connections/i.test(out) && resolve()))
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
}

/** Files in a folder (names), or [] when it does not exist. */
export function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

/** The modification time (ms) of each file in a folder. */
export function mtimes(dir: string): Map<string, number> {
  return new Map(filesIn(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]))
}

/** A CSV file as objects keyed by its header. */
export function readCsv(path: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n').map(splitCsvLine)
  return rows.map((cells) => Object.fromEntries(head.map((c, i) => [c, cells[i] ?? ''])))
}
