/**
 * A tiny typed argument parser for `switchyard <verb> [--flag value] [--flag=value] [--bool] [positional…]`.
 * The verb is taken off `argv` by the caller; this parses the rest against a spec and returns typed values.
 * Bad input throws `SwitchyardError('E_USAGE', …)` with a hint pointing at `--help`.
 */
import { didYouMean } from '../data/values.ts';
import { DEVICE_CHOICES } from '../runtime/compile-for.ts';
import { SwitchyardError } from '../util/errors.ts';
import { COMMON_RANGES, hasRange, inRange, rangeText, type NumberRange } from '../util/ranges.ts';

/** Kinds of flag values: `list` accepts repeats (`--x a --x b`) and commas (`--x a,b`). */
export type ArgType = 'string' | 'number' | 'boolean' | 'list';

/**
 * How one flag is parsed and documented. Numbers declare their range here (`min`, `above`, `max`, `below`,
 * `integer` from {@link NumberRange}); a library option's range is spread in, e.g. `{ ...TRAIN_RANGES.dropout }`.
 * A list with a range is a list of numbers, each entry checked against it (`--snapshots 250,500`).
 */
export interface FlagSpec extends NumberRange {
  type: ArgType;
  /** Fail with E_USAGE when the flag is absent (and has no default). */
  required?: boolean;
  /** Value used when the flag is absent. Booleans default to false and lists to [] anyway. */
  default?: unknown;
  /** One line shown by {@link formatHelp}. */
  help: string;
  /** Another name: one letter for `-e`, or a word for `--epochs`. Leading dashes are ignored. */
  alias?: string;
  /** Flags that cannot be given together with this one (E_USAGE naming both), e.g. `--force` with `--resume`. */
  conflicts?: readonly string[];
  /** An old name still accepted: using it prints a one-line notice on stderr naming the flag to use instead. */
  deprecatedAlias?: string;
  /** What the value is, shown in help as `--out <dir>` (default: the type, `--out <string>`), e.g. `dir` or `file`. */
  valueName?: string;
  /** The values a string flag accepts (E_USAGE with the closest one suggested otherwise); typed as their union. */
  choices?: readonly string[];
}

/** A map of flag name (as typed, without dashes, e.g. `out-dir`) to its {@link FlagSpec}. */
export type ArgSpec = Record<string, FlagSpec>;

type ValueOf<T extends ArgType, C = string> = T extends 'string'
  ? C
  : T extends 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : string[];

type Always<F extends FlagSpec> = F extends { required: true }
  ? true
  : F extends { type: 'boolean' | 'list' }
    ? true
    : F extends { default: infer D }
      ? undefined extends D
        ? false
        : true
      : false;

/** The value of one flag: its type's, narrowed to the union of its `choices` when it has them. */
type FlagValue<F extends FlagSpec> = ValueOf<F['type'], F extends { choices: readonly (infer C)[] } ? C : string>;

/**
 * Parsed values: one key per flag (typed by its spec; possibly `undefined` when neither required nor
 * defaulted), plus `_` (positional arguments, and everything after `--`) and `help` (`--help`/`-h` seen).
 */
export type ParsedArgs<S extends ArgSpec> = {
  -readonly [K in keyof S]: Always<S[K]> extends true ? FlagValue<S[K]> : FlagValue<S[K]> | undefined;
} & { _: string[]; help: boolean };

/**
 * Flags every verb takes: `--json` (one JSON object on stdout) and `--quiet` (no progress on stderr).
 *
 * @example
 * const spec = { ...COMMON_FLAGS, epochs: { type: 'number', default: 3, help: 'passes over the data' } } as const;
 */
export const COMMON_FLAGS = {
  json: { type: 'boolean', help: 'print one machine-readable JSON object on stdout' },
  quiet: { type: 'boolean', alias: 'q', help: 'no progress output on stderr' },
} as const satisfies ArgSpec;

/**
 * `--threads`, the same range and meaning on every verb that computes: ONNX Runtime intra-op threads, passed to the
 * session options of every session the verb opens (a verb that needs another default, like `serve`, overrides it).
 *
 * @example
 * const spec = { ...COMMON_FLAGS, threads: THREADS_FLAG } as const;
 */
export const THREADS_FLAG = {
  type: 'number',
  ...COMMON_RANGES.threads,
  help: 'ONNX Runtime intra-op threads; default: all cores',
} as const satisfies FlagSpec;

/**
 * `--device`, the same choices and meaning on every verb that computes with a Switchyard model: where its graphs
 * run. Foreign and int8-compressed ONNX files always run on ONNX Runtime (see docs/gpu.md).
 *
 * @example
 * const spec = { ...COMMON_FLAGS, threads: THREADS_FLAG, device: DEVICE_FLAG } as const;
 * parseArgs(['--device', 'webgpu'], spec, 'train').device; // 'webgpu'
 */
