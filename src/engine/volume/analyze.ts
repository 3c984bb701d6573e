/**
 * .hdr/.img pairs: NIfTI-1/2 pairs (magic "ni1"/"ni2", the header and voxels in two files) and
 * Analyze 7.5 (the same 348-byte layout without a magic and without any orientation). Both are read
 * by our NIfTI decoder; Analyze gets SPM's default orientation, as nibabel, SPM and FSL do.
 */
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { SegError } from '../errors'
import type { NiftiHeader } from './nifti-header'
import { SPM_MAT_MAX_BYTES, spmMatAffine } from './spm-mat'

/** What the reader tells the user about an Analyze file's assumed orientation. */
export const ANALYZE_ORIENTATION_NOTE =
  'Analyze 7.5 file (no orientation stored): assumed radiological storage, LAS (i towards the patient\'s left, j anterior, k superior), ' +
  'origin at SPM\'s originator voxel or else the centre, as nibabel and SPM do'

/** The path of SPM's orientation file beside an Analyze header (`x.mat` for `x.hdr`, same case). */
export function spmMatPath(headerPath: string): string {
  return headerPath.slice(0, -4) + (headerPath.slice(-4) === headerPath.slice(-4).toUpperCase() ? '.MAT' : '.mat')
}

/**
 * The RAS affine from SPM's .mat file beside an Analyze header, or null when there is none.
 * @throws SegError CORRUPT_FILE when the file is there but unusable (we would rather refuse than
 *   place the scan elsewhere than SPM and nibabel do).
 */
export async function spmOrientation(headerPath: string): Promise<number[][] | null> {
  const path = spmMatPath(headerPath)
  const info = await stat(path).catch(() => null)
  if (info === null || !info.isFile()) return null
  const result = info.size > SPM_MAT_MAX_BYTES ? { problem: 'larger than 1 MB' } : spmMatAffine(new Uint8Array(await readFile(path)))
  if ('problem' in result) {
    throw new SegError('CORRUPT_FILE', `${basename(path)}, SPM's orientation of ${basename(headerPath)}, cannot be used: ${result.problem}; expected a MATLAB file with a 4x4 'mat' or 'M' (or remove it to use the default orientation)`)
  }
  return result.affine
}

/** The notes of an Analyze file: where its orientation came from. */
export function analyzeNotes(headerPath: string, fromMat: boolean): string[] {
  return [fromMat ? `Analyze 7.5 file: orientation from SPM's ${basename(spmMatPath(headerPath))}, as SPM and nibabel` : ANALYZE_ORIENTATION_NOTE]
}

/**
 * The header and image paths of a pair, given either one (the other extension in the same case),
 * or null for a path that is not .hdr/.img.
 */
export function pairPaths(path: string): { header: string; image: string } | null {
  const ext = path.slice(-4)
  const stem = path.slice(0, -4)
  const upper = ext === ext.toUpperCase()
  if (ext.toLowerCase() === '.hdr') return { header: path, image: stem + (upper ? '.IMG' : '.img') }
  if (ext.toLowerCase() === '.img') return { header: stem + (upper ? '.HDR' : '.hdr'), image: path }
  return null
}

/** True for a NIfTI-1-layout header without a NIfTI magic ("ni1"/"n+1"): Analyze 7.5. */
export function isAnalyze(h: NiftiHeader): boolean {
  return h.version === 1 && h.magic !== 'ni1' && h.magic !== 'n+1'
}

/**
 * An Analyze header as a NIfTI header whose sform (code 2, aligned) is SPM's .mat affine when there
 * is one (`spmOrientation`), else SPM's default affine
 * (nibabel `Spm99AnalyzeHeader.get_origin_affine`): RAS = diag(-dx, dy, dz) · (ijk - o), with o the
 * originator (1-based voxel, int16 at bytes 253/255/257) minus 1 when it is set and inside
 * (-dim, 2·dim), else the centre (dim - 1) / 2. The qform code is 0: bytes 252..255 of an Analyze
 * header are the originator, not NIfTI's codes.
 * @param head the header's bytes as stored (the originator sits at odd offsets, which the byte-swap
 *   of `NiftiHeader.raw` does not keep).
 */
export function analyzeAsNifti(h: NiftiHeader, head: Uint8Array, spmAffine: number[][] | null = null): NiftiHeader {
  if (spmAffine !== null) return { ...h, qformCode: 0, sformCode: 2, srow: spmAffine.slice(0, 3) as NiftiHeader['srow'] }
  const view = new DataView(head.buffer, head.byteOffset, head.length)
  const dims = [h.dim[1], h.dim[2], h.dim[3]]
  const originator = [0, 1, 2].map((a) => view.getInt16(253 + 2 * a, h.littleEndian))
  const set = originator.some((o) => o !== 0) && originator.every((o, a) => o > -dims[a] && o < 2 * dims[a])
  const o = set ? originator.map((x) => x - 1) : dims.map((d) => (d - 1) / 2)
  const zooms = [-h.pixdim[1], h.pixdim[2], h.pixdim[3]]
  const srow = [0, 1, 2].map((r) => [0, 1, 2].map((c) => (r === c ? zooms[r] : 0)).concat(-o[r] * zooms[r])) as NiftiHeader['srow']
  return { ...h, qformCode: 0, sformCode: 2, srow }
}
