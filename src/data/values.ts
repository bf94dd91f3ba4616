/**
 * Cell-level helpers shared by schema inference and encoding: what counts as missing, as a number,
 * as a boolean, and "did you mean" suggestions for misspelt column names.
 */

/**
 * The cells that mean "missing" (after trimming and lower-casing).
 *
 * @example
 * MISSING_WORDS.includes('n/a'); // true
 */
export const MISSING_WORDS: readonly string[] = ['', 'na', 'n/a', 'null', 'nan', '?', '-'];
const MISSING = new Set(MISSING_WORDS);

/**
 * True when a raw cell is a missing value: empty, `NA`, `N/A`, `null`, `NaN`, `?` or `-`
 * (case-insensitive, surrounding whitespace ignored).
 *
 * @example
 * isMissing(' NA ');  // true
 * isMissing('0');     // false
 */
export function isMissing(cell: string): boolean {
  if (cell.length > 6) return false;
  const c = cell.charCodeAt(0);
  if (c >= 48 && c <= 57) return false; // starts with a digit: the common numeric case
  return MISSING.has(cell.trim().toLowerCase());
}

/**
 * Parses a cell as a finite decimal number (`12`, `-3.5`, `.5`, `1e-3`, surrounding spaces allowed).
 * Returns `NaN` for anything else, including hex/binary literals, `Infinity` and empty cells.
 *
 * @example
 * parseNumber(' 3.25 '); // 3.25
 * parseNumber('0x10');   // NaN
 * parseNumber('abc');    // NaN
 */
export function parseNumber(cell: string): number {
  const s = cell.trim();
  if (s.length === 0) return NaN;
  const v = Number(s);
  if (!Number.isFinite(v)) return NaN;
  // Number() also accepts 0x.., 0b.., 0o.. literals: those are not decimal data.
  if (s.length > 2 && s.charCodeAt(0) === 48) {
    const c = s.charCodeAt(1) | 32;
    if (c === 120 || c === 98 || c === 111) return NaN;
  }
  return v;
}

/**
 * The words of a boolean column (lower-case) that mean 1 and 0.
 *
 * @example
 * BOOLEAN_WORDS.true.includes('yes'); // true
 */
export const BOOLEAN_WORDS: { readonly true: readonly string[]; readonly false: readonly string[] } = {
  true: ['true', 'yes', 'y', 't', '1'],
  false: ['false', 'no', 'n', 'f', '0'],
};
const TRUE_WORDS = new Set(BOOLEAN_WORDS.true);
const FALSE_WORDS = new Set(BOOLEAN_WORDS.false);

/**
 * Parses a boolean-like cell: `true/yes/y/t/1` → 1, `false/no/n/f/0` → 0 (case-insensitive),
 * anything else → -1.
 *
 * @example
 * parseBoolean('Yes'); // 1
 * parseBoolean('0');   // 0
 * parseBoolean('maybe'); // -1
 */
export function parseBoolean(cell: string): 0 | 1 | -1 {
  if (cell.length > 7) return -1;
  const s = cell.trim().toLowerCase();
  if (TRUE_WORDS.has(s)) return 1;
  if (FALSE_WORDS.has(s)) return 0;
  return -1;
}

/**
 * Levenshtein edit distance between two strings (insertions, deletions, substitutions).
 *
 * @example
 * editDistance('lable', 'label'); // 2
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name` (case-insensitive match first, then smallest edit distance), or
 * `null` when nothing is plausibly a typo of it (distance > max(2, length / 3)).
 *
 * @example
 * didYouMean('lable', ['a', 'b', 'label']); // 'label'
 * didYouMean('zzz', ['a', 'b']);            // null
 */
export function didYouMean(name: string, candidates: readonly string[]): string | null {
  const lower = name.toLowerCase();
  for (const c of candidates) if (c.toLowerCase() === lower) return c;
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * Lists names for an error message, truncating long lists (`a, b, c, ... (40 more)`).
 *
 * @example
 * listNames(['a', 'b', 'label']); // 'a, b, label'
 */
export function listNames(names: readonly string[], max = 20): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')}, ... (${names.length - max} more)`;
}