export const DEVICE_FLAG = {
  type: 'string',
  choices: DEVICE_CHOICES,
  default: 'cpu',
  help: 'where the model runs: cpu (ONNX Runtime), webgpu (a GPU through Dawn; npm install webgpu), '
    + 'auto (webgpu on a hardware GPU, else cpu)',
} as const satisfies FlagSpec;

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function stripDashes(s: string): string {
  return s.replace(/^-+/, '');
}

/**
 * Whether `flag` was typed on the command line (not filled in from its default).
 *
 * @example
 * flagGiven(['--hidden', '8'], 'hidden'); // true
 */
export function flagGiven(argv: readonly string[], flag: string): boolean {
  return argv.some((x) => x === `--${flag}` || x.startsWith(`--${flag}=`));
}

/**
 * The value of the last `--flag V` or `--flag=V` in `argv` (before parsing, e.g. to route a verb), or undefined.
 *
 * @example
 * flagValue(['--model', 'encoder'], 'model'); // 'encoder'
 */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  argv.forEach((x, i) => {
    if (x === `--${flag}`) value = argv[i + 1];
    else if (x.startsWith(`--${flag}=`)) value = x.slice(flag.length + 3);
  });
  return value;
}

/**
 * The E_USAGE error for an unknown verb or sub-command, suggesting the closest known one with {@link didYouMean}, as
 * the flag parser does for flags (and the readers for column names).
 *
 * @param what what the name was meant to be, e.g. `verb` or `registry command`
 * @param name what the user typed
 * @param known the names that exist, listed in the hint
 * @example
 * unknownName('verb', 'trian', ['train', 'predict']).hint; // "did you mean 'train'? one of: train, predict"
 */
export function unknownName(what: string, name: string, known: readonly string[]): SwitchyardError {
  const close = didYouMean(name, known);
  const suggestion = close ? `did you mean '${close}'? ` : '';
  return new SwitchyardError('E_USAGE', `unknown ${what} '${name}'`, `${suggestion}one of: ${known.join(', ')}`);
}

/**
 * Parses `argv` (the arguments after the verb) against `spec`. `verb` only shapes messages:
 * `unknown option --foo for 'switchyard train'` / hint `run switchyard train --help`.
 * `--help` and `-h` are always accepted and set `help`; required flags are not enforced then.
 * Throws `SwitchyardError('E_USAGE')` for an unknown flag, a missing value, a non-numeric number, a number
 * outside the flag's declared range (`min`/`above`/`max`/`below`/`integer`), a bad boolean, a missing required flag, or two flags that `conflicts` forbids together.
 *
 * @example
 * const spec = {
 *   data: { type: 'string', required: true, help: 'training data (CSV or JSONL)' },
 *   epochs: { type: 'number', default: 3, alias: 'e', min: 1, integer: true, help: 'passes over the data' },
 *   json: { type: 'boolean', help: 'print JSON' },
 * } as const;
 * const a = parseArgs(['--data', 'x.csv', '-e', '5', '--json'], spec, 'train');
 * a.data;   // 'x.csv' (string)
 * a.epochs; // 5 (number)
 * a.json;   // true
 */
