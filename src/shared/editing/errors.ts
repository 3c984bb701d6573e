/**
 * The editing tools run in the renderer and in the engine, so they cannot import the engine's
 * SegError (src/engine/errors.ts). EditError has its shape (name 'SegError', a `code`, one line), so
 * the UI and the CLI treat it alike; engine callers may rethrow it as a SegError with the same code.
 */
export type EditErrorCode = 'BAD_ARGUMENT' | 'GRID_MISMATCH'

export class EditError extends Error {
  readonly code: EditErrorCode
  constructor(code: EditErrorCode, message: string) {
    super(message.replace(/\s*\n\s*/g, ' '))
    this.name = 'SegError'
    this.code = code
  }
}

/** Throws BAD_ARGUMENT with `message` unless `ok`. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new EditError('BAD_ARGUMENT', message)
}

/** `x` is a finite number in [min, max]; `what` names it with its unit. */
export function checkRange(what: string, x: number, min: number, max: number): void {
  check(Number.isFinite(x) && x >= min && x <= max, `${what} must be a number from ${min} to ${max}, got ${x}`)
}
