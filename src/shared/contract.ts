/**
 * The typed API between the renderer and the app core, written once. Electron's preload exposes it
 * over IPC (src/preload), and the browser build reaches the same contract over HTTP from a Node
 * bridge (src/bridge). Only plain, structured-cloneable data crosses: voxel buffers as ArrayBuffers
 * with their grid. No Node or DOM types here: both sides include this file.
 */
import type { SegErrorCode } from './errors'

/**
 * Where inference runs ('auto': the GPU provider when there is one, else CPU). Written once: the
 * argument validation (src/app-core/validation.ts), the engine and the CLI all take this list.
 */
export const DEVICE_CHOICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml'] as const
export type DeviceChoice = (typeof DEVICE_CHOICES)[number]

/** The voxel component types a buffer can carry (the engine's VoxelArray kinds). */
export type VoxelType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'

export interface GridInfo {
  /** Voxels along index axes i, j, k. */
  size: [number, number, number]
  /** Millimetres between voxel centres along i, j, k. */
  spacing: [number, number, number]
  /** LPS world position (mm) of the centre of voxel (0,0,0). */
  origin: [number, number, number]
  /** 9 numbers, row-major; column c is the unit LPS direction of index axis c. */
  direction: number[]
}

export interface VolumeInfo extends GridInfo {
  id: string
  path: string
  name: string
  /** nibabel axis code, e.g. 'LPS', 'RAS', 'PSR'. */
  orientation: string
  range: [number, number]
  /** 'CT' (intensities in HU: the readout says HU, CT windows apply) or 'MRI' (anything else); the engine's modalityFamily decides. */
  modality: 'CT' | 'MRI'
  /** Storage type of the voxels readVoxels returns. */
  dtype: VoxelType
  notes: string[]
  /** The DICOM series the scan was opened from (absent for volume files): what a DICOM-SEG export references. */
  series?: OpenedSeries
  /** The volume of a 4D file the scan is (0-based; absent for 3D files): tells two volumes of one file apart in export names. */
  volumeIndex?: number
}

/** An opened DICOM series, without PHI: its UID, listing number and description (for export names). */
export interface OpenedSeries {
  uid: string
  /** 1-based position in its folder's listing (SeriesInfo.number): tells two series of one folder apart. */
  number: number
  description: string
}

/** Voxels of a volume or a label map: i fastest, then j, then k (as the engine's Volume). */
export interface VoxelBuffer {
  dtype: VoxelType
  data: ArrayBuffer
}

export interface LabelDef {
  value: number
  name: string
  color: [number, number, number]
}

export interface BundleInfo {
  dir: string
  name: string
  description: string
  channels: { name: string; modality: string }[]
  labels: LabelDef[]
  classes?: string[]
  /** Names of the labels whose split the bundle refits to each scan's intensities (output.refinement). */
  refinement?: string[]
}

export interface SegmentRequest {
  bundleDir: string
  /** Volume ids (from openVolumes), one per model channel. */
  volumeIds: string[]
  device: DeviceChoice
  /** false: skip the bundle's intensity refinement (the model's own decision). Default true. */
  refinement?: boolean
  /** true: run even on a scan that grossly mismatches what the model accepts (the user confirmed; MODEL_UNFIT otherwise). */
  force?: boolean
}

export interface LabelStat {
  value: number
  name: string
  voxels: number
  volumeMl: number
}

/**
 * How a segmentation was made. Only model results exist so far; loaded label files and edited copies
 * will be further kinds of this union.
 */
export interface ModelSource {
  kind: 'model'
  bundleDir: string
  bundleName: string
  /** The device asked for (the one that ran is SegmentSummary.provider). */
  device: DeviceChoice
  /** Whether the bundle's intensity refinement was applied (false also when it has none). */
  refinement: boolean
  /** The volumes given to the model, one per channel; the first is the scan that owns the result. */
  volumeIds: string[]
}

