/**
 * DICOM-SEG export from the app: the scan must have been opened from a DICOM series, whose slices
 * the SEG references (Frame of Reference, Referenced Series/Instance UIDs; src/engine/dicom/seg.ts).
 * A model's result is AUTOMATIC; an edited copy or a loaded label file is MANUAL.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { VolumeInfo } from '../shared/contract'
import { SegError } from '../engine/errors'
import type { SegMeta } from '../engine/dicom/seg'
import type { Volume } from '../engine/volume/volume'

/**
 * How a segmentation was made, as a DICOM-SEG says it: its labels, and `algorithm` (SegmentAlgorithmName
 * for a model's result: bundle name and version; a description otherwise) with its type.
 */
export type SegProvenance = Pick<SegMeta, 'labels' | 'algorithm' | 'algorithmType'>

export const EDITED: Pick<SegProvenance, 'algorithm' | 'algorithmType'> = { algorithm: 'edited in SegTransfer', algorithmType: 'MANUAL' }
/** A Teach panel preview: a model the user taught from their own labels on this scan. */
export const TAUGHT: Pick<SegProvenance, 'algorithm' | 'algorithmType'> = { algorithm: 'taught in SegTransfer', algorithmType: 'SEMIAUTOMATIC' }
export const LOADED: Pick<SegProvenance, 'algorithm' | 'algorithmType'> = { algorithm: 'label file loaded in SegTransfer', algorithmType: 'MANUAL' }

/**
 * The series files a DICOM-SEG of `scan` references, checked before anything is written.
 * Throws BAD_ARGUMENT when the scan was not opened from a DICOM series or the path is not a .dcm;
 * FILE_NOT_FOUND when a file of the series is gone since it was opened (the converter would fail
 * with a bare number). Messages name files and the scan, never a DICOM attribute (no PHI).
 */
export function dicomSegSource(scan: { info: VolumeInfo; volume: Volume }, outPath: string): { path: string }[] {
  if (!scan.info.series) {
    throw new SegError('BAD_ARGUMENT', `${scan.info.name} was not opened from a DICOM series, which a DICOM-SEG must reference; expected a scan opened from a DICOM folder or file (or a .nii.gz/.nrrd export)`)
  }
  if (!outPath.toLowerCase().endsWith('.dcm')) {
    throw new SegError('BAD_ARGUMENT', `${path.basename(outPath)}: a DICOM-SEG is written as a .dcm file; expected a path ending in .dcm`)
  }
  const files = scan.volume.source?.files ?? []
  const gone = files.filter((p) => !existsSync(p))
  if (gone.length > 0) {
    throw new SegError('FILE_NOT_FOUND', `${gone.length} of the ${files.length} files of ${scan.info.name} are gone since it was opened (${path.basename(gone[0])}${gone.length > 1 ? ', …' : ''}); expected the series as opened, which a DICOM-SEG references`)
  }
  return files.map((p) => ({ path: p }))
}
