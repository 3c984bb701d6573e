/**
 * Every message between the app and its workers (segment-worker.ts, teach-worker.ts), as
 * discriminated unions on `type`: the app sends the job (`segment` / `teach`) then maybe `cancel`;
 * the worker answers `progress`s, then one `result` or one `error`. Both ends import these types, so neither can send what the other
 * does not read. Only structured-cloneable data: label voxels are transferred, not copied.
 */
import type { ApiErrorCode } from '../../shared/contract'
import type { Device, SegmentProgress } from '../pipeline/segment'
import type { Grid, Volume } from '../volume/volume'
import type { ManifestInput } from '../bundle/manifest'
import type { FeatureKind, LabelName, TeachProgress } from '../teach/teach'
import type { ScanLabels } from '../teach/teach-set'
import type { EpochReport, HeadKind } from '../teach/head'

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

/** One Teach panel run: train a head on the sparse labels of one or more scans, then predict the first. */
export interface TeachWorkerRequest {
  baseDir: string
  /**
   * The scans (path as name, for provenance), each with its label values on its own grid, as teach()
   * takes them (labelledSlices or ignoreValue). The first is the shown scan: the preview is on its grid.
   */
  scans: ScanLabels[]
  labelNames: LabelName[]
  head: HeadKind
  /** Filter bank, network taps or both (teach()'s default: filters). */
  features?: FeatureKind[]
  maxEpochs?: number
  largestComponent?: boolean
  seed?: number
  /** Set to 1 (Atomics) by the caller to cancel: read at every progress report, even inside the synchronous training loop. */
  cancelFlag: Int32Array
}

/** A taught model, kept by the app core until saved. */
export interface TeachWorkerResult {
  onnx: Uint8Array
  manifest: ManifestInput
  history: EpochReport[]
  best: EpochReport
  values: number[]
  counts: Record<number, number>
  /** The taught model's labels on the first scan's grid (the baked graph's own arithmetic). */
  preview: Volume
  timingsMs: Record<string, number>
}

/** What any worker answers: progress reports, then one result or one error. */
export type JobReply<P, R> =
  | { type: 'progress'; progress: P }
  | ({ type: 'result' } & R)
  /** 'INTERNAL': not a SegError (a bug), its message as is. */
  | { type: 'error'; code: ApiErrorCode; message: string }

export type Cancel = { type: 'cancel' }

/** The segmentation worker's messages. */
export type WorkerMessage = ({ type: 'segment' } & WorkerRequest) | Cancel | JobReply<SegmentProgress, WorkerResult>
/** What the app sends to the segmentation worker. */
export type ToWorker = Extract<WorkerMessage, { type: 'segment' | 'cancel' }>
/** What the segmentation worker sends back. */
export type FromWorker = Exclude<WorkerMessage, ToWorker>

/** What the app sends to the teach worker. */
export type ToTeachWorker = ({ type: 'teach' } & TeachWorkerRequest) | Cancel
/** What the teach worker sends back. */
export type FromTeachWorker = JobReply<TeachProgress, TeachWorkerResult>
