/** Shared by the DICOM tests: series written by independent tools, and world-space comparison. */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { REPO } from '../helpers/data'
import { readDicomSeg } from '../../src/engine/dicom/seg'
import { readVolume } from '../../src/engine/volume/read'
import { indexToWorld } from '../../src/engine/volume/affine'
import { orientationOf, reorient } from '../../src/engine/volume/orientation'
import type { Volume } from '../../src/engine/volume/volume'

export const PYTHON = '/usr/bin/python3'
export const have = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { encoding: 'utf8' }).error === undefined
export const toolsThere = have('plastimatch', ['--version']) && have('dcm2niix', ['-v']) && have('dciodvfy', ['-']) &&
  spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0
export const TOOLS_HINT = 'needs plastimatch, dcm2niix, dicom3tools and python3-pydicom (apt-get install dcm2niix dicom3tools plastimatch python3-pydicom)'

/**
 * Writes `nifti` as a DICOM series with plastimatch into `dir`, then renames the files so that
 * name order is not slice order (a fixed permutation: the reader must sort by position).
 */
export function plastimatchSeries(nifti: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  const r = spawnSync('plastimatch', ['convert', '--input', nifti, '--output-dicom', dir], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`plastimatch failed: ${r.stderr}`)
  const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort()
  const n = files.length
  const renamed = files.map((f, i) => {
    const to = join(dir, `im${String((i * 7919 + 13) % n).padStart(4, '0')}_x.dcm`)
    renameSync(join(dir, f), to)
    return to
  })
  return renamed
}

/** What write_series.py puts in a series besides the voxels and geometry (see its usage line). */
export interface SeriesOptions {
  modality?: 'CT' | 'MR'
  seriesNumber?: number
  description?: string
  patientName?: string
  patientId?: string
  /** Series written with the same study UID belong to one study. */
  studyUid?: string
  seed?: number
  /** Bytes of a private element in each header (vendors' private data makes headers this long). */
  privateBytes?: number
}

/**
 * Writes `nifti` as a DICOM series with pydicom (test/fixtures/dicom/write_series.py) into `dir`:
 * geometry at full DS precision, files named and written in a shuffled order. Returns `dir`.
 */
export function pydicomSeries(nifti: string, dir: string, o: SeriesOptions = {}): string {
  const flags: [string, string | number | undefined][] = [
    ['--modality', o.modality], ['--series-number', o.seriesNumber], ['--description', o.description], ['--patient-name', o.patientName],
    ['--patient-id', o.patientId], ['--study-uid', o.studyUid], ['--seed', o.seed], ['--private-bytes', o.privateBytes]
  ]
  const args = flags.flatMap(([flag, v]) => (v === undefined ? [] : [flag, String(v)]))
  const r = spawnSync(PYTHON, [join(REPO, 'test/fixtures/dicom/write_series.py'), nifti, dir, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`write_series.py failed: ${r.stderr}`)
  return dir
}

/** dciodvfy's (dicom3tools) verdict on a file: the IOD it validated against and its error lines. */
export function dciodvfy(path: string): { iod: string; errors: string[] } {
  const v = spawnSync('dciodvfy', [path], { encoding: 'utf8' })
  const lines = (v.stdout + v.stderr).split('\n')
  return { iod: lines.find((l) => /^[A-Z][A-Za-z ]+$/.test(l)) ?? '', errors: lines.filter((l) => /^Error/.test(l)) }
}

/** What pydicom reads from a DICOM-SEG: SOP class, frames, references, segments and pixel array shape. */
export interface PydicomSeg {
  sop: string
  frames: number
  frameOfReference: string
  series: string
  refs: number
  /** [number, label, algorithm type, algorithm name ('' when absent), type code 'SCHEME:VALUE']. */
  segments: [number, string, string, string, string][]
  pixels: number[]
}

export function pydicomSeg(path: string): PydicomSeg {
  const py = spawnSync(PYTHON, ['-c', `
import json, sys, pydicom
d = pydicom.dcmread(sys.argv[1])
r = d.ReferencedSeriesSequence[0]
print(json.dumps({"sop": d.SOPClassUID, "frames": int(d.NumberOfFrames), "frameOfReference": d.FrameOfReferenceUID,
  "series": r.SeriesInstanceUID, "refs": len(r.ReferencedInstanceSequence),
  "segments": [[int(s.SegmentNumber), s.SegmentLabel, s.SegmentAlgorithmType, s.get("SegmentAlgorithmName", ""),
    s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator + ":" + s.SegmentedPropertyTypeCodeSequence[0].CodeValue] for s in d.SegmentSequence],
  "pixels": list(d.pixel_array.shape)}))`, path], { encoding: 'utf8' })
  if (py.status !== 0) throw new Error(`pydicom could not read ${path}: ${py.stderr}`)
  return JSON.parse(py.stdout)
}

/** FrameOfReferenceUID and SeriesInstanceUID of a series folder's first file, as pydicom reads them. */
export function pydicomSeriesUids(dir: string): { frameOfReference: string; series: string } {
  const py = spawnSync(PYTHON, ['-c', `
import glob, json, sys, pydicom
d = pydicom.dcmread(sorted(glob.glob(sys.argv[1] + "/*.dcm"))[0])
print(json.dumps({"frameOfReference": d.FrameOfReferenceUID, "series": d.SeriesInstanceUID}))`, dir], { encoding: 'utf8' })
  if (py.status !== 0) throw new Error(`pydicom could not read ${dir}: ${py.stderr}`)
  return JSON.parse(py.stdout)
}

/** The number of voxels where two label maps of one grid differ (-1 when their sizes differ). */
export function differingVoxels(a: Volume, b: Volume): number {
  if (a.data.length !== b.data.length) return -1
  let n = 0
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) n++
  return n
}

