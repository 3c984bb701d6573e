import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src/engine/checkpoint'

const FIX = join(__dirname, '../fixtures/checkpoints')
const fixture = (name: string): string => join(FIX, name)
const json = (name: string): any => JSON.parse(readFileSync(fixture(name), 'utf8'))

describe('readCheckpoint on torch.save files (PyTorch 1.13 fixtures)', () => {
  const expected = json('dtypes-expected.json') as Record<string, { dims: number[]; values: number[]; float: boolean }>

  for (const file of ['dtypes.pth', 'dtypes-p4.pth']) {
    it(`${file}: float16/bfloat16/float64 → float32, int64/int32 → int64, strided and offset views, Parameter, as PyTorch sees them`, async () => {
      const ck = await readCheckpoint(fixture(file))
      expect(ck.format).toBe('pytorch')
      expect(ck.container).toEqual(['state_dict'])
      expect(ck.ignored.sort()).toEqual(['arch', 'best', 'big', 'epoch', 'flags', 'optimizer'])
      expect(ck.stripped).toEqual({ 'module.': Object.keys(expected).length })
      expect([...ck.state.keys()]).toEqual(Object.keys(expected).map((k) => k.replace(/^module\./, '')))
      for (const [name, e] of Object.entries(expected)) {
        const t = ck.state.get(name.replace(/^module\./, ''))!
        expect(t.dims, name).toEqual(e.dims)
        expect(t.data instanceof Float32Array, name).toBe(e.float)
        const got = Array.from(t.data as ArrayLike<number | bigint>, Number)
        expect(got, name).toEqual(e.values.map((v) => (e.float ? Math.fround(v) : v)))
      }
      expect(ck.sha256).toMatch(/^[0-9a-f]{64}$/)
    })
  }

  it('reads a ptimz ResNet-50 state dict with every key, shape and the int64 BN counters', async () => {
    const exp = json('seed000-expected.json')
    const ck = await readCheckpoint(fixture('seed000-resnet50-slim.pth'))
    expect([...ck.state.keys()]).toEqual(exp.keys)
    for (const k of exp.keys) expect(ck.state.get(k)!.dims, k).toEqual(exp.shapes[k])
    expect(ck.state.get('stem.0.bn.num_batches_tracked')!.data).toBeInstanceOf(BigInt64Array)
    expect(ck.family).toBe('ptimz-resnet')
    expect(ck.container).toEqual([])
  })

  it("unwraps MedicalNet's {'state_dict': …} and strips DataParallel 'module.' prefixes", async () => {
    const exp = json('medicalnet-expected.json')
    const ck = await readCheckpoint(fixture('medicalnet-resnet10-slim.pth'))
    expect(ck.container).toEqual(['state_dict'])
    expect(ck.stripped).toEqual({ 'module.': exp.keys.length })
    expect([...ck.state.keys()]).toEqual(exp.keys.map((k: string) => k.slice('module.'.length)))
    expect(ck.family).toBe('medicalnet')
    expect(ck.notes.join(' | ')).toMatch(/stripped the 'module\.' prefix from \d+ keys/)
  })
})

describe('readCheckpoint refuses what it must not run or cannot read', () => {
  const cases: Array<[string, RegExp]> = [
    ['evil-global.pth', /evil-global\.pth names the global posix\.system; only tensor-rebuild globals are allowed \(refusing to execute code\)/],
    ['evil-stack-global.pth', /names the global builtins\.eval; only tensor-rebuild globals are allowed/],
    ['evil-nested.pth', /names the global posix\.system/]
  ]
  for (const [file, message] of cases) {
    it(`${file}: UNSAFE_CHECKPOINT naming the global, and nothing runs`, async () => {
      await expect(readCheckpoint(fixture(file))).rejects.toMatchObject({ code: 'UNSAFE_CHECKPOINT', message: expect.stringMatching(message) })
      for (const marker of ['PWNED1', 'PWNED2', 'PWNED3']) expect(existsSync(marker)).toBe(false)
    })
  }

  it('a whole pickled model → UNSAFE_CHECKPOINT naming its class, with the hint to save the state_dict', async () => {
    await expect(readCheckpoint(fixture('whole-model.pth'))).rejects.toMatchObject({
      code: 'UNSAFE_CHECKPOINT', message: expect.stringMatching(/names the global torch\.nn\.modules\.linear\.Linear; .*save model\.state_dict\(\) instead$/)
    })
  })

  it('a truncated checkpoint → BAD_CHECKPOINT "is truncated or not a valid zip"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'))
    const whole = readFileSync(fixture('seed000-resnet50-slim.pth'))
    const p = join(dir, 'checkpoint.pth')
    writeFileSync(p, whole.subarray(0, Math.floor(whole.byteLength / 2)))
    await expect(readCheckpoint(p)).rejects.toMatchObject({
      code: 'BAD_CHECKPOINT',
      message: expect.stringMatching(/^checkpoint\.pth is truncated or not a valid zip \(.+\); expected a torch\.save file$/)
    })
  })

  it('a legacy (non-zip) torch.save file → a clear message saying how to re-save it', async () => {
    await expect(readCheckpoint(fixture('legacy.pth'))).rejects.toMatchObject({
      code: 'UNSUPPORTED', message: expect.stringMatching(/legacy \(pre-1\.6, non-zip\) format; .*re-save/)
    })
  })

  it('a file that is no checkpoint at all, and a missing path, are named as such', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'))
    const p = join(dir, 'notes.txt')
    writeFileSync(p, 'hello, not a checkpoint\n')
    await expect(readCheckpoint(p)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/^notes\.txt is not a checkpoint we can read; expected a torch\.save file/) })
    await expect(readCheckpoint(join(dir, 'absent.pth'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' })
  })

  it('a TorchScript archive → says to save the state_dict instead', async () => {
    await expect(readCheckpoint(fixture('torchscript.pt'))).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/TorchScript/) })
  })
})
