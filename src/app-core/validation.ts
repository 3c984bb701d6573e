/**
 * Every argument from the renderer is validated before it reaches the engine: the renderer is treated
 * as untrusted input. Electron's IPC handlers (ipc.ts) and the browser bridge (src/bridge) both call
 * validateIpcArgs with these schemas, which mirror src/shared/contract.ts method by method; its
 * lists of choices (devices, export kinds, planes, resamplings) are taken from the contract, not retyped.
 */
import { z } from 'zod'
import { SegError } from '../engine/errors'
import { LabelSchema, Name } from '../engine/bundle/manifest'
import { printableOneLine } from '../shared/editing/labels'
import { LIMITS } from '../engine/limits'
import { DEVICE_CHOICES, EXPORT_KINDS, LABEL_RESAMPLINGS, SLICE_PLANES, TEACH_FEATURES, TEACH_HEADS, TEACH_MAX_EPOCHS, type ApiMethod } from '../shared/contract'
import { normaliseUserPath } from './user-path'

/** A path as typed (quotes, `~`, file:// URLs accepted: normaliseUserPath); an empty one refused in one line. */
const Path = z
  .string()
  .max(4096)
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte')
  .transform((p, ctx) => {
    try {
      return normaliseUserPath(p)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
      return z.NEVER
    }
  })
const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9-]+$/, 'expected an id from an earlier call')
/** Bounds of an edited label map's description (the bridge's 1 MiB body bounds it further). */
const MAX_EDIT_RUNS = 3 * 1_000_000
/** A label as a bundle manifest holds it (value, name, colour bounds decided there), no other field. */
const Label = LabelSchema.strict()
/** An edited label map as run-length changes against a base (contract EditedLabels). */
const EditedLabels = z.object({ volumeId: Id, baseRunId: Id.optional(), replaceRunId: Id.optional(), runs: z.array(z.number().int().min(0)).max(MAX_EDIT_RUNS), labels: z.array(Label).max(1024) })

/** A SeriesInstanceUID (digits and dots, at most 64 by the DICOM standard) or a listing number. */
const SeriesUid = z.string().min(1).max(64).regex(/^[0-9.]+$/, 'expected a SeriesInstanceUID (digits and dots) from listSeries')
/** A 4D file's volume index; the bound is far above any DWI/fMRI run, the reader checks the real count. */
const VolumeIndex = z.number().int().min(0).max(100_000)
const Choice = z.object({ series: SeriesUid.optional(), volume: VolumeIndex.optional() }).strict()

/** Teach bounds: a slice step or number beyond any scan's axis. */
const MAX_SLICE = 100_000
const Plane = z.enum(SLICE_PLANES)
const CompleteSlices = z
  .object({ plane: Plane, every: z.number().int().min(1).max(MAX_SLICE).optional(), list: z.array(z.number().int().min(0).max(MAX_SLICE)).min(1).max(MAX_SLICE).optional() })
  .strict()
  .refine((c) => (c.every === undefined) !== (c.list === undefined), 'give either every or list')
/** Scans in one teach run, the shown one included (each is copied to the worker). */
const MAX_TEACH_SCANS = 16
const TeachScan = z.object({ volumeId: Id, runId: Id, slices: CompleteSlices.optional() }).strict()
const TeachRequest = z
  .object({
    volumeId: Id, runId: Id, baseBundleDir: Path,
    otherScans: z.array(TeachScan).max(MAX_TEACH_SCANS - 1).optional(),
    // 65535 is the teach labels' "unknown" marker (app-core/teach-labels.ts).
    learn: z.array(z.number().int().min(1).max(65534)).min(1).max(255),
    slices: CompleteSlices.optional(),
    head: z.enum(TEACH_HEADS),
    features: z.enum(TEACH_FEATURES).optional(),
    maxEpochs: z.number().int().min(1).max(TEACH_MAX_EPOCHS).optional(),
    largestComponent: z.boolean().optional(),
    seed: z.number().int().min(0).max(LIMITS.seed).optional()
  })
  .strict()

/** A saved bundle's name: not blank, then the manifest's Name (its length bound and message). */
const BundleName = z
  .string()
  .refine((n) => n.trim() !== '' && printableOneLine(n), 'expected a one-line name of printable characters, not blank')
  .pipe(Name)

export const IpcSchemas = {
  hostInfo: z.tuple([]),
  openVolumes: z.tuple([z.array(Path).min(1).max(16), z.array(Choice).max(16).optional()]),
  listSeries: z.tuple([Path]),
  readVoxels: z.tuple([Id]),
  closeVolume: z.tuple([Id]),
  openBundle: z.tuple([Path]),
  segment: z.tuple([
    z
      .object({
        bundleDir: Path,
        volumeIds: z.array(Id).min(1).max(16),
        device: z.enum(DEVICE_CHOICES),
        refinement: z.boolean().optional(),
        force: z.boolean().optional()
      })
      .strict()
  ]),
  cancel: z.tuple([]),
  readLabels: z.tuple([Id, Id.optional()]),
  exportRun: z.tuple([Id, z.enum(EXPORT_KINDS), Path, z.object({ overwrite: z.boolean().optional(), volumeId: Id.optional() }).strict().optional()]),
  forgetRun: z.tuple([Id]),
  putEditedLabels: z.tuple([EditedLabels.strict()]),
  loadLabelFile: z.tuple([Id, Path, z.object({ resample: z.enum(LABEL_RESAMPLINGS).optional() }).strict().optional()]),
  summarizeBase: z.tuple([Path]),
  teach: z.tuple([TeachRequest]),
  saveTaught: z.tuple([Id, Path, z.object({ overwrite: z.boolean().optional(), name: BundleName.optional() }).strict().optional()]),
  interpolateLabels: z.tuple([EditedLabels.extend({ label: z.number().int().min(1).max(65535), plane: Plane }).strict()])
} as const satisfies Record<ApiMethod, z.ZodType>

export type IpcMethod = keyof typeof IpcSchemas
export type IpcArgs<M extends IpcMethod> = z.infer<(typeof IpcSchemas)[M]>

export function isIpcMethod(name: string): name is IpcMethod {
  return Object.prototype.hasOwnProperty.call(IpcSchemas, name)
}

/** Parses the arguments of one call; throws BAD_ARGUMENT with one line naming the first problem. */
export function validateIpcArgs<M extends IpcMethod>(method: M, args: unknown[]): IpcArgs<M> {
  const r = IpcSchemas[method].safeParse(args)
  if (!r.success) {
    const i = r.error.issues[0]
    throw new SegError('BAD_ARGUMENT', `invalid arguments to ${method}: ${i.path.join('.') || '(arguments)'}: ${i.message}`)
  }
  return r.data as IpcArgs<M>
}
