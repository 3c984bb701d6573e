import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSafetensors } from '../../src/engine/checkpoint/safetensors'
import { halfToFloat } from '../../src/engine/checkpoint/dtype'

/** Assemble a safetensors file from (name, dtype, shape, raw bytes) entries, per the format spec. */
function safetensorsBytes(entries: Array<[string, string, number[], Uint8Array]>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  let offset = 0
  for (const [name, dtype, shape, raw] of entries) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + raw.byteLength] }
    offset += raw.byteLength
  }
  let json = JSON.stringify(header)
  while ((8 + json.length) % 8) json += ' '
  const out = new Uint8Array(8 + json.length + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(new TextEncoder().encode(json), 8)
  let at = 8 + json.length
  for (const [, , , raw] of entries) { out.set(raw, at); at += raw.byteLength }
  return out
}

const dir = mkdtempSync(join(tmpdir(), 'st-'))
function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name)
  writeFileSync(p, bytes)
  return p
}

describe('readSafetensors', () => {
  const f32 = new Float32Array([0.5, -1.25, 3, 1e-3, 7, -8])
  // Values bfloat16 represents exactly (8 significant bits), so the round trip is exact.
  const exact = [1, -2, 0.5, 63.5, 0.375, -0.0078125]
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x57ff, 0x3600, 0xa000])
  const bf16 = new Uint16Array(exact.map((v) => new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16))
  const i64 = new BigInt64Array([0n, 42n, -7n, 9007199254740993n])
  const path = file('mixed.safetensors', safetensorsBytes([
    ['a.weight', 'F32', [2, 3], new Uint8Array(f32.buffer)],
    ['b.half', 'F16', [6], new Uint8Array(f16.buffer)],
    ['c.bf16', 'BF16', [3, 2], new Uint8Array(bf16.buffer)],
    ['bn.num_batches_tracked', 'I64', [4], new Uint8Array(i64.buffer)],
    ['scalar', 'F32', [], new Uint8Array(new Float32Array([2.5]).buffer)]
  ]))

  it('reads F32, F16, BF16 (→ float32) and I64 (→ BigInt64Array) with names, shapes and values', async () => {
    const sd = await readSafetensors(path)
    expect([...sd.keys()]).toEqual(['a.weight', 'b.half', 'c.bf16', 'bn.num_batches_tracked', 'scalar'])
    expect(sd.get('a.weight')!.dims).toEqual([2, 3])
    expect(Array.from(sd.get('a.weight')!.data as Float32Array)).toEqual(Array.from(f32))
    expect(Array.from(sd.get('b.half')!.data as Float32Array)).toEqual(Array.from(f16, halfToFloat))
    expect(sd.get('c.bf16')!.dims).toEqual([3, 2])
    expect(Array.from(sd.get('c.bf16')!.data as Float32Array)).toEqual(exact)
    const n = sd.get('bn.num_batches_tracked')!.data
    expect(n).toBeInstanceOf(BigInt64Array)
    expect(Array.from(n as BigInt64Array)).toEqual(Array.from(i64))
    expect(sd.get('scalar')!.dims).toEqual([])
  })

  it('decodes half-precision specials exactly (1, -2, max 65504, subnormal, inf)', () => {
    expect(halfToFloat(0x3c00)).toBe(1)
    expect(halfToFloat(0xc000)).toBe(-2)
    expect(halfToFloat(0x7bff)).toBe(65504)
    expect(halfToFloat(0x0001)).toBe(2 ** -24)
    expect(halfToFloat(0x7c00)).toBe(Infinity)
  })

  it('refuses a truncated file with a BAD_CHECKPOINT naming the truncation', async () => {
    const whole = safetensorsBytes([['w', 'F32', [4], new Uint8Array(16)]])
    const p = file('trunc.safetensors', whole.subarray(0, whole.byteLength - 3))
    await expect(readSafetensors(p)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/truncated/) })
    const p2 = file('trunc-header.safetensors', whole.subarray(0, 20))
    await expect(readSafetensors(p2)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/truncated/) })
  })

  it('refuses a header whose offsets disagree with shape × dtype, or an unknown dtype', async () => {
    const p = file('badspan.safetensors', safetensorsBytes([['w', 'F32', [5], new Uint8Array(16)]]))
    await expect(readSafetensors(p)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/shape \[5\]/) })
    const q = file('baddtype.safetensors', safetensorsBytes([['w', 'C64', [2], new Uint8Array(16)]]))
    await expect(readSafetensors(q)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/unsupported dtype C64/) })
  })
})

describe('readCheckpoint agrees across formats', () => {
  it('the same state dict saved as .pth and as .safetensors (T1 fixtures) reads to identical tensors', async () => {
    const { readCheckpoint } = await import('../../src/engine/checkpoint')
    const dirT = join(__dirname, '../fixtures/transfer')
    const a = await readCheckpoint(join(dirT, 'resnet18.pth'))
    const b = await readCheckpoint(join(dirT, 'resnet18.safetensors'))
    expect(a.format).toBe('pytorch')
    expect(b.format).toBe('safetensors')
    expect([...b.state.keys()].sort()).toEqual([...a.state.keys()].sort())
    for (const [k, t] of a.state) {
      expect(b.state.get(k)!.dims, k).toEqual(t.dims)
      expect(Array.from(b.state.get(k)!.data as ArrayLike<number | bigint>), k).toEqual(Array.from(t.data as ArrayLike<number | bigint>))
    }
  })
})
