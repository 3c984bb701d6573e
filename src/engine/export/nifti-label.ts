/**
 * A label map as a NIfTI-1 file built from a copy of the input's own header.
 *
 * Hand-written on purpose: itk-wasm would re-derive qform and sform from the LPS geometry (which
 * cannot hold a shear, and rounds through a quaternion), losing the input's original transforms
 * and codes; then the mask would not overlay the input exactly in every viewer.
 */
import { NIFTI1_HEADER_BYTES } from '../volume/nifti-header'

/** NIFTI_INTENT_LABEL: "the values are indices into a label table". */
export const NIFTI_INTENT_LABEL = 1002

/** Largest value of an integer label array (0 when empty). */
export function maxLabel(data: Uint8Array | Uint16Array): number {
  let m = 0
  for (let k = 0; k < data.length; k++) if (data[k] > m) m = data[k]
  return m
}

/**
 * The 352-byte prefix (header + 4 zero extension bytes) of a label map written like `inputHeader`:
 * the same dim[1..3], pixdim, qform/sform and their codes, units, descrip kept; changed: dim[0] = 3
 * and dim[4..7] = 1 (a mask is one 3D volume), datatype/bitpix uint8 (2/8) or uint16 (512/16),
 * scl_slope 1, scl_inter 0, cal_min 0, cal_max = largest label, glmin/glmax 0,
 * intent_code NIFTI_INTENT_LABEL, vox_offset 352, magic "n+1".
 * @param inputHeader the input's 348-byte header, little-endian (VolumeSource.niftiHeader).
 */
export function labelHeaderLike(inputHeader: Uint8Array, uint16: boolean, calMax: number): Uint8Array {
  if (inputHeader.length !== NIFTI1_HEADER_BYTES) throw new Error(`expected a ${NIFTI1_HEADER_BYTES}-byte NIfTI-1 header`)
  const out = new Uint8Array(352)
  out.set(inputHeader, 0)
  const v = new DataView(out.buffer)
  v.setInt16(40, 3, true)
  for (let d = 4; d <= 7; d++) v.setInt16(40 + 2 * d, 1, true)
  for (let k = 0; k < 3; k++) v.setFloat32(56 + 4 * k, 0, true) // intent_p1..3
  v.setInt16(68, NIFTI_INTENT_LABEL, true)
  v.setInt16(70, uint16 ? 512 : 2, true)
  v.setInt16(72, uint16 ? 16 : 8, true)
  v.setFloat32(108, 352, true)
  v.setFloat32(112, 1, true)
  v.setFloat32(116, 0, true)
  v.setFloat32(124, calMax, true)
  v.setFloat32(128, 0, true)
  v.setInt32(140, 0, true)
  v.setInt32(144, 0, true)
  out.set([0x6e, 0x2b, 0x31, 0], 344) // "n+1\0": header and voxels in one file
  return out // bytes 348..351: the zero extension flag
}

/**
 * The bytes of a whole .nii label file: labelHeaderLike + voxels (little-endian, i fastest).
 * Stored as uint16 when the largest label exceeds 255, else as uint8 (whatever the array type).
 */
export function labelNiftiBytes(inputHeader: Uint8Array, data: Uint8Array | Uint16Array): Uint8Array {
  const top = maxLabel(data)
  const uint16 = top > 255
  const header = labelHeaderLike(inputHeader, uint16, top)
  const out = new Uint8Array(352 + data.length * (uint16 ? 2 : 1))
  out.set(header, 0)
  if (!uint16) {
    out.set(data, 352)
  } else {
    const v = new DataView(out.buffer, 352)
    for (let k = 0; k < data.length; k++) v.setUint16(2 * k, data[k], true)
  }
  return out
}
