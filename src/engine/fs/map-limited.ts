/**
 * Maps `fn` over `items` with at most `limit` promises in flight, keeping order: file work (hashing,
 * reading hundreds of DICOM slices) overlaps its waits on the disk and libuv's thread pool without
 * opening every file at once.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (x: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane))
  return out
}
