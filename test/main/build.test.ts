/**
 * The desktop app builds (electron-vite: main, sandboxed preload, renderer) even where the Electron
 * binary cannot be downloaded, and the build has the shape a sandboxed window needs.
 */
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../helpers/data'

describe('electron-vite build', () => {
  it('emits main, a CommonJS preload and the renderer, wired to each other', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: REPO, encoding: 'utf8' })
    expect(r.status, r.stderr.slice(-2000)).toBe(0)
    const out = join(REPO, 'out')
    const preload = readFileSync(join(out, 'preload/index.cjs'), 'utf8')
    // A sandboxed preload cannot be an ES module.
    expect(preload).toMatch(/require\("electron"\)/)
    expect(preload).not.toMatch(/^\s*import\s/m)
    const main = readFileSync(join(out, 'main/index.js'), 'utf8')
    expect(main).toContain('../preload/index.cjs')
    expect(main).toMatch(/sandbox: true/)
    // The segmentation worker is bundled next to main, so inference never runs on the main thread.
    expect(readdirSync(join(out, 'main/chunks')).some((f) => f.startsWith('segment-worker'))).toBe(true)
    // So is the Teach panel's training worker.
    expect(readdirSync(join(out, 'main/chunks')).some((f) => f.startsWith('teach-worker'))).toBe(true)
    expect(existsSync(join(out, 'renderer/index.html'))).toBe(true)
  })
})
