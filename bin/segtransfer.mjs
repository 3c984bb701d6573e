#!/usr/bin/env node
// The CLI runs the TypeScript engine directly through tsx (a runtime dependency), so there is no
// separate build step between `npm ci` and the first segmentation.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