/** A segmentation the user edited: a copy of `baseRunId` (a result of the same scan), or drawn on an empty map. */
export interface EditedSource {
  kind: 'edited'
  /** The segmentation it was copied from; absent when drawn from scratch. */
  baseRunId?: string
  /** What it is called in titles and default export names (e.g. "<model> edited"). */
  name: string
}
/** A segmentation file loaded as labels of the scan (on its grid, or resampled by nearest neighbour when asked). */
export interface FileSource {
  kind: 'file'
  path: string
  /** The file's name, for titles. */
  name: string
}
/** A taught model's prediction on the scan (the Teach panel's preview): not saved until saveTaught. */
export interface TaughtSource {
  kind: 'taught'
  /** The taught model (teach()'s answer) that made it. */
  teachId: string
  baseBundleName: string
  head: TeachHead
  /** What it is called in titles: "taught <labels> (<head>)". */
  name: string
}
/** One segmentation, owned by one scan: its label map lies on that scan's grid. */
export interface SegmentSummary {
  runId: string
  /** The scan that owns this segmentation (the first input): its label map is on this volume's grid. */
  volumeId: string
  source: ModelSource | EditedSource | FileSource | TaughtSource
  /** The labels with their names and colours, as the model declared them. */
  labels: LabelDef[]
  /** When the result was made (ISO 8601, UTC). */
  createdAt: string
  provider: string
  notes: string[]
  /** What the user must see as a warning: the scan's misfit with the model, a refinement that did not converge. */
  warnings?: string[]
  elapsedMs: number
  stats: LabelStat[]
  classification?: { classes: string[]; probabilities: number[] }
}

/**
 * The document model: a workspace holds scans, and each scan owns its segmentations. What the views,
 * label table, 3D view, status bar and export show is always the shown segmentation of the shown scan.
 */
export interface ScanDocument {
  volume: VolumeInfo
  /** Oldest first; several results per scan are kept. */
  segmentations: SegmentSummary[]
  /** The runId of the segmentation shown with this scan ('' = none). */
  shownRunId: string
}

export interface ProgressEvent {
  runId?: string
  stage: string
  fraction: number
  message: string
  /** Teaching only: the epoch just finished (the Teach panel's live curve). */
  epoch?: TeachEpoch
}

/** The head a Teach run trains on its features. */
export const TEACH_HEADS = ['linear', 'mlp'] as const
/** The Teach panel's epoch cap (early stopping usually ends far sooner; the engine's own bound is LIMITS.epochs). */
export const TEACH_MAX_EPOCHS = 1000
export type TeachHead = (typeof TEACH_HEADS)[number]

/**
 * What the head reads, as the CLI's --features: 'filters' (the multi-scale filter bank on the first
 * scan's own grid, the default), or taps on the base network ('network,filters', 'network'), which
 * exist only in the base bundle's model space, so the whole taught model runs there (docs/teach.md).
 */
export const TEACH_FEATURES = ['filters', 'network,filters', 'network'] as const
export type TeachFeatures = (typeof TEACH_FEATURES)[number]

/**
 * Which slices are complete (as the CLI's --labelled-slices): only those slices are training data and
 * their unpainted voxels are background. Without it, every painted voxel is data and every unpainted
 * one unknown; background is then whatever is painted with a label not learned.
 */
export interface CompleteSlices {
  plane: SlicePlane
  /** Slices 0, every, 2·every, … along the voxel axis closest to the plane's normal. */
  every?: number
  /** Or these slice numbers. */
  list?: number[]
}

/** Another open scan to teach from: a segmentation of it and how its labelled slices are given. */
export interface TeachScan {
  volumeId: string
  /** A segmentation of that scan (on its grid) holding the labels to learn. */
  runId: string
  slices?: CompleteSlices
}

