/**
 * Adapting a first convolution to a different number of input channels.
 * Weight layout `[out, in, ...kernel]` (any number of spatial dims), C-order float32.
 *
 * Policies (C = source channels, N = requested):
 * - 'interpolate' (ptimz / seed 000): linear interpolation across the input-channel axis exactly as
 *   `F.interpolate(mode='linear', align_corners=False)`; no rescaling. 2→4 gives
 *   [c0, .75c0+.25c1, .25c0+.75c1, c1]; 3→1 gives c1; 1→N gives N copies.
 * - 'interpolate-scaled': 'interpolate', then × C/N so the summed response of the layer is kept.
 * - 'timm' (timm's adapt_input_conv): to 1 = sum over channels (when C > 3 and divisible by 3, sum
 *   within consecutive groups of 3, which yields C/3 channels as timm does for space2depth stems);
 *   from 3 to N = repeat the 3 channels ceil(N/3) times, keep the first N, × 3/N; anything else is
 *   unsupported (SegError naming the policies that work).
 * For every policy C = N returns an unchanged copy.
 */
import { SegError } from '../../errors'
import type { Tensor } from '../../tensor'

export type ChannelPolicy = 'interpolate' | 'timm' | 'interpolate-scaled'
export const CHANNEL_POLICIES: readonly ChannelPolicy[] = ['interpolate', 'timm', 'interpolate-scaled']

const f = Math.fround

/**
 * Source index pairs and weights of PyTorch's 1-D linear resize (align_corners=False) from C to N,
 * computed in float32 as PyTorch's CPU kernel does.
 */
export function linearResizeWeights(c: number, n: number): Array<{ i0: number; i1: number; w0: number; w1: number }> {
  const scale = f(c / n)
  const out = []
  for (let j = 0; j < n; j++) {
    let src = f(f(scale * f(j + 0.5)) - 0.5)
    if (src < 0) src = 0
    const i0 = Math.min(Math.floor(src), c - 1)
    const i1 = i0 < c - 1 ? i0 + 1 : i0
    const w1 = Math.min(Math.max(f(src - i0), 0), 1)
    out.push({ i0, i1, w0: f(1 - w1), w1 })
  }
  return out
}

/** Return a first-conv weight adapted from its C input channels to `inChannels` with `policy`. */
export function adaptInputConv(weight: Tensor, inChannels: number, policy: ChannelPolicy): Tensor {
  if (!(weight.data instanceof Float32Array) || weight.dims.length < 3) {
    throw new SegError('BAD_ARGUMENT', `adaptInputConv expects a float conv weight [out, in, ...kernel], got dims [${weight.dims.join(', ')}]`)
  }
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new SegError('BAD_ARGUMENT', `input channels must be a positive integer, got ${inChannels}`)
  if (!CHANNEL_POLICIES.includes(policy)) throw new SegError('BAD_ARGUMENT', `unknown channel policy '${policy}'; expected one of ${CHANNEL_POLICIES.join(', ')}`)
  const [o, c, ...kernel] = weight.dims
  const k = kernel.reduce((a, b) => a * b, 1)
  const src = weight.data
  if (c === inChannels) return { dims: [...weight.dims], data: src.slice() }

  // Build the output as per-channel linear combinations: out channel j = Σ coef × in channel i, then × scale.
  let mix: Array<Array<[number, number]>>
  let scale = 1
  if (policy === 'timm') {
    if (inChannels === 1 && c > 3) {
      if (c % 3 !== 0) throw unsupported(c, inChannels)
      mix = Array.from({ length: c / 3 }, (_, g) => [[3 * g, 1], [3 * g + 1, 1], [3 * g + 2, 1]] as Array<[number, number]>)
    } else if (inChannels === 1) {
      mix = [Array.from({ length: c }, (_, i) => [i, 1] as [number, number])]
    } else if (c === 3) {
      mix = Array.from({ length: inChannels }, (_, j) => [[j % 3, 1]] as Array<[number, number]>)
      scale = f(3 / inChannels)
    } else throw unsupported(c, inChannels)
  } else {
    mix = linearResizeWeights(c, inChannels).map(({ i0, i1, w0, w1 }) => [[i0, w0], [i1, w1]] as Array<[number, number]>)
    if (policy === 'interpolate-scaled') scale = f(c / inChannels)
  }

  const n = mix.length
  const out = new Float32Array(o * n * k)
  for (let a = 0; a < o; a++) {
    for (let j = 0; j < n; j++) {
      const dst = (a * n + j) * k
      for (let s = 0; s < k; s++) {
        let acc = 0
        if (policy === 'timm') for (const [i, w] of mix[j]) acc = f(acc + f(w * src[(a * c + i) * k + s]))
        else {
          // PyTorch's CPU kernel evaluates w0·x0 + w1·x1 as a fused multiply-add: round(w0·x0 + round(w1·x1)).
          // (A float32 product is exact in a double, so this reproduces it bit for bit.)
          const [[i0, w0], [i1, w1]] = mix[j]
          acc = f(w0 * src[(a * c + i0) * k + s] + f(w1 * src[(a * c + i1) * k + s]))
        }
        out[dst + s] = scale === 1 ? acc : f(acc * scale)
      }
    }
  }
  return { dims: [o, n, ...kernel], data: out }
}

function unsupported(c: number, n: number): SegError {
  return new SegError('UNSUPPORTED', `channel policy 'timm' cannot adapt ${c} input channels to ${n} (timm handles C → 1 and 3 → N only); use --channel-policy interpolate (or interpolate-scaled) instead`)
}
