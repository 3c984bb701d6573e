/** Argument checks of the editing tools; they throw the project's one SegError (src/shared/errors.ts). */
import { SegError } from '../errors'

/** Throws BAD_ARGUMENT with `message` unless `ok`. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new SegError('BAD_ARGUMENT', message)
}

/** `x` is a finite number in [min, max]; `what` names it with its unit. */
export function checkRange(what: string, x: number, min: number, max: number): void {
  check(Number.isFinite(x) && x >= min && x <= max, `${what} must be a number from ${min} to ${max}, got ${x}`)
}
