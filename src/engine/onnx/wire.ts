/**
 * Protocol-buffers wire format, the small part of it ONNX needs: varints (int32/int64/enum/bool),
 * length-delimited fields (strings, bytes, sub-messages, packed repeated scalars), fixed32 (float)
 * and fixed64 (double). Zigzag (sint32/sint64) is not used by onnx.proto and is not implemented.
 *
 * Why hand-written: ONNX needs about ten message types, and a generated codec would pull in a
 * protobuf runtime and a code generator for what fits in a few hundred lines. The writer assembles
 * a list of chunks so that large tensor payloads are copied exactly once, into the final buffer.
 */
import { SegError } from '../errors'

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

const utf8Decoder = new TextDecoder('utf-8')
const utf8Encoder = new TextEncoder()

function corrupt(what: string): SegError {
  return new SegError('CORRUPT_FILE', `ONNX protobuf is malformed: ${what}`)
}

/** Sequential reader over one message's bytes; sub-messages are read as views, not copies. */
export class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  /** A varint as a signed 64-bit integer converted to a JS number (exact below 2^53). */
  varint(): number {
    const buf = this.buf
    let result = 0
    let shift = 0
    // Fast path: 4 bytes hold 28 bits, enough for every length, tag and enum in practice.
    while (shift < 28) {
      if (this.pos >= buf.length) throw corrupt('truncated varint')
      const b = buf[this.pos++]
      result |= (b & 0x7f) << shift
      if (b < 0x80) return result >>> 0
      shift += 7
    }
    let big = BigInt(result >>> 0)
    let bigShift = 28n
    for (let i = 0; i < 6; i++) {
      if (this.pos >= buf.length) throw corrupt('truncated varint')
      const b = buf[this.pos++]
      big |= BigInt(b & 0x7f) << bigShift
      if (b < 0x80) return Number(BigInt.asIntN(64, big))
      bigShift += 7n
    }
    throw corrupt('varint longer than 10 bytes')
  }

  /** Length-delimited payload as a view into the buffer. */
  bytes(): Uint8Array {
    const len = this.varint()
    const end = this.pos + len
    if (len < 0 || end > this.buf.length) throw corrupt('length past end of message')
    const view = this.buf.subarray(this.pos, end)
    this.pos = end
    return view
  }

  string(): string {
    return utf8Decoder.decode(this.bytes())
  }

  float32(): number {
    if (this.pos + 4 > this.buf.length) throw corrupt('truncated fixed32')
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true)
    this.pos += 4
    return v
  }

  float64(): number {
    if (this.pos + 8 > this.buf.length) throw corrupt('truncated fixed64')
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true)
    this.pos += 8
    return v
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint()
    return [t >>> 3, t & 7]
  }

  /** Skips the value of a field with the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint()
        return
      case WIRE_I64:
        this.pos += 8
        break
      case WIRE_LEN:
        this.bytes()
        return
      case WIRE_I32:
        this.pos += 4
        break
      default:
        throw corrupt(`unsupported wire type ${wireType}`)
    }
    if (this.pos > this.buf.length) throw corrupt('truncated fixed field')
  }

  /** Repeated varints, accepting both packed (LEN) and unpacked encodings. */
  repeatedVarint(wireType: number, into: number[]): void {
    if (wireType === WIRE_LEN) {
      const sub = new Reader(this.bytes())
      while (!sub.done) into.push(sub.varint())
    } else into.push(this.varint())
  }

  /** Repeated floats, accepting both packed (LEN) and unpacked encodings. */
  repeatedFloat(wireType: number, into: number[]): void {
    if (wireType === WIRE_LEN) {
      const b = this.bytes()
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      for (let o = 0; o + 4 <= b.byteLength; o += 4) into.push(dv.getFloat32(o, true))
    } else into.push(this.float32())
  }

  /** Repeated doubles, accepting both packed (LEN) and unpacked encodings. */
  repeatedDouble(wireType: number, into: number[]): void {
    if (wireType === WIRE_LEN) {
      const b = this.bytes()
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      for (let o = 0; o + 8 <= b.byteLength; o += 8) into.push(dv.getFloat64(o, true))
    } else into.push(this.float64())
  }
}

