/** Assertions about SwitchyardErrors shared by the test files. */
import { expect } from 'vitest';
import { SwitchyardError } from '../src/util/errors.ts';

/** Runs `f` and returns the SwitchyardError it throws (any other error is rethrown; no error fails). */
export function caught(f: () => unknown): SwitchyardError {
  try {
    f();
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError');
}

/**
 * Expects `fn` to throw a SwitchyardError with `code` (and a message matching `re`, a hint matching `hint`);
 * returns it.
 */
export function expectCode(fn: () => unknown, code: string, re?: RegExp, hint?: RegExp): SwitchyardError {
  const err = caught(fn);
  expect(err.code).toBe(code);
  if (re) expect(err.message).toMatch(re);
  if (hint) expect(err.hint).toMatch(hint);
  return err;
}
