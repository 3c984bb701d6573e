/**
 * The Teach panel's feature choice: how many features the new head reads for each choice, and the
 * one-line hint naming the tapped layers and the base's model space (or why the base has none).
 */
import { describe, expect, it } from 'vitest'
import type { BaseSummary } from '../../src/shared/contract'
import { featuresHint, headFeatures } from '../../src/renderer/src/workspace/teach'

const resunet: Pick<BaseSummary, 'features' | 'network'> = {
  features: 19, network: { taps: ['decoder_0.1/Relu'], channels: 8, space: '128×128×128 voxels of 2 mm, RAS' }
}

describe('teach feature choice', () => {
  it('counts the filter bank, the tapped channels, or both as the head inputs', () => {
    expect(['filters', 'network,filters', 'network'].map((c) => headFeatures(c as 'filters', resunet))).toEqual([19, 27, 8])
  })

  it('names the tapped layer and the base space for network features, the scan grid for filters', () => {
    expect(featuresHint('filters', resunet)).toBe("19 filter-bank features at the scan's own resolution, on its grid.")
    expect(featuresHint('network,filters', resunet)).toBe("19 filter-bank features + 8 channels of decoder_0.1/Relu, in the base's space (128×128×128 voxels of 2 mm, RAS); figures: docs/teach.md.")
    expect(featuresHint('network', resunet)).toBe("8 channels of decoder_0.1/Relu, in the base's space (128×128×128 voxels of 2 mm, RAS); figures: docs/teach.md.")
    expect(featuresHint('network', { ...resunet, network: { taps: [], channels: 0, space: "the scan's own grid", unavailable: "base bundle 'x' has no decoder feature map to tap" } })).toBe(
      "base bundle 'x' has no decoder feature map to tap"
    )
  })
})
