/**
 * Fast, deterministic 32-bit hashing shared by the text checks (near-duplicates, contamination) and the
 * hashed text features of the tabular encoder: MurmurHash3's block step and finaliser, all `Math.imul`, so
 * the same input hashes alike on every machine and nothing is allocated per call.
 */

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers that spreads every input bit over the
 * output. Returns an unsigned 32-bit integer.
 *
 * @example
 * fmix32(0); // 0
 * fmix32(1) !== fmix32(2); // true (and they differ in about half their bits)
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One MurmurHash3 block step: mixes the 32-bit value `k` into the running hash `h` (order-sensitive).
 *
 * @example
 * const h = fmix32(murmurStep(murmurStep(7, 1), 2)); // differs from fmix32(murmurStep(murmurStep(7, 2), 1))
 */
export function murmurStep(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * FNV-1a over the UTF-16 code units `s[start..end)`: the n-gram hash of the text checks and the monitor's
 * hashed embeddings. Returns a signed 32-bit integer (use `>>> 0` for unsigned).
 *
 * @example
 * fnv1a('hello', 1, 4) === fnv1a('ell', 0, 3); // true
 */
export function fnv1a(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
