/**
 * The narrow entry the CLI (and later the app) uses: is this path DICOM, which series does the
 * user mean, and that series as a Volume with what the scan skipped in its notes.
 */
import { open, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { SegError } from '../errors'
import { formatOfPath } from '../volume/read'
import { readDicomSeries, type DicomVolume } from './read-series'
import { scanDicom, skippedSummary, type DicomScan, type DicomSeries } from './scan'

/**
 * True when `path` should be read as DICOM: a folder, a DICOMDIR, or a file that is not one of the
 * volume formats (a .img is checked) and carries the "DICM" marker at byte 128.
 */
export async function isDicomPath(path: string): Promise<boolean> {
  const abs = resolve(path)
  const info = await stat(abs).catch(() => null)
  if (info === null) return false
  if (info.isDirectory() || basename(abs).toUpperCase() === 'DICOMDIR') return true
  // a .img may be the voxels of an Analyze/NIfTI pair or a DICOM file (CD exports): the marker decides
  const volumeFile = formatOfPath(abs) !== null && !abs.toLowerCase().endsWith('.img')
  if (!info.isFile() || volumeFile || info.size < 132) return false
  const fh = await open(abs, 'r')
  try {
    const buf = Buffer.alloc(4)
    await fh.read(buf, 0, 4, 128)
    return buf.toString('latin1') === 'DICM'
  } finally {
    await fh.close()
  }
}

/** One line per series for listings and errors: number, modality, kind, size, description, UID (no PHI). */
export function describeSeries(s: DicomSeries): string {
  const what = s.kind === 'image' ? `${s.dimensions[0]}×${s.dimensions[1]}×${s.frames}` : s.kind === s.modality ? 'not an image' : `${s.kind}, not an image`
  const desc = s.display.seriesDescription ? ` "${s.display.seriesDescription}"` : ''
  return `${s.number}: ${s.modality || '?'} ${what}${desc} (${s.images} file${s.images === 1 ? '' : 's'}, UID ${s.uid})`
}

/**
 * The series `selector` names (its number in the listing or its SeriesInstanceUID); without one,
 * the only image series. Throws BAD_ARGUMENT listing the series when the choice is not clear.
 */
export function chooseSeries(scan: DicomScan, selector?: string): DicomSeries {
  const images = scan.series.filter((s) => s.kind === 'image')
  const list = scan.series.map(describeSeries).join('; ')
  if (selector !== undefined) {
    const byNumber = /^\d+$/.test(selector) ? scan.series.find((s) => s.number === Number(selector)) : undefined
    const found = byNumber ?? scan.series.find((s) => s.uid === selector)
    if (!found) throw new SegError('BAD_ARGUMENT', `--series ${selector} matches no series; expected a number or UID of: ${list || 'none found'}`)
    return found
  }
  if (images.length === 1) return images[0]
  if (images.length === 0) {
    const skipped = skippedSummary(scan.skipped)
    throw new SegError('NOT_AN_IMAGE', `no DICOM image series found in ${scan.filesSeen} file(s)${skipped ? `, ${skipped}` : ''}${list ? `; found only: ${list}` : ''}; expected a folder with CT/MR image files`)
  }
  throw new SegError('BAD_ARGUMENT', `${images.length} image series found; choose one with --series <number or UID>: ${list}`)
}

export interface OpenedDicom extends DicomVolume {
  scan: DicomScan
  series: DicomSeries
}

/**
 * Scans `paths` (folders, files, a DICOMDIR) and reads the chosen series; the volume's notes say
 * which series was read and what the scan skipped.
 */
export async function openDicom(paths: readonly string[], selector?: string, maxBytes?: number): Promise<OpenedDicom> {
  let scan = await scanDicom(paths)
  let series = chooseSeries(scan, selector)
  const oneSlice = paths.length === 1 && series.files.length === 1 && series.frames === 1 && !(await stat(resolve(paths[0]))).isDirectory()
  if (oneSlice && basename(paths[0]).toUpperCase() !== 'DICOMDIR') {
    // one slice given: the user means its series, as viewers open it (files beside it, same UID)
    scan = await scanDicom([dirname(resolve(paths[0]))])
    series = chooseSeries(scan, series.uid)
  }
  const read = await readDicomSeries(series, maxBytes)
  const skipped = skippedSummary(scan.skipped)
  const notes = read.volume.source!.notes
  notes.unshift(`DICOM series ${describeSeries(series)}`)
  if (skipped) notes.push(skipped)
  return { ...read, scan, series }
}
