/**
 * Ranges of numeric options, declared once and checked the same way by the CLI (a flag's `FlagSpec`
 * spreads the range) and by the library function that takes the option (so a library caller gets the same
 * one-line `E_USAGE` error as a CLI user).
 */
import { SwitchyardError } from './errors.ts';

/** The values a numeric option accepts; every bound is optional. */
export interface NumberRange {
  /** The smallest value accepted (inclusive). */
  min?: number;
  /** Values must be greater than this (exclusive lower bound, e.g. `0` for "positive"). */
  above?: number;
  /** The largest value accepted (inclusive). */
  max?: number;
  /** Values must be less than this (exclusive upper bound, e.g. `1` for a dropout probability). */
  below?: number;
  /** The value must be a whole number. */
  integer?: boolean;
}

/**
 * Whether `v` is a finite number inside `r`.
 *
 * @param r the declared range
 * @param v the value to test
 * @example
 * inRange({ min: 1, integer: true }, 1.5); // false
 */
export function inRange(r: NumberRange, v: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.min !== undefined && v < r.min) return false;
  if (r.above !== undefined && v <= r.above) return false;
  if (r.max !== undefined && v > r.max) return false;
  return r.below === undefined || v < r.below;
}

/**
 * The range in words, e.g. `a whole number >= 1` or `a number >= 0 and < 1`.
 *
 * @param r the declared range
 * @example
 * rangeText({ min: 0, below: 1 }); // 'a number >= 0 and < 1'
 */
export function rangeText(r: NumberRange): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.above !== undefined) parts.push(`> ${r.above}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  if (r.below !== undefined) parts.push(`< ${r.below}`);
  return `${r.integer ? 'a whole number' : 'a number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
}

/** Whether the range declares any bound (so help text mentions it). */
export function hasRange(r: NumberRange): boolean {
  return r.integer === true || [r.min, r.above, r.max, r.below].some((b) => b !== undefined);
}

/**
 * Throws `E_USAGE` (`--dropout expects a number >= 0 and < 1, got '2'`) unless `value` is undefined or in
 * `range`. Library functions call it with the flag's name so their callers get the CLI's message.
 *
 * @param flag the option as the CLI spells it, e.g. `--dropout`
 * @param value the value given (undefined: not given, nothing to check; not a number: an error)
 * @param range the declared range
 * @param where what the message says it is for, e.g. `'switchyard train'`
 * @example
 * checkRange('--epochs', 1.5, { min: 1, integer: true }); // throws: --epochs expects a whole number >= 1, got '1.5'
 */
export function checkRange(flag: string, value: unknown, range: NumberRange, where?: string): void {
  if (value === undefined || (typeof value === 'number' && inRange(range, value))) return;
  const what = typeof value === 'number' && Number.isFinite(value) ? rangeText(range) : 'a number';
  throw new SwitchyardError('E_USAGE', `option ${flag} expects ${what}, got '${value}'${where ? ` for '${where}'` : ''}`,
    `${where ? `run ${where} --help` : `pass ${rangeText(range)}`}`);
}

/**
 * Checks every option of `options` that `ranges` declares (keyed by option name, each with its CLI flag); an
 * array option is checked entry by entry.
 *
 * @param options the options object a library function received
 * @param ranges per option: the CLI flag that sets it and its range
 * @example
 * checkRanges({ dropout: 2 }, { dropout: { flag: '--dropout', min: 0, below: 1 } }); // throws E_USAGE
 */
export function checkRanges(options: object, ranges: Record<string, NumberRange & { flag: string }>): void {
  for (const [key, r] of Object.entries(ranges)) {
    const value = (options as Record<string, unknown>)[key];
    // A list option (e.g. `snapshots`) has its range checked entry by entry.
    for (const v of Array.isArray(value) ? value : [value]) checkRange(r.flag, v, r);
  }
}

/**
 * Ranges shared by many verbs: `--seed` (a whole number from 0 to 2^32 - 1) and `--threads` (ONNX Runtime
 * intra-op threads, 1 to 1024).
 *
 * @example
 * const spec = { seed: { type: 'number', default: 0, ...COMMON_RANGES.seed, help: 'random seed' } };
 */
export const COMMON_RANGES = {
  seed: { flag: '--seed', min: 0, max: 4294967295, integer: true },
  threads: { flag: '--threads', min: 1, max: 1024, integer: true },
} as const satisfies Record<string, NumberRange & { flag: string }>;

/** Default of `--max-params`: the most trainable parameters a training run allocates (100 million). */
export const DEFAULT_MAX_PARAMS = 100_000_000;

/**
 * Throws `E_PARAM_BUDGET` when a model of `count` parameters exceeds `maxParams`, before anything is allocated
 * (a model that does not fit would otherwise grow memory until the machine swaps, printing nothing).
 *
 * @param count the model's parameter count (exact, or an estimate from its config)
 * @param maxParams the budget (`--max-params`)
 * @param what the model as the user described it, e.g. `an MLP of sizes 7,100000000,3`
 * @example
 * checkParamBudget(7e8, DEFAULT_MAX_PARAMS, 'an MLP of sizes 7,100000000,3'); // throws E_PARAM_BUDGET
 */
export function checkParamBudget(count: number, maxParams: number, what: string): void {
  if (count <= maxParams) return;
  const gb = ((count * 16) / 1e9).toFixed(1);
  throw new SwitchyardError('E_PARAM_BUDGET', `${what} has ${count.toLocaleString('en-US')} parameters, above --max-params ${maxParams.toLocaleString('en-US')} (training would need about ${gb} GB for weights, gradients and AdamW state)`,
    'use smaller layers, or raise --max-params if the machine has the memory');
}
