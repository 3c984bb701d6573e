/**
 * A DICOM folder with two series, written by an independent tool (plastimatch) from real scans, with
 * a known patient name and ID (to prove they never reach a message) and a stray non-DICOM file.
 * Shared by the app's core test (test/main/dicom-open.test.ts) and its e2e (test/e2e/dicom.e2e.test.ts).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { data } from './data'

export const HAVE_PLASTIMATCH = spawnSync('plastimatch', ['--version']).error === undefined
/** As written (DICOM PN, '^' between family and given name) and as the listing shows it. */
export const PATIENT = { name: 'Doe^Jane', shown: 'Doe Jane', id: 'PID-7731' }
/** The two series, by description, with the scan each was written from. */
export const SERIES = [
  { description: 'Spine T2 sagittal', nifti: 'spine/t2.nii.gz', size: [60, 55, 52] },
  { description: 'Brain T1 axial', nifti: 'geometry/t1_RAS.nii.gz', size: [64, 79, 67] }
] as const

/** Writes the folder under `dir` and returns its path. */
export function twoSeriesFolder(dir: string): string {
  const folder = join(dir, 'study')
  SERIES.forEach((s, i) => {
    const out = join(folder, `s${i + 1}`)
    mkdirSync(out, { recursive: true })
    const r = spawnSync('plastimatch', ['convert', '--input', data(s.nifti), '--output-dicom', out, '--patient-name', PATIENT.name, '--patient-id', PATIENT.id,
      '--series-description', s.description, '--series-number', String(i + 1)], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`plastimatch failed: ${r.stderr}`)
  })
  writeFileSync(join(folder, 'README.txt'), 'not an image\n')
  return folder
}
