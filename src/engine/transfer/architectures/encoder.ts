/**
 * The seed-000 3D ResNet encoder (ptimz/mmcv style), emitted through `Net`:
 *   stem      deep: stem.{0,1,2} = ConvModule 3x3x3 (stride 2, 1, 1), widths stem/2, stem/2, stem
 *             plain: conv1 7x7x7 stride 2 pad 3 → bn1 → ReLU
 *   maxpool   3x3x3 stride 2 pad 1
 *   layer1..4 BasicBlock (conv1 3x3 [stride], bn1, conv2 3x3, bn2) or Bottleneck (conv1 1x1, bn1,
 *             conv2 3x3 [stride, mmcv 'pytorch' style], bn2, conv3 1x1, bn3; expansion 4);
 *             downsample.0 (1x1 conv, stride) + downsample.1 (BN) on the first block when the
 *             stride or width changes; stage strides 1, 2, 2, 2; all convs bias-free.
 */
import type { ResolvedEncoder } from './config'
import type { Net } from './net'

function block(net: Net, enc: ResolvedEncoder, m: string, x: string, cin: number, planes: number, stride: number): string {
  const bottleneck = enc.block === 'bottleneck'
  const cout = planes * (bottleneck ? 4 : 1)
  let y: string
  if (bottleneck) {
    y = net.relu(m, net.bn(`${m}.bn1`, net.conv(`${m}.conv1`, x, cin, planes, 1), planes))
    y = net.relu(m, net.bn(`${m}.bn2`, net.conv(`${m}.conv2`, y, planes, planes, 3, stride), planes))
    y = net.bn(`${m}.bn3`, net.conv(`${m}.conv3`, y, planes, cout, 1), cout)
  } else {
    y = net.relu(m, net.bn(`${m}.bn1`, net.conv(`${m}.conv1`, x, cin, planes, 3, stride), planes))
    y = net.bn(`${m}.bn2`, net.conv(`${m}.conv2`, y, planes, cout, 3), cout)
  }
  let identity = x
  if (stride !== 1 || cin !== cout) {
    identity = net.bn(`${m}.downsample.1`, net.conv(`${m}.downsample.0`, x, cin, cout, 1, stride), cout)
  }
  return net.relu(m, net.op(m, 'Add', [y, identity]))
}

/** The stem; output at half the input resolution with enc.stemChannels channels. */
export function emitStem(net: Net, enc: ResolvedEncoder, x: string): string {
  if (!enc.deepStem) {
    return net.relu('relu', net.bn('bn1', net.conv('conv1', x, enc.inChannels, enc.stemChannels, 7, 2), enc.stemChannels))
  }
  const half = enc.stemChannels / 2
  let y = net.convModule('stem.0', x, enc.inChannels, half, 3, 2)
  y = net.convModule('stem.1', y, half, half, 3)
  return net.convModule('stem.2', y, half, enc.stemChannels, 3)
}

/** Residual stage k (1..4). */
export function emitLayer(net: Net, enc: ResolvedEncoder, k: number, x: string): string {
  const planes = enc.baseWidth * 2 ** (k - 1)
  let cin = enc.widths[k - 1]
  for (let j = 0; j < enc.blocks[k - 1]; j++) {
    x = block(net, enc, `layer${k}.${j}`, x, cin, planes, j === 0 && k > 1 ? 2 : 1)
    cin = enc.widths[k]
  }
  return x
}

/**
 * Stem, max-pool, layer1..4. Returns the outputs of encoders 0..4 as the seed's ResUNet sees them:
 * [stem, maxpool+layer1, layer2, layer3, layer4].
 */
export function emitEncoder(net: Net, enc: ResolvedEncoder, input: string): string[] {
  const stem = emitStem(net, enc, input)
  let x = net.op('maxpool', 'MaxPool', [stem], { kernel_shape: [3, 3, 3], strides: [2, 2, 2], pads: [1, 1, 1, 1, 1, 1] })
  const outs = [stem]
  for (let k = 1; k <= 4; k++) outs.push((x = emitLayer(net, enc, k, x)))
  return outs
}

