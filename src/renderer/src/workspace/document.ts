/**
 * Pure helpers of the document model (src/shared/contract.ts ScanDocument: a workspace holds scans,
 * each scan owns its segmentations): titles, captions, default export names and the scans a
 * multi-channel model may take beside the shown one. No state here; the session store holds it.
 */
import type { OpenedSeries, ScanDocument, SegmentSummary, VolumeInfo } from '../../../shared/contract'
import { sameGrid } from '../../../shared/grid'

/** Extensions of the volume formats the app opens, longest first ('.nii.gz' before '.nii'). */
const VOLUME_EXT = /(\.nii\.gz|\.nii|\.nrrd|\.nhdr|\.mha|\.mhd)$/i

/** What made a segmentation, as a name: the model's, or the edited copy's ("<model> edited"). */
export function sourceName(seg: SegmentSummary): string {
  return seg.source.kind === 'model' ? seg.source.bundleName : seg.source.name
}

/** One line on how a segmentation was made, for the Segmentations panel. */
export function describeSource(seg: SegmentSummary): string {
  const src = seg.source
  if (src.kind === 'edited') return `${src.name} · edited by hand`
  if (src.kind === 'taught') return `${src.name} · taught on ${src.baseBundleName}'s preprocessing, not saved until Save in the Teach panel`
  if (src.kind === 'file') return `loaded from ${src.path}${seg.notes.length ? ` · ${seg.notes.join('; ')}` : ''}`
  return `${src.bundleName} · ${seg.provider} (asked: ${src.device})${src.refinement ? ' · refined' : ''}`
}

/** Segmentations made the same way (same model, or same edited name) are numbered together. */
const sourceKey = (seg: SegmentSummary) => (seg.source.kind === 'model' ? `model:${seg.source.bundleDir}` : `${seg.source.kind}:${seg.source.name}`)

/** 1 for the first result of a model on its scan, 2 for the second, …: tells same-model results apart. */
export function ordinalOf(doc: ScanDocument, seg: SegmentSummary): number {
  const same = doc.segmentations.filter((s) => sourceKey(s) === sourceKey(seg))
  return same.findIndex((s) => s.runId === seg.runId) + 1
}

/** "Demo tissue classifier", or "Demo tissue classifier #2" for a later result of the same model on the scan. */
export function segmentationTitle(doc: ScanDocument, seg: SegmentSummary): string {
  const n = ordinalOf(doc, seg)
  return n > 1 ? `${sourceName(seg)} #${n}` : sourceName(seg)
}

/** What a view shows, in words: "<segmentation> on <scan>", or that the scan has none. */
export function captionOf(doc: ScanDocument | undefined): string {
  if (!doc) return ''
  const seg = doc.segmentations.find((s) => s.runId === doc.shownRunId)
  return seg ? `${segmentationTitle(doc, seg)} on ${doc.volume.name}` : `${doc.volume.name} · no segmentation`
}

/** A model name as a file-name part: lower case, runs of anything but letters and digits as one '-', at most 40 characters. */
export function slugOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '') || 'model'
}

/**
 * A DICOM series as a file-name part, without PHI: `s<listing number>` and the series description as
 * a slug, e.g. `s2-brain-t1-axial`; two series of one folder always differ (their listing numbers do).
 */
export function seriesToken(series: OpenedSeries): string {
  const described = /[a-z0-9]/i.test(series.description)
  return `s${series.number}${described ? `-${slugOf(series.description)}` : ''}`
}

/**
 * Default export paths beside the scan: `<scan>[.<series>][.v<k>].segtransfer-<model>[-n].nii.gz`, `.csv`,
 * `.obj`, `.dcm` (DICOM-SEG). The `.segtransfer-` infix keeps them apart from the names people and
 * tools give their own masks (`<scan>_seg.nii.gz`, `<scan>_mask.nii.gz`, `<scan>-label.nrrd`); `-n`
 * from the ordinal keeps two results of one model on one scan apart, the series token (seriesToken)
 * two series opened from one DICOM folder, `.v<k>` (0-based, as `--volume`) two volumes of one 4D file.
 */
export function exportPaths(scanPath: string, modelName: string, ordinal: number, series?: OpenedSeries, volumeIndex?: number): { labels: string; statistics: string; mesh: string; dicomSeg: string } {
  const scan = `${scanPath.replace(VOLUME_EXT, '')}${series ? `.${seriesToken(series)}` : ''}${volumeIndex !== undefined ? `.v${volumeIndex}` : ''}`
  const base = `${scan}.segtransfer-${slugOf(modelName)}${ordinal > 1 ? `-${ordinal}` : ''}`
  return { labels: `${base}.nii.gz`, statistics: `${base}.csv`, mesh: `${base}.obj`, dicomSeg: `${base}.dcm` }
}

/**
 * The scans a multi-channel model may take as channels 2…n beside the shown scan (channel 1): those
 * on the same grid (the engine refuses channels on different grids), the shown one excluded.
 */
export function compatibleScans(volumes: readonly VolumeInfo[], shown: VolumeInfo): VolumeInfo[] {
  return volumes.filter((v) => v.id !== shown.id && sameGrid(v, shown))
}
