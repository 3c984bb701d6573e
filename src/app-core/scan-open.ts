/**
 * What the app core opens as a scan: a volume file (one volume of a 4D file when chosen) or one
 * series of a DICOM folder, DICOMDIR or file. The engine does the reading (src/engine/dicom, the
 * volume reader); this file only maps it to the contract's listing and choice. Patient name and ID
 * go into the listing (the picker shows them) and nowhere else: not into names, notes or errors.
 */
import path from 'node:path'
import type { OpenChoice, OpenedSeries, PathContents, SeriesInfo } from '../shared/contract'
import { SegError } from '../engine/errors'
import { isDicomPath, openDicom } from '../engine/dicom/open'
import { scanDicom, skippedSummary, type DicomSeries } from '../engine/dicom/scan'
import { readHeaderInfo } from '../engine/volume/header-info'
import { readVolume } from '../engine/volume/read'
import type { Volume } from '../engine/volume/volume'

function seriesInfo(s: DicomSeries): SeriesInfo {
  const d = s.display
  return {
    uid: s.uid, number: s.number, kind: s.kind, modality: s.modality,
    patientName: d.patientName, patientId: d.patientId, studyDescription: d.studyDescription, seriesDescription: d.seriesDescription,
    date: d.date, images: s.images, frames: s.frames, dimensions: [s.dimensions[0], s.dimensions[1], s.frames]
  }
}

/** The series of a DICOM path, or the number of volumes of a volume file (0 when its header cannot tell). */
export async function listPath(p: string): Promise<PathContents> {
  if (await isDicomPath(p)) {
    const scan = await scanDicom([p])
    return { dicom: true, series: scan.series.map(seriesInfo), skipped: skippedSummary(scan.skipped), volumes: 1 }
  }
  const header = await readHeaderInfo(p)
  return { dicom: false, series: [], skipped: '', volumes: header?.volumes ?? 0 }
}

/** How big a path's chosen scan will be in memory (null when unknown before reading: DICOM, unreadable headers). */
export async function expectedBytes(p: string): Promise<number | null> {
  const header = await readHeaderInfo(p)
  return header && header.size[0] * header.size[1] * header.size[2] * header.voxelBytes
}

/**
 * Reads the scan `choice` names at `p`.
 * @returns the volume and its display name: the file's name, with the series description (or
 *          "series N") of a DICOM series, or "volume k of n" of a 4D file; the series opened (no PHI).
 */
export async function readScan(p: string, choice: OpenChoice = {}): Promise<{ volume: Volume; name: string; series?: OpenedSeries }> {
  const base = path.basename(path.resolve(p))
  if (await isDicomPath(p)) {
    if (choice.volume !== undefined) throw new SegError('BAD_ARGUMENT', `${base} is DICOM: choose a series, not a volume`)
    const { volume, series } = await openDicom([p], choice.series)
    const opened = { uid: series.uid, number: series.number, description: series.display.seriesDescription }
    return { volume, name: `${base} · ${series.display.seriesDescription || `series ${series.number}`}`, series: opened }
  }
  if (choice.series !== undefined) throw new SegError('BAD_ARGUMENT', `${base} is not DICOM: it has no series to choose; expected a DICOM folder or file`)
  const volume = await readVolume(p, { volume: choice.volume })
  const v = volume.source?.volume
  return { volume, name: v ? `${base} · volume ${v.index} of ${v.count}` : base }
}
