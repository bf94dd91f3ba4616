/**
 * Reading the split patterns of Hugging Face `tokenizer.json` files. They are written for Oniguruma (the Rust
 * `tokenizers` crate compiles them with it), whose meaning differs from JavaScript's `RegExp` in a few places that
 * matter for tokenizers: `\s` is Unicode White_Space (U+0085 yes, U+FEFF no; JavaScript's `\s` is the reverse),
 * `\d` is any decimal digit, `(?i:...)` groups exist, `.` stops only at `\n`, `^`/`$` are line anchors and a
 * stray `]`, `{` or `}` is a literal. {@link onigToJs} rewrites the subset tokenizers use into an equivalent
 * JavaScript pattern (`u` flag) and refuses the rest with a message naming the construct.
 */

/** Simple case folds beyond ASCII that Oniguruma's (and JavaScript's) case-insensitive matching applies. */
const EXTRA_FOLDS: Record<string, string> = { k: '\u212a', s: '\u017f' };

/** Escapes JavaScript accepts as they are in a `u`-mode pattern, inside and outside classes. */
const PASS_ESCAPES = new Set(['t', 'n', 'r', 'f', 'v', '0']);
const SYNTAX_CHARS = '^$\\.*+?()[]{}|/';

/** The characters a case-insensitive letter stands for (`s` -> `sSſ`). */
function caseVariants(c: string): string {
  const lower = c.toLowerCase();
  if (!/^[a-z]$/.test(lower)) return c;
  return lower + lower.toUpperCase() + (EXTRA_FOLDS[lower] ?? '');
}

/** `c` as a literal in a `u`-mode pattern. */
function literal(c: string, inClass: boolean): string {
  if (SYNTAX_CHARS.includes(c) || (inClass && c === '-')) return '\\' + c;
  return c;
}

/**
 * Rewrites an Oniguruma pattern (as written in a `tokenizer.json` Split pre-tokenizer) into a JavaScript pattern
 * with the same matches, for use with the `u` flag. Throws an `Error` naming the first unsupported construct
 * (back-references, `\w`/`\b`, POSIX brackets, nested classes and `&&`, atomic groups, possessive quantifiers,
 * inline flags other than `(?i:...)`).
 *
 * @param source the pattern text
 * @example
 * onigToJs("(?i:'s|'t)|\\s+(?!\\S)"); // "(?:'[sSſ]|'[tT])|\\p{White_Space}+(?!\\P{White_Space})"
 */
