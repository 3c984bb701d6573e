/**
 * The model-fit check on real scans against the shipped brain-MRI bundle's `accepts`: an abdominal
 * CT is a gross mismatch, the MRI scans are not; and the manifest's `accepts` is bounded.
 */
import { describe, expect, it, beforeAll } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVolume } from '../../src/engine/volume/read'
import { assessModelFit } from '../../src/engine/pipeline/model-fit'
import { ManifestSchema, type Accepts } from '../../src/engine/bundle/manifest'
import { data, REPO } from '../helpers/data'

const SHIPPED = join(REPO, 'resources/models/brain-tissue-resunet/manifest.json')
const shipped = () => JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, unknown>
let accepts: Accepts
beforeAll(() => {
  accepts = ManifestSchema.parse(shipped()).accepts!
})

const findings = async (rel: string) => assessModelFit(await readVolume(data(rel)), accepts, rel)

describe('assessModelFit against the shipped brain-MRI bundle', () => {
  it('finds spleen_ct (abdominal CT, HU) a gross mismatch naming CT and the MRI the model accepts', async () => {
    const f = await findings('ct/spleen_ct.nii.gz')
    const gross = f.filter((x) => x.severity === 'gross')
    expect(gross).toHaveLength(1)
    expect(gross[0].message).toMatch(/looks like CT \(\d+\.\d % of voxels below -200, an HU range\); the model accepts MRI$/)
  })

  it.each(['mri/t1_crop.nii.gz', 'mri/FLAIR.nii.gz', 'geometry/t1_RAS.nii.gz'])('finds nothing at all on the head MRI %s', async (rel) => {
    expect(await findings(rel)).toEqual([])
  })

  it('finds the spine T2 crop MRI (no gross mismatch) but warns its 60 × 55 × 52 mm field of view is not head-sized', async () => {
    const f = await findings('spine/t2.nii.gz')
    expect(f.map((x) => x.severity)).toEqual(['warning'])
    expect(f[0].message).toContain('covers 60 × 55 × 52 mm; the model expects 100 to 300 mm')
  })

  it('warns when more than 1 % of the intensities lie outside accepts.intensityRange (spleen_ct HU vs [0, 255]; not vs [-1024, 3071])', async () => {
    const ct = await readVolume(data('ct/spleen_ct.nii.gz'))
    const outside = assessModelFit(ct, { intensityRange: [0, 255] }, 'ct')
    expect(outside.map((x) => x.severity)).toEqual(['warning'])
    expect(outside[0].message).toMatch(/^ct has \d+\.\d % of its intensities outside 0 to 255, the range the model expects$/)
    expect(assessModelFit(ct, { modalities: ['CT'], intensityRange: [-1024, 3071] }, 'ct')).toEqual([])
  })

  it('finds nothing when the manifest declares no accepts, even for a CT', async () => {
    expect(assessModelFit(await readVolume(data('ct/spleen_ct.nii.gz')), undefined, 'ct')).toEqual([])
  })
})

describe('the manifest accepts section is bounded', () => {
  const withAccepts = (a: unknown) => ManifestSchema.safeParse({ ...shipped(), accepts: a })
  it.each([
    [{ fieldOfViewMm: [100, 1e5] }, 'LIMITS.fieldOfViewMm'],
    [{ fieldOfViewMm: [300, 100] }, 'lowest ≤ highest'],
    [{ voxelSizeMm: [0, 3] }, 'LIMITS.minSpacingMm'],
    [{ intensityRange: [-1e10, 0] }, 'LIMITS.intensity'],
    [{ modalities: ['PET'] }, '"accepts","modalities",0'],
    [{ modality: 'MRI' }, 'modality']
  ])('refuses %j naming %s', (a, expected) => {
    const r = withAccepts(a)
    expect(r.success).toBe(false)
    expect(JSON.stringify(r.error!.issues)).toContain(expected)
  })
})
