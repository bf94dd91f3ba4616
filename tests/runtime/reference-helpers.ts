/** Helpers shared by the reference-interpreter tests. */
import { expect } from 'vitest';
import { type Graph, type Tensor, trace } from '../../src/core/index.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';

/** Ops whose forward values the reference tests check, split by test file (coverage is asserted per file). */
export const FORWARD_FAMILIES: Record<string, string[]> = {
  basic: [
    'const', 'fullLike', 'numel', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'equal', 'less', 'greater', 'lessEqual', 'greaterEqual',
    'and', 'or', 'where', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'erf', 'sin', 'cos', 'sign', 'not', 'isNaN', 'isInf', 'cast',
    'reduceSum', 'reduceMean', 'reduceMax', 'argmax', 'softmax', 'logSoftmax', 'layerNorm', 'cumsum', 'matmul',
  ],
  structure: [
    'reshape', 'transpose', 'slice', 'split', 'pad', 'concat', 'broadcastLike', 'expand', 'identity', 'stopGradient', 'gather', 'gatherElements',
    'scatterElementsAdd', 'gatherND', 'scatterNDAdd', 'topk', 'oneHot', 'nonzero', 'randomUniformLike', 'loop', 'splitRows', 'concatRows',
  ],
  conv: ['conv2d', 'convTranspose2d', 'conv2dWeightGrad'],
};

/** Ops run by {@link run} so far, loop bodies included. */
export const ranOps = new Set<string>();

/** Adds the ops of `g` (and of its loop bodies) to {@link ranOps}. */
export function record(g: Graph): void {
  for (const n of g.nodes) {
    ranOps.add(n.op);
    if (n.op === 'loop') record(n.attrs.body as Graph);
  }
}

/** Traces `fn` and runs it in the reference interpreter. */
export function run(fn: (g: Graph) => Tensor | Record<string, Tensor>, feeds: Record<string, RefTensor> = {}): Record<string, RefTensor> {
  const g = trace(fn);
  record(g);
  return runReference(g, feeds);
}

/** The values of a result as a plain array. */
export const vals = (t: RefTensor): number[] => [...t.data];

/** Expects `actual` close to `want` element by element (absolute 1e-12 by default). */
export function close(actual: RefTensor, want: number[], digits = 12): void {
  expect(actual.data.length).toBe(want.length);
  want.forEach((w, i) => expect(actual.data[i]).toBeCloseTo(w, digits));
}

export { expectCode } from '../expect-error.ts';
