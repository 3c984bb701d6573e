/**
 * Every IPC argument is validated in main before it reaches the engine: the renderer is treated as
 * untrusted input. Schemas mirror src/shared/contract.ts.
 */
import { z } from 'zod'
import { SegError } from '../engine/errors'

const Path = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'path contains a NUL byte')

export const IpcSchemas = {
  openVolumes: z.tuple([z.array(Path).min(1).max(16)]),
  openBundle: z.tuple([Path]),
  segment: z.tuple([
    z.object({
      bundleDir: Path,
      volumeIds: z.array(z.string().min(1).max(64)).min(1).max(16),
      device: z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml'])
    }).strict()
  ]),
  cancel: z.tuple([]),
  exportLabels: z.tuple([z.string().min(1).max(64), Path])
} as const

export type IpcMethod = keyof typeof IpcSchemas

export function validateIpcArgs<M extends IpcMethod>(method: M, args: unknown[]): z.infer<(typeof IpcSchemas)[M]> {
  const r = IpcSchemas[method].safeParse(args)
  if (!r.success) {
    const i = r.error.issues[0]
    throw new SegError('BAD_ARGUMENT', `invalid arguments to ${method}: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
  }
  return r.data as z.infer<(typeof IpcSchemas)[M]>
}
