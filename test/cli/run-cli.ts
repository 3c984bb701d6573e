/** Runs the real CLI entry in-process and captures what it prints. */
import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import { main } from '../../src/cli/main'

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/**
 * Runs the CLI expecting a refusal: exit 2, exactly one `error: ` line matching `pattern`, and nothing
 * written at `out`. Returns that line.
 */
export async function expectRefusal(argv: string[], out: string, pattern: RegExp): Promise<string> {
  const r = await cli(...argv)
  expect(r.code).toBe(2)
  const lines = r.err.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: /)
  expect(lines[0]).toMatch(pattern)
  expect(existsSync(out)).toBe(false)
  return lines[0]
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/segtransfer.mjs', import.meta.url))

export interface SpawnedCli {
  child: ChildProcess
  /** Resolves once stderr has shown `text` (e.g. a progress line). */
  stderrShows(text: string): Promise<void>
  /** Exit status as a shell reports it (128 + signal number for a process ended by a signal), and the output. */
  done: Promise<{ status: number; signal: NodeJS.Signals | null; out: string; err: string; at: number }>
}

/** Runs the real `segtransfer` binary in a child process (for signals, permissions and exit codes). */
export function spawnCli(argv: string[], opts: SpawnOptions = {}): SpawnedCli {
  const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  let out = ''
  let err = ''
  const waiters: { text: string; resolve: () => void }[] = []
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => {
    err += d
    for (const w of waiters.filter((w) => err.includes(w.text))) w.resolve()
  })
  const done = new Promise<{ status: number; signal: NodeJS.Signals | null; out: string; err: string; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ status: code ?? 128 + constants.signals[signal!], signal, out, err, at: Date.now() }))
  )
  const stderrShows = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (err.includes(text)) return resolve()
      waiters.push({ text, resolve })
      void done.then(() => reject(new Error(`the CLI exited before printing '${text}': ${err}`)))
    })
  return { child, stderrShows, done }
}
