/**
 * Every failure the engine (and the editing tools, which also run in the renderer) can foresee is a
 * SegError; it lives in src/shared so both sides throw the same type: a stable `code` the UI can switch on and a
 * one-line `message` that says what was wrong and what was expected. Anything else is a bug.
 */
export type SegErrorCode =
  | 'FILE_NOT_FOUND'
  | 'NOT_AN_IMAGE'
  | 'CORRUPT_FILE'
  | 'BAD_DIMENSION'
  | 'NON_FINITE_VOXELS'
  | 'GRID_MISMATCH'
  | 'TOO_LARGE'
  | 'BAD_MANIFEST'
  | 'MODEL_MISMATCH'
  | 'BAD_ARGUMENT'
  | 'PROVIDER_UNAVAILABLE'
  | 'CANCELLED'
  | 'OUTPUT_CONFLICT'
  /** An existing file would be replaced: the app asks the user, then retries with overwrite (CLI: --overwrite). */
  | 'OUTPUT_EXISTS'
  /** The scan grossly mismatches what the model accepts (manifest `accepts`): the app asks, the CLI needs --force. */
  | 'MODEL_UNFIT'
  | 'BAD_CHECKPOINT'
  | 'UNSAFE_CHECKPOINT'
  | 'UNSUPPORTED'

export class SegError extends Error {
  readonly code: SegErrorCode
  constructor(code: SegErrorCode, message: string) {
    // One line, always: the CLI prints it as is and the UI shows it in a banner.
    super(message.replace(/\s*\n\s*/g, ' '))
    this.name = 'SegError'
    this.code = code
  }
}

export function isSegError(e: unknown): e is SegError {
  return e instanceof SegError
}

/** A failure as envelopes and worker messages carry it: a SegError's code and message; anything else (a bug) INTERNAL with its text. */
export function errorOf(e: unknown): { code: SegErrorCode | 'INTERNAL'; message: string } {
  return isSegError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String((e as Error)?.message ?? e) }
}
