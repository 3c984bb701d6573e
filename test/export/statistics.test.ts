import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVolume } from '../../src/engine/volume/read'
import { labelStatistics, statisticsCsv, writeStatistics } from '../../src/engine/export'
import { indexToWorld } from '../../src/engine/volume/affine'
import type { Volume } from '../../src/engine/volume/volume'
import { SegError } from '../../src/engine/errors'
import { data, tempDir } from '../volume/fixtures'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('labelStatistics', () => {
  it('spleen mask: volume = voxels × 0.7949·0.7949·5 / 1000 mL and a tight voxel bounding box', async () => {
    const seg = await readVolume(data('ct/spleen_ct_seg.nii.gz'))
    expect(seg.spacing[0]).toBeCloseTo(0.7949, 4)
    expect(seg.spacing[2]).toBeCloseTo(5, 6)
    const [s] = labelStatistics(seg, { 1: 'spleen' })
    let voxels = 0
    for (let k = 0; k < seg.data.length; k++) if (seg.data[k] === 1) voxels++
    expect(s.value).toBe(1)
    expect(s.name).toBe('spleen')
    expect(s.voxels).toBe(voxels)
    expect(s.volumeMl).toBeCloseTo((voxels * seg.spacing[0] * seg.spacing[1] * seg.spacing[2]) / 1000, 9)
    expect(s.volumeMl).toBeCloseTo((voxels * 0.7949 * 0.7949 * 5) / 1000, 0)
    // Tight: every spleen voxel inside the box, and each of the 6 faces touches a spleen voxel.
    const box = s.bboxVoxels!
    const touches = [false, false, false, false, false, false]
    let outside = 0
    const [nx, ny] = seg.size
    for (let k = 0, o = 0; k < seg.size[2]; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++, o++) {
      if (seg.data[o] !== 1) continue
      const ijk = [i, j, k]
      ijk.forEach((x, a) => {
        if (x < box.min[a] || x > box.max[a]) outside++
        if (x === box.min[a]) touches[a] = true
        if (x === box.max[a]) touches[3 + a] = true
      })
    }
    expect(outside).toBe(0)
    expect(touches.every(Boolean)).toBe(true)
    // World box: bounds of the corner voxel centres (direction diag(-1,-1,1) flips x and y).
    const a = indexToWorld(seg, box.min)
    const b = indexToWorld(seg, box.max)
    for (let ax = 0; ax < 3; ax++) {
      expect(s.bboxWorldMm!.min[ax]).toBeCloseTo(Math.min(a[ax], b[ax]), 9)
      expect(s.bboxWorldMm!.max[ax]).toBeCloseTo(Math.max(a[ax], b[ax]), 9)
    }
  })

  it('lists named-but-absent labels with 0 voxels and names unnamed present ones', () => {
    const v: Volume = { size: [3, 2, 1], spacing: [1, 2, 3], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data: Uint8Array.from([0, 4, 4, 0, 0, 9]) }
    const stats = labelStatistics(v, new Map([[0, 'background'], [4, 'lesion'], [5, 'edema']]))
    expect(stats.map((s) => [s.value, s.name, s.voxels])).toEqual([[4, 'lesion', 2], [5, 'edema', 0], [9, 'label 9', 1]])
    expect(stats[0].volumeMl).toBeCloseTo((2 * 6) / 1000, 12)
    expect(stats[0].bboxVoxels).toEqual({ min: [1, 0, 0], max: [2, 0, 0] })
    expect(stats[1].bboxVoxels).toBeNull()
  })
})

describe('writeStatistics', () => {
  it('writes CSV and JSON that read back to the same numbers', async () => {
    const seg = await readVolume(data('ct/spleen_ct_seg.nii.gz'))
    const stats = labelStatistics(seg, { 1: 'spleen, manual' })
    const csv = join(tmp.dir, 'stats.csv')
    const json = join(tmp.dir, 'stats.json')
    await writeStatistics(stats, csv)
    await writeStatistics(stats, json)
    const lines = readFileSync(csv, 'utf8').trim().split('\n')
    expect(lines[0].split(',').slice(0, 4)).toEqual(['value', 'name', 'voxels', 'volume_ml'])
    expect(lines[1].startsWith(`1,"spleen, manual",${stats[0].voxels},`)).toBe(true)
    const parsed = JSON.parse(readFileSync(json, 'utf8'))
    expect(parsed.labels[0].voxels).toBe(stats[0].voxels)
    expect(parsed.labels[0].volumeMl).toBe(stats[0].volumeMl)
  })

  it('refuses other extensions with BAD_ARGUMENT and writes nothing', async () => {
    const out = join(tmp.dir, 'stats.xlsx')
    try {
      await writeStatistics([], out)
      throw new Error('expected a refusal')
    } catch (e) {
      expect((e as SegError).code).toBe('BAD_ARGUMENT')
      expect((e as SegError).message).toContain('expected .csv or .json')
    }
    expect(existsSync(out)).toBe(false)
  })

  it('label names a spreadsheet would run as formulas (=, +, -, @, tab, CR) get a leading quote and are quoted; numbers stay numbers', async () => {
    const seg = await readVolume(data('ct/spleen_ct_seg.nii.gz'))
    const names = ['=HYPERLINK("http://x","y")', '+1+1', '-2', '@SUM(A1)', '\tcmd', '\rcmd']
    const box = { min: [-10.5, -3, -1] as [number, number, number], max: [1, 2, 3] as [number, number, number] }
    const stats = names.map((name, i) => ({ ...labelStatistics(seg, { 1: 'spleen' })[0], value: i + 1, name, bboxWorldMm: box }))
    const rows = statisticsCsv(stats).split('\n').slice(1, -1)
    const quoted = [`"'=HYPERLINK(""http://x"",""y"")"`, `"'+1+1"`, `"'-2"`, `"'@SUM(A1)"`, `"'\tcmd"`, `"'\rcmd"`]
    quoted.forEach((q, i) => expect(rows[i].startsWith(`${i + 1},${q},${stats[i].voxels},`), rows[i]).toBe(true))
    // Negative numbers (LPS mm bounds) are not text: they stay plain numbers.
    expect(rows[0].endsWith(',-10.5,-3,-1,1,2,3')).toBe(true)
  })

  it('refuses an existing file unless overwrite is asked for, and a model bundle folder always', async () => {
    const seg = await readVolume(data('ct/spleen_ct_seg.nii.gz'))
    const stats = labelStatistics(seg, { 1: 'spleen' })
    const out = join(tmp.dir, 'mine.csv')
    writeFileSync(out, 'mine')
    await expect(writeStatistics(stats, out)).rejects.toMatchObject({ code: 'OUTPUT_CONFLICT', message: expect.stringContaining('already exists') })
    expect(readFileSync(out, 'utf8')).toBe('mine')
    await writeStatistics(stats, out, { overwrite: true })
    expect(readFileSync(out, 'utf8')).toContain('spleen')
    const bundleDir = join(tmp.dir, 'a-bundle')
    mkdirSync(bundleDir)
    writeFileSync(join(bundleDir, 'manifest.json'), '{}')
    await expect(writeStatistics(stats, join(bundleDir, 'manifest.json'), { overwrite: true })).rejects.toMatchObject({ code: 'OUTPUT_CONFLICT', message: expect.stringContaining('never written into') })
    expect(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')).toBe('{}')
  })
})

