/** The engine's errors: SegError is defined once in src/shared (the editing tools throw it too). */
export { SegError, errorOf, isSegError, type SegErrorCode } from '../shared/errors'
