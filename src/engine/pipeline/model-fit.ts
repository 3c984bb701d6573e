/**
 * Does a scan fit the model? Compares a volume with the manifest's optional `accepts` section
 * (modality family, field of view, voxel size, intensity range) before a run, so a brain-MRI model is not silently
 * run on an abdominal CT. One pure function; the pipeline decides what to do with its findings
 * (gross: refuse unless forced; warning: run and say so).
 */
import type { Volume } from '../volume/volume'
import type { Accepts } from '../bundle/manifest'

export type FitSeverity = 'warning' | 'gross'

export interface FitFinding {
  severity: FitSeverity
  /** One line: what was found and what the model expects. */
  message: string
}

/** Below this (HU) lie air, lung and fat; a magnitude MRI has no such values (any scaling short of -200). */
export const HU_NEGATIVE_BELOW = -200
/** Share of voxels below HU_NEGATIVE_BELOW from which a scan is CT-like (spleen_ct: ~2 %, cropped soft tissue). */
export const CT_NEGATIVE_SHARE = 0.005
/** Share of voxels outside `accepts.intensityRange` from which the scan is said to lie outside it. */
export const OUTSIDE_RANGE_SHARE = 0.01

/** 'CT' when a share of voxels lies in the HU range of air/lung/fat, else 'MRI' (the only other family here). */
export function modalityFamily(data: ArrayLike<number>): { family: 'CT' | 'MRI'; negativeShare: number } {
  let negative = 0
  for (let i = 0; i < data.length; i++) if (data[i] < HU_NEGATIVE_BELOW) negative++
  const negativeShare = data.length ? negative / data.length : 0
  return { family: negativeShare >= CT_NEGATIVE_SHARE ? 'CT' : 'MRI', negativeShare }
}

/** Share of the voxels outside [lo, hi]. */
function shareOutside(data: ArrayLike<number>, lo: number, hi: number): number {
  let outside = 0
  for (let i = 0; i < data.length; i++) if (data[i] < lo || data[i] > hi) outside++
  return data.length ? outside / data.length : 0
}

const mm = (v: readonly number[]) => v.map((x) => x.toFixed(x < 10 ? 2 : 0)).join(' × ')

/**
 * Findings for one scan against what the model accepts (none when `accepts` is absent).
 * @param volume the scan as read (intensities as stored after scaling: HU for CT)
 * @param accepts the manifest's `accepts` section
 * @param name how the user knows the scan (file name), for the messages
 */
export function assessModelFit(volume: Volume, accepts: Accepts | undefined, name: string): FitFinding[] {
  if (!accepts) return []
  const findings: FitFinding[] = []
  if (accepts.modalities) {
    const { family, negativeShare } = modalityFamily(volume.data)
    if (!accepts.modalities.includes(family)) {
      const evidence = family === 'CT'
        ? `${(100 * negativeShare).toFixed(1)} % of voxels below ${HU_NEGATIVE_BELOW}, an HU range`
        : `no HU-like values: ${(100 * negativeShare).toFixed(2)} % of voxels below ${HU_NEGATIVE_BELOW}`
      findings.push({ severity: 'gross', message: `${name} looks like ${family} (${evidence}); the model accepts ${accepts.modalities.join(' or ')}` })
    }
  }
  const fov = volume.size.map((n, a) => n * volume.spacing[a])
  const fovRange = accepts.fieldOfViewMm
  if (fovRange && fov.some((f) => f < fovRange[0] || f > fovRange[1])) {
    findings.push({ severity: 'warning', message: `${name} covers ${mm(fov)} mm; the model expects ${fovRange[0]} to ${fovRange[1]} mm along each axis` })
  }
  const vox = accepts.voxelSizeMm
  if (vox && volume.spacing.some((s) => s < vox[0] || s > vox[1])) {
    findings.push({ severity: 'warning', message: `${name} has voxels of ${mm(volume.spacing)} mm; the model expects ${vox[0]} to ${vox[1]} mm` })
  }
  const range = accepts.intensityRange
  const outside = range ? shareOutside(volume.data, range[0], range[1]) : 0
  if (range && outside > OUTSIDE_RANGE_SHARE) {
    findings.push({ severity: 'warning', message: `${name} has ${(100 * outside).toFixed(1)} % of its intensities outside ${range[0]} to ${range[1]}, the range the model expects` })
  }
  return findings
}
