/** fast-check arbitraries for well-formed Unicode text that exercise ASCII words, accents, CJK and emoji. */
import fc from 'fast-check';

const codePoint = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'the quick brown fox,  jumps over the lazy dog.\n\t0123456789\'s'.split('').map((c) => c.codePointAt(0)!)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x7f }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }) }, // 2-byte: accents, Greek, Cyrillic
  { weight: 1, arbitrary: fc.integer({ min: 0x4e00, max: 0x4e40 }) }, // CJK
  { weight: 1, arbitrary: fc.integer({ min: 0x1f600, max: 0x1f640 }) }, // emoji (4 bytes)
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff) },
);

/**
 * Well-formed strings (no unpaired surrogates) of up to `maxLength` code points.
 *
 * @example
 * fc.assert(fc.property(unicodeText(40), (s) => tok.decode(tok.encode(s)) === s));
 */
export function unicodeText(maxLength = 40): fc.Arbitrary<string> {
  return fc.array(codePoint, { maxLength }).map((cps) => String.fromCodePoint(...cps));
}
