/**
 * A MedicalNet checkpoint ({'state_dict': …} with DataParallel 'module.' prefixes, plain 7x7x7 stem,
 * conv_seg head) imports with every key accounted for, and the prefix failure mode cannot pass silently.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { transfer } from '../../src/engine/transfer/ops'
import { compareShapes, checkLoadReport } from '../../src/engine/transfer/ops/load-report'
import { expectedParameters } from '../../src/engine/transfer/architectures'

const FIX = join(__dirname, '../fixtures/checkpoints')
const SOURCE = join(FIX, 'medicalnet-resnet10-slim.pth')
const exp = JSON.parse(readFileSync(join(FIX, 'medicalnet-expected.json'), 'utf8')) as { keys: string[]; shapes: Record<string, number[]> }
const stripped = exp.keys.map((k) => k.slice('module.'.length))

describe('MedicalNet resnet10 checkpoint', () => {
  it('transfers to a 2-class ResNet with a complete report: every key matched or unexpected (conv_seg), only head_fc missing', async () => {
    const r = await transfer({ from: SOURCE, to: 'resnet', classes: 2 })
    const { load, source, sourceConfig } = r.report
    expect(source.family).toBe('medicalnet')
    expect(source.notes.join(' | ')).toMatch(/took the state dict from \['state_dict'\].*stripped the 'module\.' prefix from \d+ keys/)
    expect(sourceConfig).toMatchObject({ depth: 10, block: 'basic', deepStem: false, inChannels: 1, numClasses: null })
    expect(load.unexpected).toEqual(stripped.filter((k) => k.startsWith('conv_seg.')))
    expect(load.matched).toEqual(stripped.filter((k) => !k.startsWith('conv_seg.')))
    expect(load.missing).toEqual(['head_fc.weight', 'head_fc.bias'])
    expect(load.mismatched).toEqual([])
    // every source key is accounted for exactly once
    expect([...load.matched, ...load.unexpected].sort()).toEqual([...stripped].sort())
    console.log(`medicalnet report: ${load.matched.length} matched, unexpected ${JSON.stringify(load.unexpected)}, missing ${JSON.stringify(load.missing)}`)
    // strict mode: the new head is allowed (created on purpose) but the unused conv_seg head is not
    await expect(transfer({ from: SOURCE, to: 'resnet', classes: 2, strict: true })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH', message: expect.stringMatching(/strict load failed: \d+ matched, 0 missing, 14 unexpected \(conv_seg\.0\.weight/)
    })
  })

  it('with the module. prefix left on, nothing matches and that is an error naming the prefixes (not a silent no-op)', () => {
    const source = new Map(exp.keys.map((k) => [k, exp.shapes[k]]))
    const target = expectedParameters({ kind: 'resnet', depth: 10, inChannels: 1, numClasses: 2, baseWidth: 4, deepStem: false })
    const r = compareShapes(source, target)
    expect(() => checkLoadReport(r, source.keys(), target.keys(), { strict: false, label: 'resnet_10.pth → resnet' })).toThrow(
      expect.objectContaining({ code: 'MODEL_MISMATCH', message: expect.stringMatching(/no parameter matched .*source names start with module\. .*target's start with conv1\. bn1\. layer1\./) }))
  })

  it('transfers to a ResUNet with 2 input channels via interpolation (1 → 2 copies the single channel)', async () => {
    const r = await transfer({ from: SOURCE, to: 'resunet', inChannels: 2, classes: 3 })
    expect(r.report.operations.find((o) => o.op === 'adapt-input-conv')?.description).toBe("conv1.weight [4,1,7,7,7] → [4,2,7,7,7] with policy 'interpolate'")
    expect(r.report.load.unexpected).toEqual(stripped.filter((k) => k.startsWith('conv_seg.')))
  })
})
