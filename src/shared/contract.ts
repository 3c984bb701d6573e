/**
 * The typed API between the renderer and the app core, written once. Electron's preload exposes it
 * over IPC (src/preload), and the browser build reaches the same contract over HTTP from a Node
 * bridge. Only plain, structured-cloneable data crosses: voxel buffers as ArrayBuffers with their grid.
 */
export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml'

export interface GridInfo {
  size: [number, number, number]
  spacing: [number, number, number]
  origin: [number, number, number]
  direction: number[]
}

export interface VolumeInfo extends GridInfo {
  id: string
  path: string
  name: string
  orientation: string
  range: [number, number]
  notes: string[]
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
}

export interface SegmentRequest {
  bundleDir: string
  /** Volume ids (from openVolumes), one per model channel. */
  volumeIds: string[]
  device: DeviceChoice
}

export interface LabelStat {
  value: number
  name: string
  voxels: number
  volumeMl: number
}

export interface SegmentSummary {
  runId: string
  provider: string
  notes: string[]
  elapsedMs: number
  stats: LabelStat[]
  classification?: { classes: string[]; probabilities: number[] }
}

export interface ProgressEvent {
  runId?: string
  stage: string
  fraction: number
  message: string
}

/** A failure the UI can show as is: the engine's error code and its one-line message. */
export interface ApiError {
  code: string
  message: string
}

export interface SegTransferApi {
  openVolumes(paths: string[]): Promise<VolumeInfo[]>
  openBundle(dir: string): Promise<BundleInfo>
  segment(req: SegmentRequest): Promise<SegmentSummary>
  cancel(): Promise<void>
  exportLabels(runId: string, outPath: string): Promise<string>
  onProgress(listener: (e: ProgressEvent) => void): () => void
}

/** IPC channel names, one per method; main validates every argument it receives on them. */
export const CHANNELS = {
  openVolumes: 'segtransfer:open-volumes',
  openBundle: 'segtransfer:open-bundle',
  segment: 'segtransfer:segment',
  cancel: 'segtransfer:cancel',
  exportLabels: 'segtransfer:export-labels',
  progress: 'segtransfer:progress'
} as const
