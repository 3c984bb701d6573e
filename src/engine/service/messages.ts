/**
 * Every message between the app and the segmentation worker (segment-worker.ts), as one discriminated
 * union on `type`: the app sends `segment` then maybe `cancel`; the worker answers `progress`s, then
 * one `result` or one `error`. Both ends import these types, so neither can send what the other
 * does not read. Only structured-cloneable data: label voxels are transferred, not copied.
 */
import type { ApiErrorCode } from '../../shared/contract'
import type { Device, SegmentProgress } from '../pipeline/segment'
import type { Grid, Volume } from '../volume/volume'

/** One segmentation to run. */
export interface WorkerRequest {
  bundleDir: string
  /** Files to read, or volumes already read (a DICOM series, one volume of a 4D file: a path alone does not name them). */
  inputs: (string | Volume)[]
  device: Device
  /** false: skip the bundle's output.refinement. */
  refinement?: boolean
  /** true: run even on a scan that grossly mismatches the manifest's `accepts`. */
  force?: boolean
}

/** A finished segmentation, as the app keeps it. */
export interface WorkerResult {
  labels: Volume
  /** The first input's grid and source (header, path): what export needs; its voxels stay in the worker. */
  reference: Grid & Pick<Volume, 'source'>
  provider: string
  notes: string[]
  /** What the user must see (model-fit findings, an unconverged refinement): SegmentResult.warnings. */
  warnings: string[]
  classification?: { classes: string[]; probabilities: number[] }
  timingsMs: Record<string, number>
}

export type WorkerMessage =
  | ({ type: 'segment' } & WorkerRequest)
  | { type: 'cancel' }
  | { type: 'progress'; progress: SegmentProgress }
  | ({ type: 'result' } & WorkerResult)
  /** 'INTERNAL': not a SegError (a bug), its message as is. */
  | { type: 'error'; code: ApiErrorCode; message: string }

/** What the app sends to the worker. */
export type ToWorker = Extract<WorkerMessage, { type: 'segment' | 'cancel' }>
/** What the worker sends back. */
export type FromWorker = Exclude<WorkerMessage, ToWorker>
