/**
 * GDCM and dcmqi (inside @itk-wasm/dicom) print progress ("SOPInstanceUID … mapped", "Saved
 * segmentation as …") straight to the process's stdout/stderr through handles Emscripten binds at
 * load time, so console.* cannot be swapped: the CLI's stdout would fill with it and file paths
 * would reach logs. While `run` is pending, writes to both streams are held back; what was printed
 * is returned for error messages. Only one such call may be pending at a time (calls are queued).
 */
let queue: Promise<unknown> = Promise.resolve()

export async function withQuietOutput<T>(run: () => Promise<T>): Promise<{ value: T; printed: string }> {
  const turn = queue.then(async () => {
    const printed: string[] = []
    const out = process.stdout.write
    const err = process.stderr.write
    const hold = ((chunk: unknown) => (printed.push(String(chunk)), true)) as typeof process.stdout.write
    process.stdout.write = hold
    process.stderr.write = hold
    try {
      return { value: await run(), printed: printed.join('') }
    } finally {
      process.stdout.write = out
      process.stderr.write = err
    }
  })
  queue = turn.catch(() => undefined)
  return turn
}
