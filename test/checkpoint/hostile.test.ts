/**
 * Hostile checkpoints: each file is crafted here, byte by byte, after a repro of the hostile-input
 * review (issue 13 item 4). Before the bounds each one hung, crashed V8, asked for gigabytes or ran
 * forever on a special file; now each is a one-line SegError that names the limit, and comes quickly.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants, crc32, deflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { run as summaryCmd } from '../../src/cli/commands/summary'
import { readCheckpoint } from '../../src/engine/checkpoint'
import { type PyGlobal, unpickle } from '../../src/engine/checkpoint/pickle'
import { parseTorchZip } from '../../src/engine/checkpoint/pth'
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors'
import { SegError } from '../../src/engine/errors'

const MiB = 2 ** 20

// ---- a tiny pickle assembler (protocol 2 opcodes, as torch.save writes them) ----
type Part = number | string | Uint8Array
/** Bytes of the parts: a number is one byte, a string its latin-1 bytes. */
function bytesOf(...parts: Part[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'number' ? Uint8Array.of(p) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p))
  return Buffer.concat(chunks)
}
const u32le = (n: number): Uint8Array => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b }
const i32le = (n: number): Uint8Array => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b }
const str = (s: string): Uint8Array => bytesOf('X', u32le(Buffer.byteLength(s)), s)
const glob = (module: string, name: string): Uint8Array => bytesOf('c', `${module}\n${name}\n`)
const int = (n: number): Uint8Array => bytesOf('J', i32le(n))
const tuple = (...items: Part[]): Uint8Array => bytesOf('(', ...items, 't')

/** torch.save's pickle of {'w': tensor} whose storage '0' holds `numel` floats, viewed with size/stride. */
function tensorPickle(numel: number, size: number[], stride: number[]): Uint8Array {
  const storage = bytesOf(tuple(str('storage'), glob('torch', 'FloatStorage'), str('0'), str('cpu'), int(numel)), 'Q')
  const args = tuple(storage, int(0), tuple(...size.map(int)), tuple(...stride.map(int)), 0x89, glob('collections', 'OrderedDict'), ')', 'R')
  return bytesOf(0x80, 2, '}', str('w'), glob('torch._utils', '_rebuild_tensor_v2'), args, 'R', 's', '.')
}

// ---- a tiny zip writer (what torch.save's archive holds: local headers, data, central directory) ----
interface Member { name: string; data: Uint8Array; deflated?: Uint8Array; size?: number; crc?: number }
/** A zip of the members; `deflated` stores pre-compressed bytes (method 8) with the given size and CRC. */
function zipOf(members: Member[]): Uint8Array {
  const locals: Uint8Array[] = []
  const centrals: Uint8Array[] = []
  let offset = 0
  for (const m of members) {
    const body = m.deflated ?? m.data
    const size = m.size ?? m.data.byteLength
    const crc = m.crc ?? crc32(m.data)
    const name = Buffer.from(m.name)
    const fields = (b: Buffer, at: number): void => {
      b.writeUInt16LE(m.deflated ? 8 : 0, at)
      b.writeUInt32LE(crc >>> 0, at + 6)
      b.writeUInt32LE(body.byteLength, at + 10)
      b.writeUInt32LE(size, at + 14)
      b.writeUInt16LE(name.length, at + 18)
    }
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    fields(local, 8)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    fields(central, 10)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, body)
    centrals.push(central, name)
    offset += 30 + name.length + body.byteLength
  }
  const cd = Buffer.concat(centrals)
  const eocd = Buffer.alloc(22)
  eocd.writeUInt32LE(0x06054b50, 0)
  eocd.writeUInt16LE(members.length, 8)
  eocd.writeUInt16LE(members.length, 10)
  eocd.writeUInt32LE(cd.length, 12)
  eocd.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, eocd])
}