export interface TeachRequest {
  /** The shown scan (the first training scan; the preview is on it). */
  volumeId: string
  /** The segmentation of that scan whose labels are the training data (a loaded file, an edited layer). */
  runId: string
  baseBundleDir: string
  /** The label values to learn, each a class; painted voxels of other labels count as background. */
  learn: number[]
  slices?: CompleteSlices
  /** Further open scans to train on, each on its own grid (at most 15: 16 scans in all). */
  otherScans?: TeachScan[]
  head: TeachHead
  /** What the head reads (default 'filters'). */
  features?: TeachFeatures
  /** Cap on the training epochs (early stopping may end sooner). */
  maxEpochs?: number
  /** The bundle keeps each label's largest connected part. */
  largestComponent?: boolean
  seed?: number
}

/** One training epoch: loss on the training voxels, loss and Dice per class on the held-out slices (null: no voxels). */
export interface TeachEpoch {
  epoch: number
  trainLoss: number
  validationLoss: number | null
  validationDice: (number | null)[]
}

/** A taught model, kept by the app core until saved or its scan is closed; its preview is a segmentation of the scan. */
export interface TeachSummary {
  teachId: string
  preview: SegmentSummary
  history: TeachEpoch[]
  /** The epoch whose weights were kept (lowest validation loss). */
  best: TeachEpoch
  /** Label value of each class index (0 = background first). */
  values: number[]
  /** Labelled voxels per label value, in model space. */
  labelledVoxels: Record<string, number>
  features: TeachFeatures
  /** The base graph values the head read as network features (the engine's names); [] for filters alone. */
  taps: string[]
  elapsedMs: number
}

/** The base bundle's network as a torchinfo-style table; teaching trains only the new head. */
export interface BaseSummary {
  name: string
  /** The transfer toolkit's table, every row of the base network frozen (Trainable False). */
  table: string
  /** Top-level modules of the base network, all frozen. */
  frozen: string[]
  /** Filter-bank features the head reads, and the MLP head's hidden units. */
  features: number
  hidden: number
  /** The base's network features ('network' in TeachFeatures). */
  network: BaseNetworkFeatures
  note: string
}

/** What teaching with network features would tap on a base bundle, as the engine resolves it. */
export interface BaseNetworkFeatures {
  /** The tapped graph values (the decoder's last feature map, e.g. 'decoder_0.1/Relu'); [] when the base has none. */
  taps: string[]
  /** Their channels: the head's network features. */
  channels: number
  /** The base's model space in words, where a model with network features runs (e.g. '128×128×128 voxels of 2 mm, RAS'). */
  space: string
  /** Why this base offers no network features (one line); absent when it does. */
  unavailable?: string
}

/**
 * What can be exported from a run; the file format follows the extension of the path:
 * labels .nii.gz/.nii/.nrrd, statistics .csv/.json, mesh .obj (one object per label) or .stl;
 * dicom-seg: a DICOM Segmentation (.dcm) referencing the scan's series (VolumeInfo.series), AUTOMATIC
 * for a model's result, MANUAL for an edited copy or a loaded file.
 */
export const EXPORT_KINDS = ['labels', 'statistics', 'mesh', 'dicom-seg'] as const
export type ExportKind = (typeof EXPORT_KINDS)[number]

export interface ExportOptions {
  /**
   * Replace an existing file at the path (default false: refused with OUTPUT_EXISTS, so the app can ask
   * the user); an open volume, an input or a model bundle is never replaced (OUTPUT_CONFLICT).
   */
  overwrite?: boolean
  /** The scan the user is exporting from; refused (BAD_ARGUMENT) when the run belongs to another scan. */
  volumeId?: string
}

/**
 * An edited label map sent to the app core, as run-length changes against a base: the base
 * segmentation's labels (`baseRunId`, a segmentation of the same scan) or an empty map. `runs` holds
 * triplets (first voxel offset, voxel count, new value), offsets in the scan's voxel order (i fastest).
 */
