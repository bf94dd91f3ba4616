import type { Tensor } from '../graph.ts';
import { apply1, defineOp, expectDtype, fail } from './registry.ts';

/**
 * Counter-based uniform noise: element i of a tensor with seed s gets `hashUniform(i, s)`. The same hash runs
 * in the ONNX lowering and in the reference interpreter, so dropout masks are reproducible, testable and the
 * same after a resume. All intermediates stay below 2^62, so int64 arithmetic is exact.
 *
 * The seed enters twice (before and after the first squaring), so the stream of seed s+1 is not a shifted
 * copy of the stream of seed s.
 */
export const HASH_MOD = 2147483647n;

/** One round `h = (h * mul + add) mod M`; `mul: 'self'` squares, `add` may name a seed-derived value. */
export interface HashRound {
  mul: bigint | 'self';
  add: bigint | 's1' | 's2';
}

/** Seed scrambles: s1 = (s0^2 + 69621 s0 + 1) mod M, s2 = (s1^2 + 48271) mod M, with s0 = s mod M. */
export function hashSeeds(s: bigint): { s1: bigint; s2: bigint } {
  const s0 = s % HASH_MOD;
  const s1 = (s0 * s0 + 69621n * s0 + 1n) % HASH_MOD;
  const s2 = (s1 * s1 + 48271n) % HASH_MOD;
  return { s1, s2 };
}

/** The rounds applied to the element index (after `h = i mod M`). */
export const hashRounds: HashRound[] = [
  { mul: 48271n, add: 's1' },
  { mul: 'self', add: 's2' },
  { mul: 16807n, add: 12345n },
  { mul: 'self', add: 11n },
];

/** The reference hash for one element: index `i`, seed `s` (both non-negative). */
export function hashUniform(i: bigint, s: bigint): number {
  const seeds = hashSeeds(s);
  let h = i % HASH_MOD;
  for (const r of hashRounds) {
    const add = typeof r.add === 'bigint' ? r.add : seeds[r.add];
    h = ((r.mul === 'self' ? h * h : h * r.mul) + add) % HASH_MOD;
  }
  return Number(h) / Number(HASH_MOD);
}

defineOp({
  name: 'randomUniformLike',
  infer([x, seed], _attrs, where) {
    expectDtype(where, seed, ['i64'], 'seed');
    if (seed.rank !== 0) fail(where, `seed must be a scalar, got ${seed}`, 'feed a scalar i64 seed');
    return [{ dtype: 'f32', shape: x.shape }];
  },
  // The noise depends only on x's shape and the seed, never on x's values.
  grad: () => [null, null],
});

/** Uniform [0, 1) noise shaped like `x`, determined by the i64 scalar `seed` tensor and the element position. */
export function randomUniformLike(x: Tensor, seed: Tensor): Tensor {
  return apply1('randomUniformLike', [x, seed]);
}