/** A torch.save-like archive holding `pickle` as data.pkl and one float32 storage of `floats` elements. */
const torchZip = (pickle: Member | Uint8Array, floats = 1): Uint8Array =>
  zipOf([pickle instanceof Uint8Array ? { name: 'a/data.pkl', data: pickle } : pickle, { name: 'a/data/0', data: new Uint8Array(4 * floats) }])

/**
 * Raw deflate of `copies` × `chunk` bytes of `byte`, without ever holding the whole: each chunk is
 * compressed once, sync-flushed (byte aligned, not final) and repeated; a final empty block closes it.
 * @returns the compressed bytes and the CRC-32 of the uncompressed whole.
 */
function deflateRepeated(byte: number, chunk: number, copies: number): { deflated: Uint8Array; crc: number } {
  const plain = Buffer.alloc(chunk, byte)
  const one = deflateRawSync(plain, { level: 9, finishFlush: constants.Z_SYNC_FLUSH })
  let crc = 0
  for (let i = 0; i < copies; i++) crc = crc32(plain, crc)
  return { deflated: Buffer.concat([...Array<Buffer>(copies).fill(one), deflateRawSync(Buffer.alloc(0))]), crc }
}

/** The error `fn` throws (or rejects with), checked to be a one-line SegError. */
async function oneLineError(fn: () => unknown): Promise<SegError> {
  let err: unknown
  try {
    await fn()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(SegError)
  expect((err as SegError).message).not.toMatch(/\n/)
  return err as SegError
}

const plainGlobals = new Map<string, PyGlobal>()
const vm = (bytes: Uint8Array): unknown => unpickle(bytes, { label: 'hostile.pkl', globals: plainGlobals, persistentLoad: () => null })

describe('hostile pickles', () => {
  it('a 1 MB LONG4 integer is refused at once with the length allowed (it took > 90 s to decode before)', async () => {
    const n = MiB
    const pickle = bytesOf(0x80, 2, 0x8b, i32le(n), new Uint8Array(n).fill(0x7f), '.')
    const t0 = performance.now()
    const err = await oneLineError(() => vm(pickle))
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(err.code).toBe('BAD_CHECKPOINT')
    expect(err.message).toMatch(/LONG4 integer of 1048576 bytes.*at most 1024/)
    // Up to the limit LONG1/LONG4 still decode exactly, negative ones included (two's complement).
    const bytes = new Uint8Array(1024).map((_, i) => (i * 37 + 11) & 0xff)
    bytes[1023] = 0x9c // top bit set: negative
    // Oracle by a different route: Σ b[i]·256^i, less 2^8192 for a negative number.
    const unsigned = bytes.reduce((acc, b, i) => acc + BigInt(b) * 256n ** BigInt(i), 0n)
    const expected = unsigned - 2n ** 8192n
    expect(vm(bytesOf(0x80, 2, 0x8b, i32le(1024), bytes, '.'))).toBe(expected)
    expect(vm(bytesOf(0x80, 2, 0x8a, 2, 0xff, 0x7f, '.'))).toBe(32767)
    expect(vm(bytesOf(0x80, 2, 0x8a, 1, 0xfe, '.'))).toBe(-2)
    expect(vm(bytesOf(0x80, 2, 0x8a, 0, '.'))).toBe(0)
  })

  it('a decimal INT of 100,000 digits (protocol 0) is refused with the digits allowed', async () => {
    const err = await oneLineError(() => vm(bytesOf('I', '9'.repeat(100_000), '\n.')))
    expect(err.message).toMatch(/integer of 100000 digits.*at most 2500/)
  })

  it('a deep-nesting pickle (2 million MARKs) is refused when the stack reaches its depth limit', async () => {
    const err = await oneLineError(() => vm(bytesOf(0x80, 2, new Uint8Array(2_000_000).fill(0x28), '.')))
    expect(err.code).toBe('BAD_CHECKPOINT')
    expect(err.message).toMatch(/stack depth limit of 100000/)
  })

  it('a pickle that memoizes 2 million times is refused at the memo size limit', async () => {
    const err = await oneLineError(() => vm(bytesOf(0x80, 4, ']', new Uint8Array(2_000_000).fill(0x94), '.')))
    expect(err.code).toBe('BAD_CHECKPOINT')
    expect(err.message).toMatch(/memo size limit of 1000000/)
  })

  it('a pickle that builds values without growing the stack (push, pop, …) is refused at the value limit', async () => {
    const churn = new Uint8Array(3 * 200_000).map((_, i) => [0x4b, 0, 0x30][i % 3]) // K 0, POP
    const err = await oneLineError(() => unpickle(bytesOf(0x80, 2, churn, 'N', '.'), { label: 'churn.pkl', globals: plainGlobals, persistentLoad: () => null, limits: { values: 100_000 } }))
    expect(err.message).toMatch(/churn\.pkl: the pickle builds more than 100000 values/)
  })

  it('APPENDS of 200,000 items (more than a call may spread) is a limit, not a raw RangeError', async () => {
    const items = new Uint8Array(400_000).map((_, i) => (i % 2 ? 0 : 0x4b)) // K 0, repeated
    const err = await oneLineError(() => vm(bytesOf(0x80, 2, ']', '(', items, 'e', '.')))
    expect(err.message).toMatch(/stack depth limit of 100000/)
  })
})

describe('hostile archives', () => {
  it('a 1 MB zip holding a 1 GB pickle is refused by the default limits from its directory, without inflating it', async () => {
    const { deflated, crc } = deflateRepeated(0x5d, MiB, 1024) // 1 GiB of EMPTY_LIST: crashed V8 before
    expect(deflated.byteLength).toBeLessThan(1.1 * MiB)
    const zip = torchZip({ name: 'a/data.pkl', data: new Uint8Array(0), deflated, size: 2 ** 30, crc })
    const before = process.memoryUsage().arrayBuffers
    const err = await oneLineError(() => parseTorchZip(zip, 'bomb.pth'))
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB)
    expect(err.message).toMatch(/a\/data\.pkl would inflate [\d.]+ MB to 1\.1 GB, ratio \d+:1 where at most 200:1/)
  })

  it('a zip bomb with a plausible ratio is refused by the byte budget, with the bytes needed and allowed', async () => {
    const { deflated, crc } = deflateRepeated(0x5d, 64 * 1024, 16) // 1 MiB of pickle opcodes
    const bomb = { name: 'a/data.pkl', data: new Uint8Array(0), deflated: Buffer.concat([deflated, new Uint8Array(8192)]), size: MiB, crc }
    const err = await oneLineError(() => parseTorchZip(torchZip(bomb), 'bomb.pth', { budgetBytes: 512 * 1024 }))
    expect(err.code).toBe('TOO_LARGE')
    expect(err.message).toMatch(/inflating a\/data\.pkl needs 1\.0 MB; 524\.3 kB remain of the 524\.3 kB allowed/)
  })

  it('a member that inflates past its declared size is cut at that size and refused (the header is not trusted)', async () => {
    const { deflated, crc } = deflateRepeated(0x5d, MiB, 4)
    const liar = { name: 'a/data.pkl', data: new Uint8Array(0), deflated, size: 4096 * 200, crc }
    const err = await oneLineError(() => parseTorchZip(torchZip(liar), 'liar.pth'))
    expect(err.code).toBe('BAD_CHECKPOINT')
    expect(err.message).toMatch(/inflates past its declared 819200 bytes/)
  })

  it('a stored member whose declared size differs from its stored bytes is refused', async () => {
    const err = await oneLineError(() => parseTorchZip(torchZip({ name: 'a/data.pkl', data: tensorPickle(1, [1], [1]), size: 10 ** 9 }), 'x.pth'))
    expect(err.message).toMatch(/stored.*declares 1000000000 bytes/)
  })

  it('a 508-byte-class stride-0 tensor asking for 8.3 GB is refused with the figure needed and allowed, before allocating', async () => {
    const zip = torchZip(tensorPickle(1, [1276, 1276, 1276], [0, 0, 0]))
    expect(zip.byteLength).toBeLessThan(600)
    const err = await oneLineError(() => parseTorchZip(zip, 'stride0.pth'))
    expect(err.code).toBe('TOO_LARGE')
    expect(err.message).toMatch(/tensor view \[1276, 1276, 1276\] needs 8\.3 GB; 268\.4 MB remain of the 268\.4 MB allowed/)
  })

  it('a stride-0 view within the budget is still expanded (torch.expand is legal), from the storage\'s own bytes when the archive is a Buffer', () => {
    const state = parseTorchZip(torchZip(tensorPickle(1, [3, 4], [0, 0])), 'expand.pth') as Map<string, { tensor: { dims: number[]; data: Float32Array } }>
    expect(state.get('w')!.tensor.dims).toEqual([3, 4])
    expect(Array.from(state.get('w')!.tensor.data)).toEqual(new Array(12).fill(0))
  })

  it('overlapping views of one storage count against one budget', async () => {
    // Two tensors viewing the same 64-float storage with stride 0: each 4 MB, 8 MB together.
    const one = tensorPickle(64, [1024, 1024], [0, 0]).subarray(0, -1) // drop STOP, add a second SETITEM
    const two = bytesOf(one, str('v'), glob('torch._utils', '_rebuild_tensor_v2'),
      tuple(bytesOf(tuple(str('storage'), glob('torch', 'FloatStorage'), str('0'), str('cpu'), int(64)), 'Q'), int(0), tuple(int(1024), int(1024)), tuple(int(0), int(0)), 0x89, glob('collections', 'OrderedDict'), ')', 'R'), 'R', 's', '.')
    const err = await oneLineError(() => parseTorchZip(torchZip(two, 64), 'overlap.pth', { budgetBytes: 6 * MiB }))
    expect(err.message).toMatch(/tensor view \[1024, 1024\] needs 4\.2 MB; 2\.1 MB remain of the 6\.3 MB allowed/)
  })
})

