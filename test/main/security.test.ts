/**
 * The Electron window's security settings, asserted in plain Node (src/app-core/security.ts has no
 * electron import), and the IPC argument validation shared with the browser bridge.
 */
import { describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY, WEB_PREFERENCES, isAllowedNavigation } from '../../src/app-core/security'
import { IpcSchemas, validateIpcArgs, type IpcMethod } from '../../src/app-core/validation'
import { CHANNELS } from '../../src/shared/contract'
import { isSegError } from '../../src/engine/errors'

describe('window preferences', () => {
  it('isolates and sandboxes the renderer, with no Node', () => {
    expect(WEB_PREFERENCES.contextIsolation).toBe(true)
    expect(WEB_PREFERENCES.sandbox).toBe(true)
    expect(WEB_PREFERENCES.nodeIntegration).toBe(false)
    expect(WEB_PREFERENCES.nodeIntegrationInWorker).toBe(false)
    expect(WEB_PREFERENCES.webSecurity).toBe(true)
    expect(WEB_PREFERENCES.allowRunningInsecureContent).toBe(false)
  })
})

describe('content security policy', () => {
  const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]))
  it('allows only the app itself', () => {
    expect(directives['default-src']).toEqual(["'self'"])
    expect(directives['script-src']).toEqual(["'self'", "'wasm-unsafe-eval'"])
    expect(directives['connect-src']).toEqual(["'self'"])
    expect(directives['object-src']).toEqual(["'none'"])
    expect(directives['base-uri']).toEqual(["'none'"])
    expect(directives['frame-ancestors']).toEqual(["'none'"])
  })
  it('never allows eval, inline scripts or remote origins', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/'unsafe-eval'|https?:|\*/)
    expect(directives['script-src']).not.toContain("'unsafe-inline'")
  })
})

describe('navigation', () => {
  it('stays on the app page', () => {
    expect(isAllowedNavigation('file:///app/out/renderer/index.html', 'file:///app/out/renderer/index.html')).toBe(true)
    expect(isAllowedNavigation('http://localhost:5173/#x', 'http://localhost:5173/')).toBe(true)
  })
  it('blocks everything else', () => {
    expect(isAllowedNavigation('https://example.com/', 'file:///app/out/renderer/index.html')).toBe(false)
    expect(isAllowedNavigation('file:///etc/passwd', 'file:///app/out/renderer/index.html')).toBe(false)
    expect(isAllowedNavigation('http://localhost:5174/', 'http://localhost:5173/')).toBe(false)
    expect(isAllowedNavigation('javascript:alert(1)', 'http://localhost:5173/')).toBe(false)
    expect(isAllowedNavigation('not a url', 'http://localhost:5173/')).toBe(false)
    expect(isAllowedNavigation('data:text/html,<b>x</b>', 'file:///app/index.html')).toBe(false)
  })
})

describe('IPC argument validation', () => {
  const reject = (method: IpcMethod, args: unknown[]): string => {
    try {
      validateIpcArgs(method, args)
    } catch (e) {
      expect(isSegError(e) && e.code).toBe('BAD_ARGUMENT')
      return (e as Error).message
    }
    throw new Error(`${method} accepted ${JSON.stringify(args)}`)
  }

  it('has a schema for every contract method', () => {
    expect(Object.keys(IpcSchemas).sort()).toEqual(Object.keys(CHANNELS).filter((c) => c !== 'progress').sort())
  })

  it.each([
    ['openVolumes', []],
    ['openVolumes', ['/a.nii']],
    ['openVolumes', [[]]],
    ['openVolumes', [['/a\0.nii']]],
    ['openVolumes', [['x'.repeat(5000)]]],
    ['openBundle', [42]],
    ['readVoxels', ['../../etc/passwd']],
    ['segment', [{ bundleDir: '/b', volumeIds: ['a'], device: 'tpu' }]],
    ['segment', [{ bundleDir: '/b', volumeIds: ['a'], device: 'cpu', extra: 1 }]],
    ['segment', [{ bundleDir: '/b', volumeIds: [], device: 'cpu' }]],
    ['segment', [{ bundleDir: '/b', volumeIds: ['a'], device: 'cpu', refinement: 'no' }]],
    ['cancel', ['now']],
    ['exportRun', ['run-1', 'video', '/out.mp4']],
    ['exportRun', ['run-1', 'labels']],
    ['exportRun', ['run-1', 'labels', '/o.nii.gz', { volumeId: '../v' }]],
    ['readLabels', ['run-1', '../../etc/passwd']],
    ['readLabels', ['run-1', 'vol-1', 'extra']],
    ['putEditedLabels', [{ volumeId: 'v-1', runs: [0, 1, -1], labels: [] }]],
    ['putEditedLabels', [{ volumeId: 'v-1', runs: [0, 1, 1], labels: [{ value: 1, name: 'x', color: [300, 0, 0] }] }]],
    ['putEditedLabels', [{ volumeId: 'v-1', baseRunId: '../r', runs: [], labels: [] }]],
    ['interpolateLabels', [{ volumeId: 'v-1', runs: [], labels: [], label: 1, plane: 'oblique' }]],
    ['loadLabelFile', ['v-1', '/seg.nii.gz', { resample: 'linear' }]]
  ] as [IpcMethod, unknown[]][])('%s rejects %j with one line', (method, args) => {
    const msg = reject(method, args)
    expect(msg).toMatch(new RegExp(`^invalid arguments to ${method}: `))
    expect(msg).not.toContain('\n')
    expect(msg.length).toBeLessThan(200)
  })

  it('accepts well-formed arguments', () => {
    expect(validateIpcArgs('openVolumes', [['/data/ct.nii.gz']])).toEqual([['/data/ct.nii.gz']])
    expect(validateIpcArgs('segment', [{ bundleDir: '/b', volumeIds: ['9b2c-11'], device: 'auto' }])[0].device).toBe('auto')
    expect(validateIpcArgs('segment', [{ bundleDir: '/b', volumeIds: ['a'], device: 'cpu', refinement: false }])[0].refinement).toBe(false)
    expect(validateIpcArgs('exportRun', ['9b2c-11', 'statistics', '/o.csv'])).toEqual(['9b2c-11', 'statistics', '/o.csv'])
    expect(validateIpcArgs('exportRun', ['9b2c-11', 'labels', '/o.nii.gz', { overwrite: true, volumeId: 'v-1' }])[3]).toEqual({ overwrite: true, volumeId: 'v-1' })
    expect(validateIpcArgs('readLabels', ['9b2c-11', 'v-1'])).toEqual(['9b2c-11', 'v-1'])
  })
})
