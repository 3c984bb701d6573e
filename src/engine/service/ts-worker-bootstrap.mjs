// Development/test bootstrap: runs a TypeScript worker entry through tsx (the packaged app loads the
// compiled worker directly). The entry path arrives as workerData.entry.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
