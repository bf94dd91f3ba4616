/**
 * CLI output plumbing: the top-level error boundary ({@link runCli}) and machine-readable output
 * ({@link emitJson}). Bad user input never shows a stack trace: a `SwitchyardError` prints
 * `error: …` and `hint: …` on stderr (and a JSON error object on stdout under `--json`) and exits with
 * its `exitCode`; anything else is a bug and prints its stack, exiting 1.
 */
import { SwitchyardError } from '../util/errors.ts';
import { stringifyJson } from '../util/fs.ts';

/** Minimal writable used for output; `process.stdout` / `process.stderr` satisfy it. */
export interface OutStream {
  write(chunk: string): unknown;
}

/** Injection points for {@link runCli}, used by tests; each defaults to the real process. */
export interface RunCliOptions {
  /** Arguments to look for `--json` in. Default `process.argv.slice(2)`. */
  argv?: readonly string[];
  stdout?: OutStream;
  stderr?: OutStream;
  /** Called with the exit code. Default sets `process.exitCode` (so pending output is flushed). */
  exit?: (code: number) => void;
}

/** Error object printed under `--json`: `{"ok":false,"error":{"code","message","hint"}}`. */
export interface JsonError {
  ok: false;
  error: { code: string; message: string; hint: string };
}

/**
 * Prints one JSON value as a single line on stdout (or `stream`). `bigint` values are accepted.
 *
 * @example
 * emitJson({ ok: true, run: 'runs/exp1', accuracy: 0.97 });
 * // {"ok":true,"run":"runs/exp1","accuracy":0.97}
 */
export function emitJson(obj: unknown, stream: OutStream = process.stdout): void {
  stream.write(stringifyJson(obj) + '\n');
}

function wantsJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--json' || a === '--json=true' || a === '--json=1') return true;
  }
  return false;
}

/**
 * Runs the CLI's `main`, turning its result into the process exit code and its errors into
 * user-facing messages. Returns the exit code it used.
 *
 * @example
 * // bin entry point
 * await runCli(async () => {
 *   const args = parseArgs(process.argv.slice(3), spec, 'train');
 *   await train(args);
 *   return 0;
 * });
 */
export async function runCli(main: () => Promise<number>, opts: RunCliOptions = {}): Promise<number> {
  const argv = opts.argv ?? process.argv.slice(2);
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const exit =
    opts.exit ??
    ((code: number) => {
      process.exitCode = code;
    });
  const json = wantsJson(argv);
  let code: number;
  try {
    const rc = await main();
    code = Number.isInteger(rc) ? rc : 0;
  } catch (err) {
    if (err instanceof SwitchyardError) {
      stderr.write(`error: ${err.message}\n`);
      if (err.hint) stderr.write(`hint: ${err.hint}\n`);
      if (json) {
        const out: JsonError = { ok: false, error: { code: err.code, message: err.message, hint: err.hint } };
        emitJson(out, stdout);
      }
      code = err.exitCode;
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      stderr.write(`${e.stack ?? `${e.name}: ${e.message}`}\n`);
      if (json) {
        const out: JsonError = { ok: false, error: { code: 'E_INTERNAL', message: e.message, hint: 'this is a bug in switchyard; please report it with the stack trace' } };
        emitJson(out, stdout);
      }
      code = 1;
    }
  }
  exit(code);
  return code;
}
