/**
 * The manifest of a bundle made by `transfer`. Facts the checkpoint cannot tell (modalities,
 * normalisation, label names) get neutral defaults the user edits later:
 * channels 'channel N' (modality 'other', z-score), native geometry, whole-volume inference padded
 * to a multiple of 32 (the encoder halves the grid 5 times), labels 'class 0'..'class K-1'.
 *
 * Classification-only bundles (`--to resnet`): the model's only output is 'class_logits' [N, K];
 * `model.output` and `classification.output` both name it, `classification.classes` lists the K
 * class names and `output.labels` describes the same K classes (value = class index), so a reader
 * that does not know `classification` still sees K labelled outputs. Segmenting with such a bundle
 * is not possible (no voxel-wise output): such bundles say `task: 'classification'` and segment() refuses them.
 */
import { defaultColor } from '../../bundle/import-model'
import type { ManifestInput } from '../../bundle/manifest'
import type { TransferResult } from './transfer'

export const TRANSFER_DIVISIBLE_BY = 32

const labels = (k: number): ManifestInput['output']['labels'] =>
  Array.from({ length: k }, (_, v) => ({ value: v, name: `class ${v}`, color: defaultColor(v) }))

/** Full manifest for a transfer result; `previous` provenance (from a source bundle) comes first. */
export function transferManifest(result: TransferResult, name: string, description = '', previous: ManifestInput['provenance'] = []): ManifestInput {
  const cfg = result.config
  const kind = cfg.kind ?? 'resnet'
  const seg = cfg.kind === 'shared' ? cfg.segClasses : cfg.kind === 'resunet' ? cfg.numClasses : null
  const cls = kind === 'resunet' ? null : cfg.numClasses
  return {
    format: 'segtransfer-bundle',
    version: 1,
    name,
    description: description || `ResNet-${cfg.depth} ${kind} transferred from ${result.report.source.path}`,
    task: seg !== null ? 'segmentation' : 'classification',
    model: { file: 'model.onnx', input: 'input', output: seg !== null ? 'seg_logits' : 'class_logits', axisOrder: 'zyx' },
    channels: Array.from({ length: cfg.inChannels }, (_, i) => ({ name: `channel ${i}`, modality: 'other', normalization: { kind: 'zscore' } })),
    geometry: { mode: 'native' },
    inference: { mode: 'whole', divisibleBy: TRANSFER_DIVISIBLE_BY },
    output: { kind: 'softmax', labels: labels(seg ?? cls!) },
    ...(cls !== null ? { classification: { output: 'class_logits', classes: Array.from({ length: cls }, (_, i) => `class ${i}`) } } : {}),
    architecture: result.manifestPatch.architecture,
    provenance: [...(previous ?? []), ...result.manifestPatch.provenance]
  }
}
