/** Overlap metrics between label maps on the same grid (evaluation, regression tests). */

/**
 * Dice coefficient 2|A∩B| / (|A| + |B|) of the voxels selected by `inA` in `a` and `inB` in `b`.
 * Two empty selections give 1 (they agree perfectly).
 */
export function dice(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  inA: (v: number) => boolean,
  inB: (v: number) => boolean
): number {
  if (a.length !== b.length) throw new RangeError(`dice: label maps differ in size (${a.length} vs ${b.length} voxels)`)
  let na = 0
  let nb = 0
  let both = 0
  for (let i = 0; i < a.length; i++) {
    const x = inA(a[i])
    const y = inB(b[i])
    if (x) na++
    if (y) nb++
    if (x && y) both++
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb)
}
