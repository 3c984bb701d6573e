/**
 * The CLI's DICOM hook: inputs that are DICOM (a folder, a DICOMDIR, a DICOM file) become
 * Volumes of the chosen series; `.dcm` outputs are written as DICOM-SEG referencing that series.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SegError } from '../engine/errors'
import type { Manifest } from '../engine/bundle/manifest'
import { describeSeries, isDicomPath, openDicom, type OpenedDicom } from '../engine/dicom/open'
import { scanDicom, skippedSummary } from '../engine/dicom/scan'
import { algorithmName, writeDicomSegTo } from '../engine/dicom/seg'
import type { Volume } from '../engine/volume/volume'
import type { CommandIO } from './io'

export interface ResolvedInputs {
  inputs: (string | Volume)[]
  /** The first input's series when it is DICOM (the one a DICOM-SEG output references). */
  dicom?: OpenedDicom
}

/** The refusal of a DICOM-SEG `out` whose first input is not a DICOM series. */
const needsDicomInput = (out: string): SegError =>
  new SegError('BAD_ARGUMENT', `${out} asks for DICOM-SEG, which needs a DICOM series as the first --input; expected a .nii.gz, .nii or .nrrd output for other inputs`)

/**
 * Opens DICOM inputs (`series`: number or UID, see chooseSeries); other paths pass through.
 * Refuses a DICOM-SEG `out` without a DICOM first input before any inference runs.
 */
export async function resolveInputs(paths: readonly string[], series: string | undefined, out: string): Promise<ResolvedInputs> {
  const resolved: ResolvedInputs = { inputs: [] }
  for (const p of paths) {
    if (!(await isDicomPath(p))) {
      resolved.inputs.push(p)
      continue
    }
    const opened = await openDicom([p], series)
    resolved.dicom ??= opened
    resolved.inputs.push(opened.volume)
  }
  if (series !== undefined && resolved.dicom === undefined) throw new SegError('BAD_ARGUMENT', '--series applies to DICOM inputs only; expected --input <DICOM folder or file>')
  if (isDicomSegPath(out) && !(resolved.inputs[0] && typeof resolved.inputs[0] !== 'string')) throw needsDicomInput(out)
  return resolved
}

/** True when the output path asks for DICOM-SEG. */
export const isDicomSegPath = (p: string): boolean => p.toLowerCase().endsWith('.dcm')

/**
 * Writes labels (on the DICOM series' grid) as DICOM-SEG for `out` at `tempPath` (the temp file of
 * the command's one atomic write of its outputs), refusing a non-DICOM first input.
 */
export async function writeSegOutput(labels: Volume, resolved: ResolvedInputs, m: Manifest, out: string, tempPath: string): Promise<void> {
  if (!resolved.dicom) throw needsDicomInput(out)
  await writeDicomSegTo(labels, resolved.dicom.sortedFiles, { labels: m.output.labels, algorithm: algorithmName(m), algorithmType: 'AUTOMATIC' }, tempPath, out)
}

/** True when `info` should list DICOM series: a DICOM path that is not a bundle folder. */
export async function isDicomListing(path: string): Promise<boolean> {
  return (await isDicomPath(path)) && !existsSync(join(path, 'manifest.json'))
}

/**
 * Prints the series under `path` (one line each, patient name/ID only with `showPhi`) and what
 * the scan skipped.
 */
export async function listDicom(path: string, json: boolean, showPhi: boolean, io: CommandIO): Promise<number> {
  const scan = await scanDicom([path])
  if (scan.series.length === 0) {
    const skipped = skippedSummary(scan.skipped)
    throw new SegError('NOT_AN_IMAGE', `no DICOM series in ${path} (${scan.filesSeen} file(s)${skipped ? `, ${skipped}` : ''}); expected a DICOM folder or file, a volume file, or a bundle folder with manifest.json`)
  }
  const rows = scan.series.map((s) => ({
    number: s.number,
    uid: s.uid,
    kind: s.kind,
    modality: s.modality,
    date: s.display.date,
    studyDescription: s.display.studyDescription,
    seriesDescription: s.display.seriesDescription,
    images: s.images,
    frames: s.frames,
    dimensions: s.kind === 'image' ? [...s.dimensions, s.frames] : s.dimensions,
    ...(showPhi ? { patientName: s.display.patientName, patientId: s.display.patientId } : {})
  }))
  if (json) {
    io.out(JSON.stringify({ series: rows, skipped: scan.skipped, filesSeen: scan.filesSeen }, null, 2))
    return 0
  }
  io.out(`DICOM        ${scan.series.length} series in ${scan.filesSeen} file(s) under ${path}`)
  for (const r of rows) {
    const who = showPhi ? ` patient "${r.patientName}" (${r.patientId})` : ''
    io.out(`series ${describeSeries(scan.series[r.number - 1])}; date ${r.date || '?'}${r.studyDescription ? `; study "${r.studyDescription}"` : ''}${who}`)
  }
  const skipped = skippedSummary(scan.skipped)
  if (skipped) io.out(`skipped      ${skipped}`)
  return 0
}
