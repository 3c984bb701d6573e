/**
 * Window/level presets (CT, in Hounsfield units) and an automatic window from intensity percentiles
 * (MRI and anything else without calibrated units).
 */
import type { Voxels, WindowLevel } from './slice'

export interface WindowPreset extends WindowLevel {
  id: string
  label: string
}

/** Common radiology CT windows (width / level in HU). */
export const CT_PRESETS: readonly WindowPreset[] = [
  { id: 'brain', label: 'CT brain', width: 80, level: 40 },
  { id: 'subdural', label: 'CT subdural', width: 215, level: 75 },
  { id: 'abdomen', label: 'CT abdomen', width: 400, level: 50 },
  { id: 'lung', label: 'CT lung', width: 1500, level: -600 },
  { id: 'bone', label: 'CT bone', width: 1800, level: 400 }
]

/**
 * The [lo, hi] percentiles of the intensities, from an evenly strided sample of at most
 * `maxSamples` voxels (exact enough for display, fast on 256³ volumes).
 */
export function percentiles(data: Voxels, lo: number, hi: number, maxSamples = 200_000): [number, number] {
  const stride = Math.max(1, Math.floor(data.length / maxSamples))
  const sample = new Float32Array(Math.ceil(data.length / stride))
  let n = 0
  for (let i = 0; i < data.length; i += stride) sample[n++] = data[i]
  const s = sample.subarray(0, n).sort()
  const at = (q: number) => s[Math.min(n - 1, Math.max(0, Math.round((q / 100) * (n - 1))))]
  return [at(lo), at(hi)]
}

/** Window from the 1st to the 99th percentile of the non-background voxels (MRI "auto"). */
export function autoWindow(data: Voxels): WindowLevel {
  const [p1, p99] = percentiles(data, 1, 99.5)
  const width = Math.max(p99 - p1, 1e-3)
  return { level: p1 + width / 2, width }
}

/** The unit of a scan's intensities as the readout shows it: HU for CT, none for MRI (arbitrary units). */
export const intensityUnit = (modality: 'CT' | 'MRI'): string => (modality === 'CT' ? 'HU' : '')
