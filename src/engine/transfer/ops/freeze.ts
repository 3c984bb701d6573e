/**
 * Freezing for training (seed 004: freeze the transferred shallow stages, train the rest).
 * Inference ignores it; the bundle records it (`architecture.frozen`) and the summary marks the
 * frozen parameters non-trainable. Stages and the parameter names they cover:
 *   stem   stem.* (deep) or conv1.* / bn1.* (plain)      layer1..layer4   layerN.*
 *   encoder = stem + layer1..layer4                     decoder  decoder_*.*, seg_head.*   head  head_fc.*
 */
import { SegError } from '../../errors'

export type Stage = 'stem' | 'layer1' | 'layer2' | 'layer3' | 'layer4' | 'decoder' | 'head'
export const STAGES: readonly Stage[] = ['stem', 'layer1', 'layer2', 'layer3', 'layer4', 'decoder', 'head']

/** Validate and expand a user's freeze list (order of STAGES, no duplicates). */
export function freezeStages(list: string[], target: 'resnet' | 'resunet' | 'shared'): Stage[] {
  const out = new Set<Stage>()
  for (const raw of list.map((s) => s.trim()).filter(Boolean)) {
    if (raw === 'encoder') for (const s of STAGES.slice(0, 5)) out.add(s)
    else if ((STAGES as readonly string[]).includes(raw)) out.add(raw as Stage)
    else throw new SegError('BAD_ARGUMENT', `cannot freeze '${raw}'; expected stages among ${STAGES.join(', ')} or 'encoder'`)
  }
  if (target === 'resnet' && out.has('decoder')) throw new SegError('BAD_ARGUMENT', "a ResNet has no decoder to freeze")
  if (target === 'resunet' && out.has('head')) throw new SegError('BAD_ARGUMENT', "a ResUNet has no classification head to freeze")
  return STAGES.filter((s) => out.has(s))
}

/** The stage a parameter name belongs to, or null. */
export function stageOf(name: string): Stage | null {
  if (/^(stem\.|conv1\.|bn1\.)/.test(name)) return 'stem'
  const m = /^layer([1-4])\./.exec(name)
  if (m) return `layer${m[1]}` as Stage
  if (/^(decoder_\d+\.|seg_head\.)/.test(name)) return 'decoder'
  if (name.startsWith('head_fc.')) return 'head'
  return null
}

/** Parameter-name prefixes of a stage (what the summary's `frozen` option takes). */
export function stagePrefixes(stage: Stage): string[] {
  switch (stage) {
    case 'stem': return ['stem', 'conv1', 'bn1']
    case 'decoder': return ['decoder_0', 'decoder_1', 'decoder_2', 'decoder_3', 'seg_head']
    case 'head': return ['head_fc']
    default: return [stage]
  }
}
