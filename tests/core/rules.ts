/** Helpers the shape-rule tests share: trace a throwaway graph and pin an error's code, message and hint. */
import { type DType, type Dim, type Graph, type Tensor, trace } from '../../src/core/index.ts';
import { expectCode } from '../expect-error.ts';

/** Runs `fn` inside a fresh trace (its result is discarded; a dummy output keeps the graph valid). */
export function inTrace(fn: (g: Graph) => unknown): void {
  trace((g) => {
    const keep = g.input('keep', 'f32', [1]);
    fn(g);
    return { keep };
  });
}

/** An input of the current graph named `name` (f32 unless `dtype`). */
export function input(g: Graph, name: string, shape: Dim[], dtype: DType = 'f32'): Tensor {
  return g.input(name, dtype, shape);
}

/** Expects `fn` to throw a SwitchyardError with `code`, a message matching `message` and a hint matching `hint`. */
export function expectRejects(fn: () => unknown, code: string, message: RegExp, hint: RegExp): void {
  expectCode(fn, code, message, hint);
}

/** Runs `fn` inside a throwaway trace with no outputs. */
export function traced(fn: (g: Graph) => void): void {
  trace((g) => {
    fn(g);
    return {};
  });
}

/** The hint of every dtype mismatch of an elementwise or indexing op. */
export const DTYPE_HINT = /^cast the value first \(cast\(x, "f32"\)\)$/;

/** The inferred dtype and shape of `t`, for one `toEqual`. */
export function typeOf(t: Tensor): { dtype: DType; shape: Dim[] } {
  return { dtype: t.dtype, shape: [...t.shape] };
}
