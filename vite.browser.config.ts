/**
 * The browser build of the renderer (no Electron): the same Vue app, served by the Node bridge
 * (src/bridge/server.ts) which implements the contract over HTTP; the renderer's client of it is
 * src/renderer/src/host/http-client.ts, inside this root. Output: out/browser.
 *   npx vite build -c vite.browser.config.ts && npx tsx src/bridge/main.ts
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: resolve(here, 'src/renderer'),
  base: './',
  resolve: { alias: { '@shared': resolve(here, 'src/shared') } },
  plugins: [vue()],
  logLevel: 'warn',
  build: { outDir: resolve(here, 'out/browser'), emptyOutDir: true, sourcemap: false, reportCompressedSize: false }
})