/**
 * Iterates over the fields of one message. `handle` returns false for a field it does not know;
 * that field's exact bytes (tag included) are then appended to `unknown` so re-encoding keeps it.
 */
export function readFields(
  buf: Uint8Array,
  handle: (r: Reader, field: number, wireType: number) => boolean,
  unknown: Uint8Array[]
): void {
  const r = new Reader(buf)
  while (!r.done) {
    const start = r.pos
    const [field, wireType] = r.tag()
    if (!handle(r, field, wireType)) {
      r.skip(wireType)
      unknown.push(buf.subarray(start, r.pos))
    }
  }
}

/** Chunked message writer: scalars go to a scratch buffer, large byte payloads are referenced. */
export class Writer {
  private parts: Uint8Array[] = []
  private scratch = new Uint8Array(256)
  private used = 0
  private flushedLength = 0

  get length(): number {
    return this.flushedLength + this.used
  }

  private ensure(n: number): void {
    if (this.used + n <= this.scratch.length) return
    this.flush()
    if (n > this.scratch.length) this.scratch = new Uint8Array(Math.max(n, 256))
  }

  private flush(): void {
    if (this.used === 0) return
    this.parts.push(this.scratch.slice(0, this.used))
    this.flushedLength += this.used
    this.used = 0
  }

  /** Raw bytes appended by reference (not copied until finish). */
  raw(b: Uint8Array): this {
    if (b.length <= 64) {
      this.ensure(b.length)
      this.scratch.set(b, this.used)
      this.used += b.length
    } else {
      this.flush()
      this.parts.push(b)
      this.flushedLength += b.length
    }
    return this
  }

  /** Unsigned or signed 64-bit varint from a JS number (negative → 10-byte two's complement). */
  varintRaw(v: number): this {
    if (!Number.isInteger(v)) throw new SegError('BAD_ARGUMENT', `varint must be an integer, got ${v}`)
    this.ensure(10)
    if (v >= 0 && v < 2 ** 31) {
      while (v >= 0x80) {
        this.scratch[this.used++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
      this.scratch[this.used++] = v
      return this
    }
    let big = BigInt.asUintN(64, BigInt(v))
    while (big >= 0x80n) {
      this.scratch[this.used++] = Number(big & 0x7fn) | 0x80
      big >>= 7n
    }
    this.scratch[this.used++] = Number(big)
    return this
  }

  tag(field: number, wireType: number): this {
    return this.varintRaw(field * 8 + wireType)
  }

  varint(field: number, v: number): this {
    return this.tag(field, WIRE_VARINT).varintRaw(v)
  }

  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, WIRE_LEN).varintRaw(b.length).raw(b)
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8Encoder.encode(s))
  }

  float32(field: number, v: number): this {
    this.tag(field, WIRE_I32)
    this.ensure(4)
    new DataView(this.scratch.buffer).setFloat32(this.used, v, true)
    this.used += 4
    return this
  }

  /** A sub-message: tag, length, then the sub-writer's chunks (no copy). */
  message(field: number, sub: Writer): this {
    this.tag(field, WIRE_LEN).varintRaw(sub.length)
    sub.flush()
    this.flush()
    for (const p of sub.parts) this.parts.push(p)
    this.flushedLength += sub.flushedLength
    return this
  }

  packedVarints(field: number, values: readonly number[]): this {
    const sub = new Writer()
    for (const v of values) sub.varintRaw(v)
    return this.message(field, sub)
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4)
    const dv = new DataView(b.buffer)
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true)
    return this.bytes(field, b)
  }

  packedDoubles(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 8)
    const dv = new DataView(b.buffer)
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i], true)
    return this.bytes(field, b)
  }

  /** Concatenates every chunk into one buffer (the only copy of large payloads). */
  finish(): Uint8Array {
    this.flush()
    const out = new Uint8Array(this.flushedLength)
    let o = 0
    for (const p of this.parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  }
}
