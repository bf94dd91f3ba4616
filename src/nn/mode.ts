import type { Tensor } from '../core/graph.ts';
import { add, scalar } from '../core/ops/index.ts';

/** What a traced forward pass is for: training (dropout on, fed seed) or evaluation. */
export interface Mode {
  training: boolean;
  /** A fresh i64 seed tensor for the next random op (distinct per call site within one step). */
  nextSeed(): Tensor;
}

const EVAL: Mode = {
  training: false,
  nextSeed() {
    throw new Error('internal: random op in eval mode');
  },
};
const stack: Mode[] = [];

/** The active mode; eval when none was set. */
export function currentMode(): Mode {
  return stack[stack.length - 1] ?? EVAL;
}

/** Runs `fn` in training mode; random ops derive their seeds from the i64 scalar `seed`. */
export function withTraining<T>(seed: Tensor, fn: () => T): T {
  let calls = 0;
  // Large odd stride so call sites in one step and consecutive steps do not share streams.
  stack.push({ training: true, nextSeed: () => add(seed, scalar(1_000_003 * ++calls, 'i64')) });
  try {
    return fn();
  } finally {
    stack.pop();
  }
}
