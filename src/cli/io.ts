/** Where a command writes: stdout for results, stderr for progress and errors (swappable in tests). */
export interface CommandIO {
  out: (line: string) => void
  err: (line: string) => void
}
