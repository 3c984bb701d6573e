/**
 * `npm run browser`: serve the built renderer (out/browser) and the API on 127.0.0.1, for machines
 * without the Electron binary. Usage:
 *   tsx src/bridge/main.ts [--port 5180] [--static out/browser] [--root DIR]... [--max-upload-mb 2048]
 * --root (repeatable; or SEGTRANSFER_ROOTS, folders separated by the OS path delimiter) names the
 * folders the page's file browser may show; default: the home folder.
 */
import path from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startBridge } from './server'

const repo = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

/** Every value of a repeatable flag. */
const all = (name: string): string[] => process.argv.flatMap((a, i) => (a === `--${name}` && process.argv[i + 1] ? [process.argv[i + 1]] : []))
const roots = all('root').length ? all('root') : (process.env.SEGTRANSFER_ROOTS ?? '').split(path.delimiter).filter(Boolean)
const uploadMb = Number(arg('max-upload-mb', '2048'))

const staticDir = path.resolve(arg('static', path.join(repo, 'out/browser')))
if (!existsSync(path.join(staticDir, 'index.html'))) {
  console.error(`error: ${staticDir}/index.html is missing; build the renderer first (npx vite build -c vite.browser.config.ts)`)
  process.exit(2)
}
const demo = path.join(repo, 'resources/models/brain-tissue-resunet')
let bridge
try {
  bridge = await startBridge({
    port: Number(arg('port', '5180')), staticDir, defaultBundleDir: existsSync(demo) ? demo : undefined,
    roots: roots.length ? roots : undefined, maxUploadBytes: Number.isFinite(uploadMb) ? uploadMb * 1024 ** 2 : NaN
  })
} catch (e) {
  console.error(`error: ${(e as Error).message}`)
  process.exit(2)
}
console.log(`SegTransfer (browser build) at ${bridge.url}  — local only; Ctrl+C to stop`)
console.log(`file browser shows: ${bridge.roots.join(', ')} (--root to change); dropped files are kept in ${bridge.uploadDir} until the bridge stops`)
const stop = () => void bridge.close().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
