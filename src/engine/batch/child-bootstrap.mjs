// Development/CLI bootstrap of a batch worker process: runs the TypeScript entry through tsx.
import { register } from 'tsx/esm/api'

register()
await import('./child.ts')
