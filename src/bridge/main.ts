/**
 * `npm run browser`: serve the built renderer (out/browser) and the API on 127.0.0.1, for machines
 * without the Electron binary. Usage: tsx src/bridge/main.ts [--port 5180] [--static out/browser]
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

const staticDir = path.resolve(arg('static', path.join(repo, 'out/browser')))
if (!existsSync(path.join(staticDir, 'index.html'))) {
  console.error(`error: ${staticDir}/index.html is missing; build the renderer first (npx vite build -c vite.browser.config.ts)`)
  process.exit(2)
}
const demo = path.join(repo, 'resources/models/brain-tissue-resunet')
const bridge = await startBridge({ port: Number(arg('port', '5180')), staticDir, defaultBundleDir: existsSync(demo) ? demo : undefined })
console.log(`SegTransfer (browser build) at ${bridge.url}  — local only; Ctrl+C to stop`)
const stop = () => void bridge.close().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
