import { SegError } from '../engine/errors'

/** The one line shown in usage texts. */
export const VOLUME_FLAG_HELP = '--volume N picks volume N (0-based) of a 4D file (DWI, multi-echo, fMRI); such files are refused without it.'

/**
 * `--volume N` as a number (0-based), or undefined when absent. Its upper bound is the file's own
 * volume count, checked by the reader (engine/volume/volume-choice.ts).
 * @throws SegError BAD_ARGUMENT for anything but a non-negative integer of at most 9 digits.
 */
export function parseVolumeFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,9}$/.test(value)) throw new SegError('BAD_ARGUMENT', `--volume ${value} is not a volume number; expected an integer from 0 (the first volume)`)
  return Number(value)
}

/**
 * `argv` with `--volume <value>` joined into `--volume=<value>` when the value starts with a dash
 * (`-0`, `-1`): Node's parseArgs would refuse it as "argument is ambiguous"; joined, it reaches
 * `parseVolumeFlag`, which explains what a volume number is.
 */
export function joinVolumeValue(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1]
    if (argv[i] === '--volume' && next !== undefined && /^-\d/.test(next)) {
      out.push(`--volume=${next}`)
      i++
    } else out.push(argv[i])
  }
  return out
}
