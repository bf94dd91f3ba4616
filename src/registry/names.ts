/**
 * Names in the registry: model names, alias names and references (`name`, `name@3`, `name@production`).
 * Names appear in paths and URLs, so they are restricted to letters, digits, `.`, `_` and `-`.
 */
import { existsSync } from 'node:fs';
import { SwitchyardError } from '../util/errors.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Alias names with a meaning of their own: `latest` is the newest active version. */
export const RESERVED_ALIASES: readonly string[] = ['latest'];

/**
 * Checks a model name: 1-64 characters, letters, digits, `.`, `_`, `-`, starting with a letter or digit.
 *
 * @example
 * checkModelName('penguins-mlp'); // ok
 * checkModelName('../etc');       // throws E_REGISTRY_NAME
 */
export function checkModelName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new SwitchyardError('E_REGISTRY_NAME', `model name '${name}' is not valid`, 'use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. penguins-mlp');
  }
}

/**
 * Checks an alias name: like a model name, but not all digits (those are version numbers) and not `latest`.
 *
 * @example
 * checkAliasName('production'); // ok
 * checkAliasName('3');          // throws E_REGISTRY_ALIAS_NAME
 */
export function checkAliasName(alias: string): void {
  if (typeof alias !== 'string' || !NAME_RE.test(alias) || /^v?\d+$/.test(alias) || RESERVED_ALIASES.includes(alias)) {
    throw new SwitchyardError('E_REGISTRY_ALIAS_NAME', `alias '${alias}' is not valid`, 'use letters, digits, ".", "_" or "-" (not only digits, not "latest"), e.g. production, staging, canary');
  }
}

/** A parsed model reference. */
export type ModelRef = { name: string; version: number } | { name: string; alias: string } | { name: string; latest: true };

/**
 * Parses `name` (latest active version), `name@latest`, `name@3` / `name@v3` (a version) or `name@alias`.
 *
 * @example
 * parseRef('churn@production'); // { name: 'churn', alias: 'production' }
 * parseRef('churn@3');          // { name: 'churn', version: 3 }
 * parseRef('churn');            // { name: 'churn', latest: true }
 */
export function parseRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const tail = at < 0 ? 'latest' : ref.slice(at + 1);
  if (!NAME_RE.test(name) || tail === '' || tail.includes('@')) {
    throw new SwitchyardError('E_REGISTRY_REF', `'${ref}' is not a model reference`, 'write NAME, NAME@VERSION (e.g. churn@3) or NAME@ALIAS (e.g. churn@production)');
  }
  if (tail === 'latest') return { name, latest: true };
  const m = /^v?(\d+)$/.exec(tail);
  if (m) return { name, version: parseVersion(m[1], ref) };
  checkAliasName(tail);
  return { name, alias: tail };
}

/**
 * True when `text` is a `NAME@VERSION` or `NAME@ALIAS` reference rather than a file or directory that exists
 * (`serve --model` and friends take either).
 *
 * @example
 * isModelRef('churn@production'); // true
 * isModelRef('runs/churn');       // false
 */
export function isModelRef(text: string): boolean {
  if (!text.includes('@') || existsSync(text)) return false;
  try {
    parseRef(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a version number (`3` or `v3`), naming `where` in the error.
 *
 * @example
 * parseVersion('v3', 'VERSION'); // 3
 */
export function parseVersion(text: string, where = 'version'): number {
  const m = /^v?(\d+)$/.exec(String(text).trim());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SwitchyardError('E_REGISTRY_VERSION', `${where}: '${text}' is not a version number`, 'versions are whole numbers from 1, e.g. 3 or v3');
  }
  return n;
}
