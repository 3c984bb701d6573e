/** The restricted pickle VM against CPython's own pickles (protocols 0–5), and its failure modes. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type PyGlobal, unpickle } from '../../src/engine/checkpoint/pickle'
import { parseTorchZip } from '../../src/engine/checkpoint/pth'
import { SegError } from '../../src/engine/errors'

const FIX = join(__dirname, '../fixtures/checkpoints')
const cases = JSON.parse(readFileSync(join(FIX, 'pickles.json'), 'utf8')) as Array<{ protocol: number; hex: string; value?: unknown; refuses?: boolean }>

/** Only what plain data needs: bytes in protocols ≤ 2 are `_codecs.encode(str, 'latin1')`. */
const globals = new Map<string, PyGlobal>([
  ['_codecs.encode', { kind: 'global', module: '_codecs', name: 'encode', call: (a) => Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0)) }]
])
const opts = { label: 'test.pkl', globals, persistentLoad: () => { throw new Error('no persistent ids here') } }

/** The fixture's tagged JSON form of a JS value from the VM. */
function tagged(v: unknown): unknown {
  if (v instanceof Map) return { __dict__: [...v].map(([k, x]) => [tagged(k), tagged(x)]) }
  if (Array.isArray(v)) return v.map(tagged)
  if (typeof v === 'bigint') return { __int__: v.toString() }
  if (v instanceof Uint8Array) return { __bytes__: Array.from(v) }
  return v
}

describe('unpickle', () => {
  for (const c of cases.filter((x) => !x.refuses)) {
    it(`decodes CPython's protocol ${c.protocol} pickle of ints (to 2^70), floats, str (escapes, non-ASCII), bytes, tuples, lists, dicts, memo`, () => {
      expect(tagged(unpickle(Buffer.from(c.hex, 'hex'), opts))).toEqual(c.value)
    })
  }
  for (const c of cases.filter((x) => x.refuses)) {
    it(`refuses a pickled class instance (protocol ${c.protocol}) as UNSAFE_CHECKPOINT before building it`, () => {
      expect(() => unpickle(Buffer.from(c.hex, 'hex'), opts)).toThrow(expect.objectContaining({ code: 'UNSAFE_CHECKPOINT', message: expect.stringMatching(/names the global (copy_reg\._reconstructor|copyreg\._reconstructor|__main__\.Plain)/) }))
    })
  }

  it('refuses extension codes (EXT1) as an indirect global', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x82, 0x01, 0x2e]), opts)).toThrow(expect.objectContaining({ code: 'UNSAFE_CHECKPOINT' }))
  })

  it('every truncation of a real pickle is a BAD_CHECKPOINT, never a crash or a partial result', () => {
    const bytes = Buffer.from(cases[2].hex, 'hex')
    for (let cut = 0; cut < bytes.length; cut += 3) {
      expect(() => unpickle(bytes.subarray(0, cut), opts), `cut at ${cut}`).toThrow(SegError)
    }
  })
})

describe('parseTorchZip robustness', () => {
  it('every truncation of a torch.save file gives a SegError (BAD_CHECKPOINT)', () => {
    const whole = readFileSync(join(FIX, 'dtypes.pth'))
    for (let cut = 0; cut < whole.length; cut += 5) {
      let err: unknown
      try {
        parseTorchZip(whole.subarray(0, cut), 'dtypes.pth')
      } catch (e) {
        err = e
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(SegError)
      expect((err as SegError).code, `cut at ${cut}`).toBe('BAD_CHECKPOINT')
    }
  })

  it('flipping a byte of a stored tensor is caught by the CRC check', () => {
    const bytes = new Uint8Array(readFileSync(join(FIX, 'dtypes.pth')))
    const header = Buffer.from(bytes).indexOf(Buffer.from('dtypes/data/0')) - 30 // local header of storage 0
    const view = new DataView(bytes.buffer)
    const data = header + 30 + view.getUint16(header + 26, true) + view.getUint16(header + 28, true)
    bytes[data + 5] ^= 0xff
    expect(() => parseTorchZip(bytes, 'dtypes.pth')).toThrow(expect.objectContaining({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/CRC/) }))
  })
})
