/**
 * A terminal progress bar on stderr. On a TTY it redraws one line; otherwise (CI logs, pipes) it
 * prints a line at each 10 % step so logs stay short.
 */
export interface ProgressBar {
  update(fraction: number, label: string): void
  done(label?: string): void
}

export function createProgressBar(stream: NodeJS.WriteStream = process.stderr, width = 30): ProgressBar {
  const start = Date.now()
  let lastStep = -1
  const elapsed = () => `${((Date.now() - start) / 1000).toFixed(1)} s`
  return {
    update(fraction, label) {
      const f = Math.min(1, Math.max(0, fraction))
      if (stream.isTTY) {
        const filled = Math.round(f * width)
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${elapsed()} ${label}`.padEnd(90))
      } else {
        const step = Math.floor(f * 10)
        if (step !== lastStep) {
          lastStep = step
          stream.write(`${(f * 100).toFixed(0).padStart(3)}% ${elapsed()} ${label}\n`)
        }
      }
    },
    done(label = 'done') {
      if (stream.isTTY) stream.write(`\r${''.padEnd(90)}\r`)
      stream.write(`${label} in ${elapsed()}\n`)
    }
  }
}
