/**
 * The one error class of Switchyard. Every failure a user can cause carries a stable `code`,
 * a message that names the place (file:line:column, module path, parameter name) and a `hint`.
 * The CLI prints `message` and `hint` on one line each and exits with `exitCode` (2 for bad input).
 *
 * @example
 * throw new SwitchyardError('E_CSV_EMPTY', 'data/train.csv: the file has no rows', 'check the path or the export that wrote it');
 */
export class SwitchyardError extends Error {
  /** Stable machine-readable code, e.g. `E_SHAPE`, `E_CSV_PARSE`. */
  readonly code: string;
  /** What the user can do about it. */
  readonly hint: string;
  /** Process exit code the CLI uses: 2 bad input/usage, 1 failure, 3 a requested gate failed. */
  readonly exitCode: number;

  constructor(code: string, message: string, hint = '', exitCode = 2) {
    super(message);
    this.name = 'SwitchyardError';
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** Throws a bad-input {@link SwitchyardError} unless `cond` holds. */
export function check(cond: unknown, code: string, message: string | (() => string), hint = ''): asserts cond {
  if (!cond) throw new SwitchyardError(code, typeof message === 'function' ? message() : message, hint);
}
