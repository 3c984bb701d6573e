/**
 * Maps `fn` over `items` with at most `limit` promises in flight, keeping order: file work (hashing,
 * reading hundreds of DICOM slices) overlaps its waits on the disk and libuv's thread pool without
 * opening every file at once. Once a call fails no new one starts (the lanes would otherwise go on
 * reading the rest of a series after it was refused), and the first failure is what it rejects with.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (x: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  let failed = false
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++
      try {
        out[i] = await fn(items[i], i)
      } catch (e) {
        failed = true
        throw e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane))
  return out
}