export function onigToJs(source: string): string {
  let out = '';
  const caseStack: boolean[] = [];
  let ci = false;
  let i = 0;
  const fail = (what: string, at = i): never => {
    throw new Error(`${what} at offset ${at} is not supported`);
  };
  /** Reads the escape at `i` (a backslash); returns its JavaScript form. */
  const escape = (inClass: boolean): string => {
    const c = source[i + 1];
    if (c === undefined) fail('a trailing backslash');
    i += 2;
    if (c === 's') return '\\p{White_Space}';
    if (c === 'S') return '\\P{White_Space}';
    if (c === 'd') return '\\p{Nd}';
    if (c === 'D') return '\\P{Nd}';
    if (PASS_ESCAPES.has(c) && !(c === '0' && /[0-9]/.test(source[i] ?? ''))) return '\\' + c;
    if (c === 'p' || c === 'P') {
      const m = /^\{(\^?)([A-Za-z_=]+)\}/.exec(source.slice(i));
      if (!m) return fail(`\\${c} without a {Property}`);
      i += m[0].length;
      const negate = (c === 'P') !== (m[1] === '^');
      return `\\${negate ? 'P' : 'p'}{${m[2]}}`;
    }
    if (c === 'x') {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(source.slice(i));
      if (braced) {
        i += braced[0].length;
        return `\\u{${braced[1]}}`;
      }
      const two = /^[0-9A-Fa-f]{2}/.exec(source.slice(i));
      if (!two) return fail('\\x without hex digits');
      i += 2;
      return '\\x' + two[0];
    }
    if (c === 'u') {
      const four = /^[0-9A-Fa-f]{4}/.exec(source.slice(i));
      if (!four) return fail('\\u without four hex digits');
      i += 4;
      return '\\u' + four[0];
    }
    if (/[A-Za-z0-9]/.test(c)) return fail(`the escape \\${c}`, i - 2);
    return literal(c, inClass);
  };
  const charClass = (): string => {
    let cls = '[';
    i++;
    if (source[i] === '^') {
      cls += '^';
      i++;
    }
    let first = true;
    while (i < source.length && (source[i] !== ']' || first)) {
      const c = source[i];
      if (c === '[') fail(source.startsWith('[:', i) ? 'a POSIX bracket [:...:]' : 'a nested character class');
      if (c === '&' && source[i + 1] === '&') fail('a class intersection &&');
      if (c === '\\') cls += escape(true);
      else if (c === '-' && !first && source[i + 1] !== ']') {
        cls += '-';
        i++;
      } else {
        const cp = String.fromCodePoint(source.codePointAt(i)!);
        i += cp.length;
        if (ci && /[A-Za-z]/.test(cp)) {
          // A letter range under (?i:) gains the other case's range; a single letter its case variants.
          if (source[i] === '-' && /[A-Za-z]/.test(source[i + 1] ?? '')) {
            const end = source[i + 1];
            i += 2;
            cls += `${cp.toLowerCase()}-${end.toLowerCase()}${cp.toUpperCase()}-${end.toUpperCase()}`;
          } else cls += caseVariants(cp);
        } else cls += literal(cp, true);
      }
      first = false;
    }
    if (source[i] !== ']') fail('an unclosed character class');
    i++;
    return cls + ']';
  };
  let afterQuantifier = false;
  while (i < source.length) {
    const c = source[i];
    let quantifier = false;
    if (c === '\\') out += escape(false);
    else if (c === '[') out += charClass();
    else if (c === '(') {
      const rest = source.slice(i);
      const group = /^\((\?(?:i:|-i:|:|=|!|<=|<!))?/.exec(rest)!;
      if (rest.startsWith('(?') && !group[1]) fail(`the group ${rest.slice(0, 3)}`);
      caseStack.push(ci);
      if (group[1] === '?i:') ci = true;
      if (group[1] === '?-i:') ci = false;
      out += group[1] === '?i:' || group[1] === '?-i:' ? '(?:' : group[0];
      i += group[0].length;
    } else if (c === ')') {
      if (caseStack.length === 0) fail('an unmatched )');
      ci = caseStack.pop()!;
      out += ')';
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      if (afterQuantifier && c === '+') fail('a possessive quantifier');
      // `?` after a quantifier makes it lazy (same in both engines); otherwise this is a quantifier.
      quantifier = !(afterQuantifier && c === '?');
      out += c;
      i++;
    } else if (c === '.') {
      out += '[^\\n]';
      i++;
    } else if (c === '^' || c === '$') {
      out += c === '^' ? '(?<![^\\n])' : '(?![^\\n])';
      i++;
    } else if (c === '{') {
      const interval = /^\{\d+(?:,\d*)?\}/.exec(source.slice(i));
      out += interval ? interval[0] : '\\{';
      i += interval ? interval[0].length : 1;
      quantifier = !!interval;
    } else if (c === ']' || c === '}') {
      out += '\\' + c;
      i++;
    } else {
      const cp = String.fromCodePoint(source.codePointAt(i)!);
      i += cp.length;
      out += ci && /[A-Za-z]/.test(cp) ? `[${caseVariants(cp)}]` : cp;
    }
    afterQuantifier = quantifier;
  }
  if (caseStack.length > 0) fail('an unclosed group');
  return out;
}