describe('hostile safetensors', () => {
  it('uint8 tensors, which decode to int64 (8×), are charged to the budget before decoding', async () => {
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'U8', shape: [1000], data_offsets: [0, 1000] } }))
    const file = bytesOf(Buffer.from(new BigUint64Array([BigInt(header.length)]).buffer), header, new Uint8Array(1000))
    const err = await oneLineError(() => parseSafetensors(file, 'u8.safetensors', { budgetBytes: 4000 }))
    expect(err.message).toMatch(/u8\.safetensors: decoding tensor w needs 8\.0 kB; 4\.0 kB remain of the 4\.0 kB allowed/)
  })
})

describe('special files', () => {
  it('segtransfer summary /dev/zero is a one-line error at once (it read forever before)', async () => {
    const t0 = performance.now()
    const err = await oneLineError(() => summaryCmd(['/dev/zero'], { out: () => {}, err: () => {} }))
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(err.message).toMatch(/\/dev\/zero is a character device; expected a checkpoint/)
  })

  it('a FIFO given as a checkpoint is refused before it is opened (opening it blocked forever)', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'ckpt-fifo-')), 'model.pth')
    execFileSync('mkfifo', [fifo])
    const err = await oneLineError(() => readCheckpoint(fifo))
    expect(err.message).toMatch(/model\.pth is a named pipe \(FIFO\); expected a checkpoint/)
    const err2 = await oneLineError(() => summaryCmd([fifo], { out: () => {}, err: () => {} }))
    expect(err2.message).toMatch(/named pipe/)
  })

  it('a file larger than the reader may hold is refused from its size, before reading', async () => {
    const big = join(mkdtempSync(join(tmpdir(), 'ckpt-big-')), 'big.safetensors')
    writeFileSync(big, new Uint8Array(4096))
    const err = await oneLineError(() => readCheckpoint(big, { maxFileBytes: 1024 }))
    expect(err.code).toBe('TOO_LARGE')
    expect(err.message).toMatch(/big\.safetensors is 4\.1 kB; at most 1\.0 kB/)
  })
})