/** What the class head may read besides the encoder: the 'tissue-means' cue's inputs. */
export interface TissueCue {
  segLogits: string
  input: string
  segClasses: number
}

/**
 * The 'tissue-means' cue [N, segClasses] (reference.py `tissue_means`): with p = softmax(seg_logits)
 * and w = p⁴, mean(w · x̄) / (mean(w) + 1e-12) over space, x̄ the input averaged over its channels.
 * ReduceMean (axes as an attribute in opset 17) rather than ReduceSum, whose axes are an input.
 * The softmax over channels is spelled out (exp(l − max) / (K · mean)): onnxruntime's Softmax on a
 * middle axis transposes the whole [N, K, D, H, W] tensor twice, 390 ms of a 460 ms forward at 128³.
 */
export function emitTissueMeans(net: Net, enc: ResolvedEncoder, cue: TissueCue): string {
  const m = 'head.cue'
  const max = net.op(m, 'ReduceMax', [cue.segLogits], { axes: [1], keepdims: 1 })
  const e = net.op(m, 'Exp', [net.op(m, 'Sub', [cue.segLogits, max])])
  const total = net.op(m, 'Mul', [net.op(m, 'ReduceMean', [e], { axes: [1], keepdims: 1 }), net.constant(m, cue.segClasses)])
  const p = net.op(m, 'Div', [e, total])
  const p2 = net.op(m, 'Mul', [p, p])
  const w = net.op(m, 'Mul', [p2, p2])
  const x = enc.inChannels === 1 ? cue.input : net.op(m, 'ReduceMean', [cue.input], { axes: [1], keepdims: 1 })
  const num = net.op(m, 'ReduceMean', [net.op(m, 'Mul', [w, x])], { axes: [2, 3, 4], keepdims: 0 })
  const den = net.op(m, 'Add', [net.op(m, 'ReduceMean', [w], { axes: [2, 3, 4], keepdims: 0 }), net.constant(m, 1e-12)])
  return net.op(m, 'Div', [num, den])
}

/** Global average pool + flatten (+ the tissue cue, concatenated after) + head_fc → [N, numClasses]. */
export function emitClassHead(net: Net, enc: ResolvedEncoder, features: string, numClasses: number, cue?: TissueCue): string {
  const pooled = net.op('head', 'GlobalAveragePool', [features])
  let flat = net.op('head', 'Flatten', [pooled], { axis: 1 })
  let width = enc.widths[4]
  if (cue) {
    flat = net.op('head', 'Concat', [flat, emitTissueMeans(net, enc, cue)], { axis: 1 })
    width += cue.segClasses
  }
  return net.linear('head_fc', flat, width, numClasses)
}

/**
 * UNet decoder (our design; PyTorch twin in reference.py): for level i = 3, 2, 1, 0, resize x
 * trilinearly (align_corners=False) to skip_i's size, concatenate [x, skip_i] on channels,
 * `decoder_i.0` and `decoder_i.1` = ConvModule 3x3x3 → dec[i]; then `seg_head` (1x1x1 conv with bias)
 * at half resolution and a trilinear resize to the input size (a 1x1x1 conv commutes with linear
 * interpolation, so this equals upsampling first, for 1/8 of the cost).
 */
export function emitDecoder(net: Net, enc: ResolvedEncoder, dec: number[], skips: string[], input: string, numClasses: number): string {
  let x = skips[4]
  let cx = enc.widths[4]
  for (const i of [3, 2, 1, 0]) {
    const m = `decoder_${i}`
    const up = net.resizeLike(m, x, skips[i])
    const cat = net.op(m, 'Concat', [up, skips[i]], { axis: 1 })
    x = net.convModule(`${m}.0`, cat, cx + enc.widths[i], dec[i], 3)
    x = net.convModule(`${m}.1`, x, dec[i], dec[i], 3)
    cx = dec[i]
  }
  const logits = net.conv('seg_head', x, cx, numClasses, 1, 1, true)
  return net.resizeLike('seg_head', logits, input)
}
