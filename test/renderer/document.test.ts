/**
 * The document model's pure helpers: default export names that cannot be taken for the user's own
 * masks, titles and captions that say which segmentation of which scan is shown, and the scans a
 * multi-channel model may take beside the shown one (same grid, as the engine demands).
 */
import { describe, expect, it } from 'vitest'
import { basename } from 'node:path'
import { data } from '../helpers/data'
import { readVolume } from '../../src/engine/volume/read'
import type { ScanDocument, SegmentSummary, VolumeInfo } from '../../src/shared/contract'
import { captionOf, compatibleScans, exportPaths, ordinalOf, segmentationTitle, seriesToken, slugOf } from '../../src/renderer/src/workspace/document'

async function info(rel: string, id: string): Promise<VolumeInfo> {
  const v = await readVolume(data(rel))
  return { id, path: data(rel), name: basename(rel), size: v.size, spacing: v.spacing, origin: v.origin, direction: v.direction, orientation: '', range: [0, 1], modality: 'MRI', dtype: 'float32', notes: [] }
}
const seg = (runId: string, bundleDir: string, bundleName: string): SegmentSummary => ({
  runId, volumeId: 'v', labels: [], createdAt: '', provider: 'cpu', notes: [], elapsedMs: 0, stats: [],
  source: { kind: 'model', bundleDir, bundleName, device: 'cpu', refinement: false, volumeIds: ['v'] }
})

describe('default export names', () => {
  it('sit beside the scan with a .segtransfer-<model> infix, never a conventional mask name', () => {
    const p = exportPaths('/data/pt1/spleen_ct.nii.gz', 'Demo tissue classifier (Gaussian, not a trained network)', 1)
    expect(p).toEqual({
      labels: '/data/pt1/spleen_ct.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.nii.gz',
      statistics: '/data/pt1/spleen_ct.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.csv',
      mesh: '/data/pt1/spleen_ct.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.obj',
      dicomSeg: '/data/pt1/spleen_ct.segtransfer-demo-tissue-classifier-gaussian-not-a-tr.dcm'
    })
    const conventional = ['_seg.nii.gz', '_mask.nii.gz', '-label.nrrd', '_seg_stats.csv', '_label.nii.gz', '.nii.gz'].map((e) => `/data/pt1/spleen_ct${e}`)
    for (const path of Object.values(p)) expect(conventional).not.toContain(path)
    expect(exportPaths('/d/t2.nrrd', 'CT threshold', 1).labels).toBe('/d/t2.segtransfer-ct-threshold.nii.gz')
  })

  it('a second result of the same model on one scan gets its own names', () => {
    expect(exportPaths('/d/a.nii', 'M', 2).labels).toBe('/d/a.segtransfer-m-2.nii.gz')
    expect(exportPaths('/d/a.nii', 'M', 2).labels).not.toBe(exportPaths('/d/a.nii', 'M', 1).labels)
    expect(slugOf('***')).toBe('model')
  })

  it('two series opened from one DICOM folder get different names, from their listing number and description (no PHI)', () => {
    const t1 = exportPaths('/d/study', 'M', 1, { uid: '1.2.3', number: 2, description: 'Brain T1 (axial) 3mm' })
    const t2 = exportPaths('/d/study', 'M', 1, { uid: '1.2.4', number: 1, description: 'Brain T1 (axial) 3mm' })
    const bare = exportPaths('/d/study', 'M', 1, { uid: '1.2.5', number: 3, description: '' })
    expect(t1).toMatchObject({ labels: '/d/study.s2-brain-t1-axial-3mm.segtransfer-m.nii.gz', dicomSeg: '/d/study.s2-brain-t1-axial-3mm.segtransfer-m.dcm' })
    expect(t2.labels).toBe('/d/study.s1-brain-t1-axial-3mm.segtransfer-m.nii.gz')
    expect(bare.labels).toBe('/d/study.s3.segtransfer-m.nii.gz')
    expect(seriesToken({ uid: '9', number: 4, description: '../T2 *** sag/' })).toBe('s4-t2-sag') // a slug: no path separators
  })

  it('two volumes opened from one 4D file get different names (.v<k>, 0-based as --volume); a 3D file gets none', () => {
    expect(exportPaths('/d/dwi.nii.gz', 'M', 1, undefined, 0).labels).toBe('/d/dwi.v0.segtransfer-m.nii.gz')
    expect(exportPaths('/d/dwi.nii.gz', 'M', 1, undefined, 12).labels).toBe('/d/dwi.v12.segtransfer-m.nii.gz')
    expect(exportPaths('/d/dwi.nii.gz', 'M', 1).labels).toBe('/d/dwi.segtransfer-m.nii.gz')
  })
})

describe('titles and captions', () => {
  it('number later results of one model on a scan, and say which scan is shown', async () => {
    const volume = await info('geometry/t1_RAS.nii.gz', 'v')
    const doc: ScanDocument = { volume, segmentations: [seg('r1', '/b/a', 'Tissue'), seg('r2', '/b/other', 'Other'), seg('r3', '/b/a', 'Tissue')], shownRunId: 'r3' }
    expect(doc.segmentations.map((x) => ordinalOf(doc, x))).toEqual([1, 1, 2])
    expect(segmentationTitle(doc, doc.segmentations[2])).toBe('Tissue #2')
    expect(captionOf(doc)).toBe('Tissue #2 on t1_RAS.nii.gz')
    expect(captionOf({ ...doc, shownRunId: '' })).toBe('t1_RAS.nii.gz · no segmentation')
  })
})

describe('scans a multi-channel model may take beside the shown one', () => {
  it('only those on the same grid, the shown one excluded', async () => {
    const flair = await info('mri/FLAIR.nii.gz', 'flair')
    const lesion = await info('mri/FLAIR_lesion.nii.gz', 'lesion')
    const t1 = await info('mri/t1_crop.nii.gz', 't1')
    const spine = await info('spine/t2.nii.gz', 'spine')
    expect(compatibleScans([flair, lesion, t1, spine], flair).map((v) => v.id)).toEqual(['lesion'])
    expect(compatibleScans([flair, lesion, t1, spine], spine)).toEqual([])
  })
})