export interface EditedLabels {
  volumeId: string
  baseRunId?: string
  /** An earlier edited copy of this scan that this one replaces (the core frees it). */
  replaceRunId?: string
  runs: number[]
  labels: LabelDef[]
}
/** The three slice views, each named by the plane it shows. */
export const SLICE_PLANES = ['axial', 'coronal', 'sagittal'] as const
export type SlicePlane = (typeof SLICE_PLANES)[number]
/** How loadLabelFile may bring a segmentation on another grid onto the scan's (labels: nearest neighbour only). */
export const LABEL_RESAMPLINGS = ['nearest'] as const
export type LabelResampling = (typeof LABEL_RESAMPLINGS)[number]
/** Interpolate one label of an edited map (EditedLabels) between the slices that hold it. */
export interface InterpolateRequest extends EditedLabels {
  /** The label value to interpolate. */
  label: number
  /** Interpolate between slices of this view (along its normal). */
  plane: SlicePlane
}
/** What failed: a SegError's code, or INTERNAL for anything else (a bug). The UI acts on it, never on the message. */
export type ApiErrorCode = SegErrorCode | 'INTERNAL'
/** A failure the UI can show as is: the engine's error code and its one-line message. */
export interface ApiError {
  code: ApiErrorCode
  message: string
}

/**
 * One series of a DICOM folder, as the series picker lists it. Patient name and ID are for the
 * person choosing (shown in the UI only): the core never puts them in a message, note or log.
 */
export interface SeriesInfo {
  /** SeriesInstanceUID: what openVolumes' `series` choice names. */
  uid: string
  /** 1-based position in the listing (the CLI's --series N). */
  number: number
  /** 'image', or the kind of a non-image object (SEG, SR, PR, RTSTRUCT, …), listed but not openable. */
  kind: string
  modality: string
  patientName: string
  patientId: string
  studyDescription: string
  seriesDescription: string
  /** StudyDate or SeriesDate as stored (YYYYMMDD), '' when absent. */
  date: string
  /** Files and frames in the series. */
  images: number
  frames: number
  /** Columns × rows × frames (for an image series). */
  dimensions: [number, number, number]
}

/** What a path holds, before opening it: the series of a DICOM folder or file, or the volumes of a file. */
export interface PathContents {
  /** True for a DICOM folder, DICOMDIR or DICOM file: open one of `series` (its uid as the choice). */
  dicom: boolean
  /** In listing order (the CLI's numbering); empty unless `dicom`. */
  series: SeriesInfo[]
  /** What the folder scan skipped, one line without PHI ('' = nothing). */
  skipped: string
  /** 3D volumes in a volume file (4D files: more than 1, open one with `volume`); 1 for DICOM. */
  volumes: number
}

/** Which part of a path to open: a DICOM series (by SeriesInstanceUID) and/or a volume (0-based) of a 4D file. */
export interface OpenChoice {
  series?: string
  volume?: number
}

/** Facts about the host that the UI adapts to (no file dialogs in a plain browser). */
export interface HostInfo {
  kind: 'electron' | 'browser'
  /** A bundle folder to offer first (the embedded demo), when there is one. */
  defaultBundleDir?: string
}

