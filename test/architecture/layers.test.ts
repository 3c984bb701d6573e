/**
 * Layering, enforced rather than hoped for: the engine runs in plain Node (no Electron, nothing from
 * the shells above it); the CLI sits on the engine only; the renderer never imports Node, Electron,
 * the engine or the main process; the app core (src/app-core) is host-neutral, below main and bridge; src/shared stays free of Node and DOM-only modules; views stay small.
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { REPO } from '../helpers/data'

function files(dir: string, exts: string[]): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p, exts) : exts.some((e) => n.endsWith(e)) ? [p] : []
  })
}

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2])

describe('layers', () => {
  const renderer = files(join(REPO, 'src/renderer'), ['.ts', '.vue'])
  const shared = files(join(REPO, 'src/shared'), ['.ts'])

  it.each(renderer.map((f) => [relative(REPO, f), f]))('%s imports no Node, Electron, engine, app-core, bridge or main code (its host client lives in src/renderer/src/host)', (_name, f) => {
    for (const spec of importsOf(f)) {
      expect(spec, spec).not.toMatch(/^node:|^electron$|^(fs|path|os|child_process|worker_threads)$/)
      expect(spec, spec).not.toMatch(/\/engine\/|\/main\/|\/preload\/|\/app-core\/|\/bridge\//)
    }
  })

  it.each(shared.map((f) => [relative(REPO, f), f]))('%s imports nothing host-specific', (_name, f) => {
    for (const spec of importsOf(f)) expect(spec, spec).not.toMatch(/^node:|^electron$|\/engine\/|\/main\/|\/renderer\/|\/bridge\//)
  })

  const editing = files(join(REPO, 'src/shared/editing'), ['.ts'])

  it.each(editing.map((f) => [relative(REPO, f), f]))('%s (editing tools) imports only its own folder and the shared SegError, so renderer and engine can both run it', (_name, f) => {
    for (const spec of importsOf(f)) expect(spec, spec).toMatch(/^\.\/[\w-]+$|^\.\.\/errors$/)
  })

  const engine = files(join(REPO, 'src/engine'), ['.ts', '.mjs'])
  const cli = files(join(REPO, 'src/cli'), ['.ts'])

  it.each(engine.map((f) => [relative(REPO, f), f]))('%s (engine) imports no Electron and nothing from main, cli, bridge or renderer', (_name, f) => {
    for (const spec of importsOf(f)) expect(spec, spec).not.toMatch(/^electron$|\/(main|cli|bridge|renderer|preload)\//)
  })

  it.each(cli.map((f) => [relative(REPO, f), f]))('%s (cli) imports no Electron and nothing from main, bridge or renderer', (_name, f) => {
    for (const spec of importsOf(f)) expect(spec, spec).not.toMatch(/^electron$|\/(main|bridge|renderer|preload)\//)
  })

  const appCore = files(join(REPO, 'src/app-core'), ['.ts'])

  it.each(appCore.map((f) => [relative(REPO, f), f]))('%s (app core) is host-neutral: no Electron and nothing from main, bridge, cli or renderer', (_name, f) => {
    for (const spec of importsOf(f)) expect(spec, spec).not.toMatch(/^electron$|\/(main|cli|bridge|renderer|preload)\//)
  })

  it('the import scan sees imports at all', () => {
    expect(engine.flatMap(importsOf)).toContain('onnxruntime-node')
    expect(appCore.flatMap(importsOf)).toContain('../shared/contract')
    const all = renderer.flatMap(importsOf)
    expect(all).toContain('vue')
    expect(all).toContain('../../../shared/marching-cubes')
  })

  it('components stay under 300 lines (no god component)', () => {
    for (const f of renderer.filter((x) => x.endsWith('.vue'))) {
      const lines = readFileSync(f, 'utf8').split('\n').length
      expect(lines, relative(REPO, f)).toBeLessThan(300)
    }
  })
})
