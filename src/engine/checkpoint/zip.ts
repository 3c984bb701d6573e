/**
 * A minimal read-only zip reader (central directory, stored and deflate entries, zip64 sizes and
 * offsets), enough for torch.save archives. Entries are extracted on demand and CRC-checked.
 * Sizes in the headers are claims: each is checked against the archive (compressed bytes inside it,
 * a stored entry's size equal to its bytes, a deflate ratio of at most MAX_DEFLATE_RATIO), charged
 * to the caller's byte budget before inflating, and inflating stops at the declared size.
 */
import { crc32, inflateRawSync } from 'node:zlib'
import { SegError } from '../errors'
import { type ByteBudget, MAX_DEFLATE_RATIO } from './limits'
import { formatBytes } from '../volume/read-nifti'

export interface ZipEntry {
  name: string
  method: number
  crc: number
  compressedSize: number
  size: number
  localHeaderOffset: number
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>
  /** Bytes of one entry (decompressed, CRC verified). */
  read(name: string): Uint8Array
}

const EOCD_SIG = 0x06054b50
const EOCD64_LOCATOR_SIG = 0x07064b50
const EOCD64_SIG = 0x06064b50
const CENTRAL_SIG = 0x02014b50
const LOCAL_SIG = 0x04034b50

/** True when the bytes start like a zip file (local header "PK\x03\x04" or an empty archive). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5)
}

/**
 * Parse the central directory of `bytes`. `fail(why)` builds the error thrown for a damaged archive
 * (the caller words it for its own file type); `budget` is charged for every inflated entry.
 */
export function openZip(bytes: Uint8Array, fail: (why: string) => SegError, budget: ByteBudget): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u16 = (o: number): number => view.getUint16(o, true)
  const u32 = (o: number): number => view.getUint32(o, true)
  const u64 = (o: number): number => Number(view.getBigUint64(o, true))
  const need = (o: number, n: number, what: string): void => {
    if (o < 0 || o + n > bytes.byteLength) throw fail(`${what} lies past the end of the file`)
  }

  let eocd = -1
  for (let o = bytes.byteLength - 22; o >= Math.max(0, bytes.byteLength - 22 - 0xffff); o--) {
    if (u32(o) === EOCD_SIG) { eocd = o; break }
  }
  if (eocd < 0) throw fail('no end-of-central-directory record')
  let count = u16(eocd + 10)
  let cdSize = u32(eocd + 12)
  let cdOffset = u32(eocd + 16)
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20
    if (loc < 0 || u32(loc) !== EOCD64_LOCATOR_SIG) throw fail('zip64 locator missing')
    const e64 = u64(loc + 8)
    need(e64, 56, 'zip64 end record')
    if (u32(e64) !== EOCD64_SIG) throw fail('zip64 end record missing')
    count = u64(e64 + 32)
    cdSize = u64(e64 + 40)
    cdOffset = u64(e64 + 48)
  }
  need(cdOffset, cdSize, 'central directory')

  const entries = new Map<string, ZipEntry>()
  let p = cdOffset
  for (let i = 0; i < count; i++) {
    need(p, 46, 'central directory entry')
    if (u32(p) !== CENTRAL_SIG) throw fail(`central directory entry ${i} is damaged`)
    const nameLen = u16(p + 28)
    const extraLen = u16(p + 30)
    const commentLen = u16(p + 32)
    need(p + 46, nameLen + extraLen, 'central directory entry')
    const entry: ZipEntry = {
      name: new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen)),
      method: u16(p + 10),
      crc: u32(p + 16),
      compressedSize: u32(p + 20),
      size: u32(p + 24),
      localHeaderOffset: u32(p + 42)
    }
    // zip64 extended information: the 0xffffffff fields follow, in this order.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = u16(x)
      const len = u16(x + 2)
      if (id === 0x0001) {
        let f = x + 4
        if (entry.size === 0xffffffff) { entry.size = u64(f); f += 8 }
        if (entry.compressedSize === 0xffffffff) { entry.compressedSize = u64(f); f += 8 }
        if (entry.localHeaderOffset === 0xffffffff) { entry.localHeaderOffset = u64(f) }
      }
      x += 4 + len
    }
    entries.set(entry.name, entry)
    p += 46 + nameLen + extraLen + commentLen
  }

  const read = (name: string): Uint8Array => {
    const e = entries.get(name)
    if (!e) throw fail(`entry ${name} is missing`)
    need(e.localHeaderOffset, 30, `local header of ${name}`)
    if (u32(e.localHeaderOffset) !== LOCAL_SIG) throw fail(`local header of ${name} is damaged`)
    const start = e.localHeaderOffset + 30 + u16(e.localHeaderOffset + 26) + u16(e.localHeaderOffset + 28)
    need(start, e.compressedSize, `data of ${name}`)
    const raw = bytes.subarray(start, start + e.compressedSize)
    let out: Uint8Array
    if (e.method === 0) {
      if (e.size !== e.compressedSize) throw fail(`entry ${name} is stored (not compressed) in ${e.compressedSize} bytes but declares ${e.size} bytes`)
      out = raw
    } else if (e.method === 8) out = inflateEntry(raw, e, fail, budget)
    else throw fail(`entry ${name} uses unsupported compression method ${e.method}`)
    if (out.byteLength !== e.size) throw fail(`entry ${name} has ${out.byteLength} bytes, expected ${e.size}`)
    if (crc32(out) >>> 0 !== e.crc >>> 0) throw fail(`entry ${name} fails its CRC check`)
    return out
  }
  return { entries, read }
}

/** Inflate a deflated entry: ratio checked and bytes charged first, output cut at the declared size. */
function inflateEntry(raw: Uint8Array, e: ZipEntry, fail: (why: string) => SegError, budget: ByteBudget): Uint8Array {
  const ratio = e.size / Math.max(1, raw.byteLength)
  if (ratio > MAX_DEFLATE_RATIO) {
    throw fail(`entry ${e.name} would inflate ${formatBytes(raw.byteLength)} to ${formatBytes(e.size)}, ratio ${Math.round(ratio)}:1 where at most ${MAX_DEFLATE_RATIO}:1 is accepted`)
  }
  budget.charge(e.size, `inflating ${e.name}`)
  try {
    return new Uint8Array(inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) }))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw fail(`entry ${e.name} inflates past its declared ${e.size} bytes`)
    throw fail(`entry ${e.name} does not inflate`)
  }
}