export interface SegTransferApi {
  hostInfo(): Promise<HostInfo>
  /**
   * Opens scans; `choices[i]` (optional) says which series of a DICOM folder or which volume of a 4D
   * file paths[i] means. A folder with several image series, or a 4D file, is refused without one.
   */
  openVolumes(paths: string[], choices?: OpenChoice[]): Promise<VolumeInfo[]>
  /** What `path` holds (DICOM series, or the volume count of a file), so the UI can offer a choice. */
  listSeries(path: string): Promise<PathContents>
  /** The voxels of an open volume (for display); large, so sent as a binary buffer. */
  readVoxels(volumeId: string): Promise<VoxelBuffer>
  /** Frees an open volume's voxels in the app; its id is unknown afterwards (closing it again is harmless). */
  closeVolume(volumeId: string): Promise<void>
  openBundle(dir: string): Promise<BundleInfo>
  segment(req: SegmentRequest): Promise<SegmentSummary>
  cancel(): Promise<void>
  /**
   * The label map of a run, on the grid of the scan that owns it (its first input). With `volumeId`,
   * refused unless that scan is the run's own.
   */
  readLabels(runId: string, volumeId?: string): Promise<VoxelBuffer>
  /**
   * Label map, statistics or label surfaces (see ExportKind); resolves with the path written. An
   * existing file is replaced only with `options.overwrite` (the app asks the user first); the path of
   * any open volume never.
   */
  exportRun(runId: string, kind: ExportKind, outPath: string, options?: ExportOptions): Promise<string>
  /**
   * Makes a core-side segmentation of the scan from an edited label map (see EditedLabels), so it can be
   * exported like a model result (exportRun, same overwrite rules, the scan's own header).
   */
  putEditedLabels(edit: EditedLabels): Promise<SegmentSummary>
  /**
   * The voxel offsets that interpolating `label` between its labelled slices fills (morphological contour
   * interpolation in the engine), for the map described as in putEditedLabels; the UI applies them as an
   * undoable edit. Nothing is kept in the core.
   */
  interpolateLabels(req: InterpolateRequest): Promise<number[]>
  /**
   * Loads a segmentation file (NIfTI, NRRD, MetaImage; integer values) as a segmentation of the scan,
   * with label names from a sidecar when there is one. Another grid is refused (GRID_MISMATCH) unless
   * `resample: 'nearest'`.
   */
  loadLabelFile(volumeId: string, path: string, options?: { resample?: LabelResampling }): Promise<SegmentSummary>
  /** Frees a run's label map in the app; its id is unknown afterwards (forgetting it again is harmless). */
  forgetRun(runId: string): Promise<void>
  /** The base bundle's network summary for the Teach panel (what stays frozen). */
  summarizeBase(bundleDir: string): Promise<BaseSummary>
  /**
   * Trains a head on the labels of a segmentation of the scan (in a worker; progress events carry each
   * epoch; cancel() stops it) and adds its prediction on the scan as a new segmentation (`preview`).
   */
  teach(req: TeachRequest): Promise<TeachSummary>
  /**
   * Writes the taught model as a bundle folder. An existing bundle is replaced only with
   * `overwrite` (else OUTPUT_EXISTS, so the app can ask); the base bundle, an open scan or a non-bundle
   * folder never (OUTPUT_CONFLICT).
   */
  saveTaught(teachId: string, outDir: string, options?: { overwrite?: boolean; name?: string }): Promise<string>
  onProgress(listener: (e: ProgressEvent) => void): () => void
}

/** The request/response methods (everything but the progress subscription). */
export type ApiMethod = Exclude<keyof SegTransferApi, 'onProgress'>

/** Methods whose result is a VoxelBuffer: the HTTP bridge sends them as raw bytes. */
export const BINARY_METHODS: readonly ApiMethod[] = ['readVoxels', 'readLabels']

/** IPC channel names, one per method; main validates every argument it receives on them. */
export const CHANNELS = {
  hostInfo: 'segtransfer:host-info',
  openVolumes: 'segtransfer:open-volumes',
  listSeries: 'segtransfer:list-series',
  readVoxels: 'segtransfer:read-voxels',
  closeVolume: 'segtransfer:close-volume',
  openBundle: 'segtransfer:open-bundle',
  segment: 'segtransfer:segment',
  cancel: 'segtransfer:cancel',
  readLabels: 'segtransfer:read-labels',
  exportRun: 'segtransfer:export-run',
  forgetRun: 'segtransfer:forget-run',
  putEditedLabels: 'segtransfer:put-edited-labels',
  interpolateLabels: 'segtransfer:interpolate-labels',
  loadLabelFile: 'segtransfer:load-label-file',
  summarizeBase: 'segtransfer:summarize-base',
  teach: 'segtransfer:teach',
  saveTaught: 'segtransfer:save-taught',
  progress: 'segtransfer:progress'
} as const satisfies Record<ApiMethod | 'progress', string>

/** Result envelope of every call over IPC or HTTP: errors cross as {code, message}, never thrown. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ApiError }

/** The Error a client throws for a failed call: the message is the engine's one line. */
export class ApiCallError extends Error {
  readonly code: ApiErrorCode
  constructor(err: ApiError) {
    super(err.message)
    this.name = 'ApiCallError'
    this.code = err.code
  }
}
