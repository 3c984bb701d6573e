/**
 * Window security settings, kept free of `electron` imports so tests can assert them in plain Node.
 * The renderer is untrusted by design: no Node, sandboxed, isolated, local content only.
 */
export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  spellcheck: false
} as const

/**
 * Content-Security-Policy of the app page: everything from the app itself, nothing remote.
 * `blob:` for worker and image URLs made from voxel buffers; WebAssembly needs 'wasm-unsafe-eval'.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

/** Navigation is allowed only to the app's own page (file:// in production, the dev server in dev). */
export function isAllowedNavigation(target: string, appUrl: string): boolean {
  try {
    const t = new URL(target)
    const a = new URL(appUrl)
    if (t.protocol === 'file:' && a.protocol === 'file:') return t.pathname === a.pathname
    return t.origin === a.origin && a.origin !== 'null'
  } catch {
    return false
  }
}
