/**
 * Transfer syntaxes: the ones GDCM (inside @itk-wasm/dicom) decodes, and names for those it does
 * not, so that a refusal says "unsupported compression: <name>" rather than a UID.
 */

/** Decoded by GDCM: uncompressed, deflate, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE. */
export const DECODABLE_TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE lossless'
}

/** Named compressions GDCM does not decode (video, JPIP, HTJ2K, JPEG XL). */
const UNSUPPORTED_COMPRESSIONS: Record<string, string> = {
  '1.2.840.10008.1.2.4.94': 'JPIP referenced',
  '1.2.840.10008.1.2.4.95': 'JPIP referenced deflate',
  '1.2.840.10008.1.2.4.100': 'MPEG-2 main profile',
  '1.2.840.10008.1.2.4.101': 'MPEG-2 high profile',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 2D',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 3D',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 stereo',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 main profile',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 main 10 profile',
  '1.2.840.10008.1.2.4.110': 'JPEG XL lossless',
  '1.2.840.10008.1.2.4.111': 'JPEG XL JPEG recompression',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K'
}

/**
 * Why pixels in this transfer syntax cannot be decoded, as a skip reason ("unsupported
 * compression: HTJ2K", "unknown transfer syntax 1.2.3"), or null when GDCM decodes them.
 */
export function transferSyntaxProblem(uid: string): string | null {
  if (uid in DECODABLE_TRANSFER_SYNTAXES) return null
  if (uid in UNSUPPORTED_COMPRESSIONS) return `unsupported compression: ${UNSUPPORTED_COMPRESSIONS[uid]}`
  return uid ? `unknown transfer syntax ${uid.slice(0, 64)}` : 'no transfer syntax'
}
