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
