import type { Tensor } from '../graph.ts';
import { apply1, defineOp, expectDtype, fail } from './registry.ts';

/**
 * Counter-based uniform noise: element i of a tensor with seed s gets `hashUniform(i, s)`. The same hash runs
 * in the ONNX lowering and in the reference interpreter, so dropout masks are reproducible, testable and the
 * same after a resume. All intermediates stay below 2^62, so int64 arithmetic is exact.
 */
export const HASH_MOD = 2147483647n;
const HASH_ROUNDS: [bigint, bigint][] = [
  [48271n, 0n],
  [0n, 7n],
  [16807n, 12345n],
  [0n, 11n],
];

/** The reference hash for one element: index `i`, seed `s` (both non-negative). */
export function hashUniform(i: bigint, s: bigint): number {
  let h = (i % HASH_MOD) + ((s % HASH_MOD) * 69621n) % HASH_MOD + 1n;
  h %= HASH_MOD;
  for (const [a, c] of HASH_ROUNDS) h = (a === 0n ? h * h + c : h * a + c) % HASH_MOD;
  return Number(h) / Number(HASH_MOD);
}

/** The rounds, for the lowering: `[multiplier or 0 for squaring, addend]`. */
export const hashRounds = HASH_ROUNDS;

defineOp({
  name: 'randomUniformLike',
  infer([x, seed], _attrs, where) {
    expectDtype(where, seed, ['i64'], 'seed');
    if (seed.rank !== 0) fail(where, `seed must be a scalar, got ${seed}`, 'feed a scalar i64 seed');
    return [{ dtype: 'f32', shape: x.shape }];
  },
  // The noise depends on x's shape only, not on its values.
  grad: () => [null, null],
});

/** Uniform [0, 1) noise shaped like `x`, determined by the i64 scalar `seed` tensor and the element position. */
export function randomUniformLike(x: Tensor, seed: Tensor): Tensor {
  return apply1('randomUniformLike', [x, seed]);
}
