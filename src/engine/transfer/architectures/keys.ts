/**
 * Name mapping between the seed's ResUNet state_dict (`encoder_k.*`) and the ResNet names the
 * ONNX graphs use for the encoder (`stem.*` or `conv1`/`bn1`, `layer1.*` … `layer4.*`):
 *   deep stem   encoder_0.<i>.<conv|bn>.* ↔ stem.<i>.<conv|bn>.*
 *   plain stem  encoder_0.0.weight ↔ conv1.weight,  encoder_0.1.* ↔ bn1.*
 *   layer1      encoder_1.1.* ↔ layer1.*   (encoder_1.0 is the parameter-free max-pool)
 *   layer2..4   encoder_k.* ↔ layer<k>.*
 * Decoder (`decoder_i.*`, `seg_head.*`) and head (`head_fc.*`) names are the same in both.
 */
import type { StateDict } from '../../tensor'

/** seed ResUNet name → ResNet name (names that are not encoder names pass through). */
export function mapResUNetKeyToResNet(name: string): string {
  let m = /^encoder_0\.(\d+)\.((?:conv|bn)\..+)$/.exec(name)
  if (m) return `stem.${m[1]}.${m[2]}`
  if (name === 'encoder_0.0.weight') return 'conv1.weight'
  if ((m = /^encoder_0\.1\.(.+)$/.exec(name))) return `bn1.${m[1]}`
  if ((m = /^encoder_1\.1\.(.+)$/.exec(name))) return `layer1.${m[1]}`
  if ((m = /^encoder_([234])\.(.+)$/.exec(name))) return `layer${m[1]}.${m[2]}`
  return name
}

/** ResNet name → seed ResUNet name (inverse of mapResUNetKeyToResNet). */
export function mapResNetKeyToResUNet(name: string): string {
  let m = /^stem\.(.+)$/.exec(name)
  if (m) return `encoder_0.${m[1]}`
  if (name === 'conv1.weight') return 'encoder_0.0.weight'
  if ((m = /^bn1\.(.+)$/.exec(name))) return `encoder_0.1.${m[1]}`
  if ((m = /^layer1\.(.+)$/.exec(name))) return `encoder_1.1.${m[1]}`
  if ((m = /^layer([234])\.(.+)$/.exec(name))) return `encoder_${m[1]}.${m[2]}`
  return name
}

function renameAll<T>(map: Map<string, T>, f: (k: string) => string): Map<string, T> {
  const out = new Map<string, T>()
  for (const [k, v] of map) out.set(f(k), v)
  return out
}

/** Renames every key of a seed-ResUNet state_dict to ResNet names (order kept). */
export function mapResUNetKeysToResNet<T>(sd: Map<string, T>): Map<string, T> {
  return renameAll(sd, mapResUNetKeyToResNet)
}

/** Renames every ResNet-named key to the seed ResUNet's `encoder_k.*` names (order kept). */
export function mapResNetKeysToResUNet<T>(sd: Map<string, T>): Map<string, T> {
  return renameAll(sd, mapResNetKeyToResUNet)
}

/** True when the state_dict uses the seed ResUNet's `encoder_k.*` names. */
export function hasResUNetKeys(sd: StateDict | Map<string, unknown>): boolean {
  for (const k of sd.keys()) if (k.startsWith('encoder_')) return true
  return false
}

/** PyTorch's split: BN running statistics and counters are buffers, everything else a parameter. */
export function stateDictRole(name: string): 'parameter' | 'buffer' {
  return /\.(running_mean|running_var|num_batches_tracked)$/.test(name) ? 'buffer' : 'parameter'
}