export function parseArgs<const S extends ArgSpec>(argv: readonly string[], spec: S, verb?: string): ParsedArgs<S> {
  const cmd = verb ? `switchyard ${verb}` : 'switchyard';
  const usage = (msg: string, extra = ''): SwitchyardError =>
    new SwitchyardError('E_USAGE', `${msg} for '${cmd}'`, `${extra}run ${cmd} --help`);

  const byName = new Map<string, string>();
  for (const [name, f] of Object.entries(spec)) {
    if (name === '_' || name === 'help') throw new Error(`parseArgs: flag name "${name}" is reserved`);
    byName.set(name, name);
    if (f.alias) byName.set(stripDashes(f.alias), name);
    if (f.deprecatedAlias) byName.set(stripDashes(f.deprecatedAlias), name);
  }
  const out: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;

  const convert = (name: string, flag: string, raw: string): unknown => {
    const f = spec[name];
    switch (f.type) {
      case 'number': {
        const v = raw.trim() === '' ? NaN : Number(raw);
        if (!Number.isFinite(v)) throw usage(`option ${flag} expects a number, got '${raw}'`);
        const range = rangeText(f);
        if (!inRange(f, v)) throw usage(`option ${flag} expects ${range}, got '${raw}'`);
        return v;
      }
      case 'boolean': {
        const l = raw.toLowerCase();
        if (TRUE.has(l)) return true;
        if (FALSE.has(l)) return false;
        throw usage(`option ${flag} expects true or false, got '${raw}'`);
      }
      case 'list': {
        const prev = (out[name] as string[] | undefined) ?? [];
        const entries = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
        // A list with a declared range is a list of numbers: every entry is checked like a number flag's value.
        const bad = hasRange(f) ? entries.find((e) => !inRange(f, Number(e))) : undefined;
        if (bad !== undefined) {
          throw usage(`option ${flag} expects entries that are each ${rangeText(f)}, got '${bad}'`);
        }
        return [...prev, ...entries];
      }
      default: {
        if (f.choices && !f.choices.includes(raw)) {
          const close = didYouMean(raw, f.choices);
          const hint = close ? `did you mean ${flag} ${close}? ` : '';
          throw usage(`option ${flag} expects one of ${f.choices.join(', ')}, got '${raw}'`, hint);
        }
        return raw;
      }
    }
  };

  const looksLikeFlag = (s: string | undefined): boolean =>
    s === undefined || (s.startsWith('--') && s.length > 2) || /^-[A-Za-z]/.test(s);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const isLong = arg.startsWith('--');
    const isShort = !isLong && /^-[A-Za-z]/.test(arg);
    if (!isLong && !isShort) {
      positionals.push(arg);
      continue;
    }
    const body = stripDashes(arg);
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    const shown = isLong ? `--${key}` : `-${key}`;
    if (key === 'help' || (isShort && key === 'h' && !byName.has('h'))) {
      help = true;
      continue;
    }
    let name = byName.get(key);
    let negated = false;
    if (name === undefined && isLong && key.startsWith('no-')) {
      const base = byName.get(key.slice(3));
      if (base !== undefined && spec[base].type === 'boolean' && inline === undefined) {
        name = base;
        negated = true;
      }
    }
    if (name === undefined) {
      const close = didYouMean(key, Object.keys(spec));
      throw usage(`unknown option ${shown}`, close ? `did you mean --${close}? ` : '');
    }
    const f = spec[name];
    if (f.deprecatedAlias !== undefined && stripDashes(f.deprecatedAlias) === key) {
      process.stderr.write(`note: ${shown} is deprecated; use --${name} (same meaning)\n`);
    }
    if (f.type === 'boolean') {
      out[name] = negated ? false : inline === undefined ? true : convert(name, shown, inline);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (looksLikeFlag(next) && !(f.type === 'number' && next !== undefined && Number.isFinite(Number(next)))) {
        throw usage(`option ${shown} needs a ${f.type === 'list' ? 'value' : f.type} value`);
      }
      raw = next as string;
      i++;
    }
    out[name] = convert(name, shown, raw);
  }

  for (const [name, f] of Object.entries(spec)) {
    if (out[name] !== undefined) continue;
    if (f.default !== undefined) out[name] = Array.isArray(f.default) ? [...f.default] : f.default;
    else if (f.type === 'boolean') out[name] = false;
    else if (f.type === 'list') out[name] = f.required && !help ? undefined : [];
    if (f.required && out[name] === undefined && !help) throw usage(`missing required option --${name}`);
  }
  for (const [name, f] of Object.entries(spec)) {
    const given = (n: string) => out[n] !== undefined && out[n] !== false && out[n] !== spec[n]?.default;
    const other = given(name) ? f.conflicts?.find(given) : undefined;
    if (other) throw usage(`options --${name} and --${other} cannot be used together`);
  }
  return { ...out, _: positionals, help } as ParsedArgs<S>;
}

/**
 * Formats `--help` text for a verb: usage line, summary, and an aligned table of flags with their
 * type, `(required)` or `(default: …)`, and help line. `--help` itself is listed last.
 *
 * @example
 * process.stdout.write(formatHelp('train', 'Train a model on a dataset.', spec));
 * // usage: switchyard train [options]
 * //
 * // Train a model on a dataset.
 * //
 * // options:
 * //   --data <string>       training data (CSV or JSONL) (required)
 * //   -e, --epochs <number> passes over the data (default: 3)
 */
export function formatHelp(verb: string, summary: string, spec: ArgSpec): string {
  const rows: [string, string][] = [];
  for (const [name, f] of Object.entries(spec)) {
    const alias = f.alias ? stripDashes(f.alias) : undefined;
    const aliasText = alias ? (alias.length === 1 ? `-${alias}, ` : `--${alias}, `) : '';
    const list = f.valueName ? ` <${f.valueName},…>` : ' <a,b,…>';
    const one = ` <${f.valueName ?? f.choices?.join('|') ?? f.type}>`;
    const value = f.type === 'boolean' ? '' : f.type === 'list' ? list : one;
    let help = f.help;
    if (f.type === 'number' && hasRange(f)) help += ` (${rangeText(f)})`;
    if (f.type === 'list' && hasRange(f)) help += ` (each ${rangeText(f)})`;
    if (f.deprecatedAlias) help += ` (old name --${stripDashes(f.deprecatedAlias)}: deprecated)`;
    if (f.required) help += ' (required)';
    else if (f.default !== undefined && !(Array.isArray(f.default) && f.default.length === 0) && f.default !== false) {
      help += ` (default: ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
    }
    rows.push([`${aliasText}--${name}${value}`, help]);
  }
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`usage: switchyard ${verb} [options]`, '', summary.trim(), '', 'options:'];
  for (const [l, h] of rows) lines.push(`  ${l.padEnd(width)}  ${h}`);
  return lines.join('\n') + '\n';
}
