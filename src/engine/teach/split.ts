/**
 * Which known voxels train the head and which validate it. The split is by slice: whole labelled
 * slices are held out, never random voxels of a slice the head also trains on (neighbouring voxels
 * of one slice are nearly copies of each other, so such a score would flatter the model).
 */
import { mulberry32 } from '../transfer/architectures/net'
import { sliceOf } from './labelled-slices'
import { UNKNOWN, type TeachScan } from './teach-set'

export interface VoxelRef {
  scan: number
  /** Offset in the scan's model-space volume (i fastest). */
  offset: number
}

export interface Split {
  /** Training voxels, at most `perClass` of each class (class-balanced sample). */
  train: VoxelRef[]
  /** Validation voxels (a uniform sample of the held-out slices, at most `maxValidation`). */
  validation: VoxelRef[]
  /** Held-out slices per scan (indices along the scan's split axis). */
  heldOut: number[][]
}

export interface SplitOptions {
  /** Fraction of each scan's labelled slices held out for validation, in [0, 0.5]. */
  validationFraction: number
  /** Training voxels sampled per class (all when fewer). */
  perClass: number
  /** Validation voxels sampled over all classes (all when fewer). */
  maxValidation: number
  seed: number
}

/** 50 000 validation voxels: enough for the early stopping, a third of the forward passes of 150 000 per epoch. */
export const DEFAULT_SPLIT: Omit<SplitOptions, 'seed'> = { validationFraction: 0.2, perClass: 30000, maxValidation: 50000 }

/** Fisher–Yates shuffle in place with a seeded generator. */
export function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
  return xs
}

/** The labelled slices of a scan (those holding at least one known voxel), ascending. */
export function labelledSlicesOf(scan: TeachScan): number[] {
  const seen = new Uint8Array(scan.image.size[scan.splitAxis])
  for (let o = 0; o < scan.classes.length; o++) if (scan.classes[o] !== UNKNOWN) seen[sliceOf(o, scan.image.size, scan.splitAxis)] = 1
  return [...seen.keys()].filter((s) => seen[s])
}

/** Keeps at most `n` of `xs`, chosen uniformly (seeded), in their original order. */
function sampleAtMost(xs: VoxelRef[], n: number, rand: () => number): VoxelRef[] {
  if (xs.length <= n) return xs
  return shuffle(xs, rand).slice(0, n).sort((a, b) => a.scan - b.scan || a.offset - b.offset)
}

/**
 * Splits each scan's labelled slices into training and validation ones (held out: round(fraction ×
 * slices), none when a scan has fewer than 3 labelled slices), then samples voxels. Deterministic in `seed`.
 */
export function splitBySlice(scans: TeachScan[], K: number, opts: SplitOptions): Split {
  const rand = mulberry32(opts.seed >>> 0)
  const byClass: VoxelRef[][] = Array.from({ length: K }, () => [])
  const validation: VoxelRef[] = []
  const heldOut = scans.map((scan, s) => {
    const slices = labelledSlicesOf(scan)
    const nVal = slices.length < 3 ? 0 : Math.max(1, Math.round(opts.validationFraction * slices.length))
    const held = shuffle([...slices], rand).slice(0, nVal).sort((a, b) => a - b)
    const isHeld = new Uint8Array(scan.image.size[scan.splitAxis])
    for (const h of held) isHeld[h] = 1
    for (let o = 0; o < scan.classes.length; o++) {
      const c = scan.classes[o]
      if (c === UNKNOWN) continue
      if (isHeld[sliceOf(o, scan.image.size, scan.splitAxis)]) validation.push({ scan: s, offset: o })
      else byClass[c].push({ scan: s, offset: o })
    }
    return held
  })
  const train = byClass.flatMap((refs) => sampleAtMost(refs, opts.perClass, rand))
  return { train, validation: sampleAtMost(validation, opts.maxValidation, rand), heldOut }
}