/**
 * The checks of a DICOM-SEG of the brain model's result on the FLAIR series (140 slices, 124×160):
 * dciodvfy finds no error in the Segmentation IOD; pydicom reads the three AUTOMATIC segments with
 * their SNOMED-CT codes, 420 frames and the series' Frame of Reference and instances; our reader
 * re-imports labels equal to the NIfTI export `nii`, on its grid within `tolMm`.
 */
export async function expectFlairSeg(seg: string, seriesDir: string, nii: string, tolMm: number): Promise<void> {
  expect(dciodvfy(seg)).toEqual({ iod: 'Segmentation', errors: [] })
  const got = pydicomSeg(seg)
  const src = pydicomSeriesUids(seriesDir)
  expect(got.sop).toBe('1.2.840.10008.5.1.4.1.1.66.4')
  expect([got.frameOfReference, got.series, got.refs]).toEqual([src.frameOfReference, src.series, 140])
  expect(got.frames).toBe(3 * 140) // three segments, every slice of the series
  expect(got.pixels).toEqual([420, 160, 124])
  expect(got.segments).toEqual([
    [1, 'CSF', 'AUTOMATIC', expect.stringMatching(/^Brain tissue ResUNet .* \d{4}-\d\d-\d\d$/), 'SCT:65216001'],
    [2, 'grey matter', 'AUTOMATIC', expect.any(String), 'SCT:389081007'],
    [3, 'white matter', 'AUTOMATIC', expect.any(String), 'SCT:389080008']
  ])
  const back = await readDicomSeg(seg)
  const ref = await readVolume(nii)
  expect(back.labels.size).toEqual(ref.size)
  expect(cornerDistance(back.labels, ref)).toBeLessThan(tolMm)
  expect(differingVoxels(back.labels, ref)).toBe(0)
  expect(back.segments.map((s) => s.label)).toEqual(['CSF', 'grey matter', 'white matter'])
}

/** The largest distance (mm) between the world positions of the 8 corner voxels of two grids. */
export function cornerDistance(a: Volume, b: Volume): number {
  let worst = 0
  for (let c = 0; c < 8; c++) {
    const ijk = [0, 1, 2].map((ax) => ((c >> ax) & 1 ? a.size[ax] - 1 : 0))
    const p = indexToWorld(a, ijk)
    const q = indexToWorld(b, ijk)
    worst = Math.max(worst, Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]))
  }
  return worst
}

/**
 * `ours` brought to `ref`'s voxel order by an exact permutation/flip (geometry recomputed, not
 * copied): the size, the largest corner distance in mm and the number of voxels that differ.
 */
export function compareInWorld(ours: Volume, ref: Volume): { size: number[]; mm: number; differing: number } {
  const moved = reorient(ours, orientationOf(ref))
  let differing = 0
  for (let i = 0; i < ref.data.length; i++) if (moved.data[i] !== ref.data[i]) differing++
  return { size: moved.size, mm: cornerDistance(moved, ref), differing }
}
