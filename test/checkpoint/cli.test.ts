/** The `transfer` and `summary` commands end to end (argument parsing, bundle writing, report lines). */
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run as transferCmd } from '../../src/cli/commands/transfer'
import { run as summaryCmd } from '../../src/cli/commands/summary'
import { loadBundle } from '../../src/engine/bundle/bundle'

const SOURCE = join(__dirname, '../fixtures/checkpoints/seed000-resnet50-slim.pth')
function capture(): { io: { out: (l: string) => void; err: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err }
}

describe('segtransfer transfer / summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-'))

  it('transfer writes a valid bundle with the frozen stages and prints the load report', async () => {
    const c = capture()
    const code = await transferCmd(['--from', SOURCE, '--to', 'resunet', '--in-channels', '4', '--classes', '8', '--freeze', 'stem,layer1,layer2', '--name', 'seed000', '--out', join(dir, 'b')], c.io)
    expect(code).toBe(0)
    const text = c.out.join('\n')
    expect(text).toMatch(/adapt-input-conv +stem\.0\.conv\.weight \[2,2,3,3,3\] → \[2,4,3,3,3\] with policy 'interpolate'/)
    expect(text).toMatch(/unexpected +2: head_fc\.weight, head_fc\.bias/)
    expect(text).toMatch(/mismatched +0: \(none\)/)
    const b = await loadBundle(join(dir, 'b'))
    expect(b.manifest.name).toBe('seed000')
    expect(b.manifest.architecture).toMatchObject({ kind: 'resunet', depth: 50, inChannels: 4, numClasses: 8, frozen: ['stem', 'layer1', 'layer2'] })
    expect(b.manifest.provenance.map((p) => p.operation)).toEqual(['transfer to resunet'])
  })

  it('--describe sets what the model card says (labels, preprocessing) and refuses other sections', async () => {
    const desc = join(dir, 'describe.json')
    const labels = ['background', 'a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name, value) => ({ value, name, color: [value * 30, 0, 0] }))
    writeFileSync(desc, JSON.stringify({ geometry: { mode: 'resample', orientation: 'RAS', spacing: [2, 2, 2] }, output: { kind: 'softmax', labels } }))
    const c = capture()
    expect(await transferCmd(['--from', SOURCE, '--to', 'resunet', '--in-channels', '4', '--classes', '8', '--describe', desc, '--out', join(dir, 'described')], c.io)).toBe(0)
    const b = await loadBundle(join(dir, 'described'))
    expect(b.manifest.geometry).toEqual({ mode: 'resample', orientation: 'RAS', spacing: [2, 2, 2] })
    expect(b.manifest.output.labels[1].name).toBe('a')
    expect(b.manifest.architecture).toMatchObject({ kind: 'resunet' })
    writeFileSync(desc, JSON.stringify({ provenance: [] }))
    await expect(transferCmd(['--from', SOURCE, '--to', 'resunet', '--classes', '8', '--in-channels', '4', '--describe', desc, '--out', join(dir, 'nope')], c.io)).rejects.toThrow(/sets provenance; expected only name/)
  })

  it('--describe naming a FIFO is refused (it hung), and a link to /etc/passwd is refused without quoting it', async () => {
    const c = capture()
    const args = (desc: string, out: string) => ['--from', SOURCE, '--to', 'resunet', '--classes', '8', '--in-channels', '4', '--describe', desc, '--out', join(dir, out)]
    const fifo = join(dir, 'fifo.json')
    execFileSync('mkfifo', [fifo])
    await expect(transferCmd(args(fifo, 'f'), c.io)).rejects.toThrow(`${fifo} is a named pipe (FIFO); expected a JSON description`)
    const link = join(dir, 'passwd.json')
    symlinkSync('/etc/passwd', link)
    const e = await transferCmd(args(link, 'p'), c.io).catch((err: Error) => err)
    expect((e as Error).message).toMatch(/^--describe .*passwd\.json is not valid JSON \(syntax error at line 1, column \d+\); expected a JSON description$/)
  })

  it("summary of that bundle marks the bundle's frozen stages non-trainable", async () => {
    const c = capture()
    expect(await summaryCmd([join(dir, 'b'), '--input-size', '1,4,64,64,64', '--depth', '1'], c.io)).toBe(0)
    const text = c.out.join('\n')
    expect(text).toMatch(/^layer2: 1 .*False$/m)
    expect(text).toMatch(/^layer3: 1 .*True$/m)
    expect(text).toMatch(/^seg_head: 1 +\[1, 8, 64, 64, 64\]/m)
  })

  it('summary of a checkpoint builds its inferred architecture', async () => {
    const c = capture()
    expect(await summaryCmd([SOURCE, '--depth', '1', '--json'], c.io)).toBe(0)
    const s = JSON.parse(c.out.join('\n'))
    expect(s.inputShape).toEqual([1, 2, 64, 64, 64])
    expect(s.outputs).toEqual([{ name: 'class_logits', shape: [1, 4] }])
  })

  it('refuses an impossible channel policy and a bad stage name with one-line errors', async () => {
    const c = capture()
    await expect(transferCmd(['--from', SOURCE, '--to', 'resnet', '--in-channels', '4', '--classes', '8', '--channel-policy', 'timm', '--out', join(dir, 'x')], c.io))
      .rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/'timm' cannot adapt 2 input channels to 4.*--channel-policy interpolate/) })
    await expect(transferCmd(['--from', SOURCE, '--to', 'resnet', '--classes', '8', '--freeze', 'layer9', '--out', join(dir, 'y')], c.io))
      .rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/cannot freeze 'layer9'/) })
  })
})
