/**
 * Gradient checking against central finite differences in the float64 reference interpreter, plus the data
 * generators and shape arbitraries the gradient tests share.
 */
import fc from 'fast-check';
import { backward, type DType, type Dim, type Graph, mul, reduceSum, type Tensor, trace } from '../../src/core/index.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';

/**
 * How the values of an input are drawn: `any` in [-2, 2]; `pos` in [0.5, 2]; `away` with |x| in [0.3, 2];
 * `distinct` in [-2, 2] with every value of every `distinct` input at least ~0.02 apart (no ties);
 * `bool` 0/1; `{ int: [lo, hi] }` integers (for i64 inputs); or explicit data.
 */
export type Gen = 'any' | 'pos' | 'away' | 'distinct' | 'bool' | { int: [number, number] } | number[];

/** One input of a gradient check: its fed shape, optional declared (symbolic) shape, dtype and values. */
export interface InputSpec {
  shape: number[];
  declared?: Dim[];
  dtype?: DType;
  gen?: Gen;
  /** Take part in the check (default: every f32 input). */
  wrt?: boolean;
}

/** Ops seen in the forward graphs checked so far (coverage). */
export const checkedOps = new Set<string>();

/** Every op with a gradient rule, by the test file that checks it (coverage is asserted per file). */
export const GRAD_FAMILIES: Record<string, string[]> = {
  elementwise: ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'where', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'erf', 'sin', 'cos', 'sign', 'cast', 'fullLike', 'numel', 'identity', 'randomUniformLike'],
  layout: ['reshape', 'transpose', 'slice', 'split', 'pad', 'concat', 'broadcastLike', 'expand', 'splitRows', 'concatRows'],
  nn: ['reduceSum', 'reduceMean', 'reduceMax', 'matmul', 'softmax', 'logSoftmax', 'layerNorm', 'cumsum'],
  indexing: ['gather', 'gatherElements', 'scatterElementsAdd', 'gatherND', 'scatterNDAdd', 'topk'],
  conv: ['conv2d', 'convTranspose2d', 'conv2dWeightGrad'],
};

/** Ops deliberately without a gradient rule (integer/bool results, constants, control flow). */
export const NON_DIFFERENTIABLE = ['const', 'equal', 'less', 'greater', 'lessEqual', 'greaterEqual', 'and', 'or', 'not', 'isNaN', 'isInf', 'argmax', 'oneHot', 'nonzero', 'loop', 'stopGradient'];

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Draws the feeds of `specs` (named x0, x1, ...) from `seed`. */
export function makeFeeds(specs: InputSpec[], seed: number): Record<string, RefTensor> {
  const rnd = prng(seed);
  const nDistinct = specs.filter((s) => s.gen === 'distinct').reduce((n, s) => n + size(s.shape), 0);
  const pool = Array.from({ length: nDistinct }, (_, k) => -2 + (4 * (k + 0.5 + 0.4 * (rnd() - 0.5))) / nDistinct);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const feeds: Record<string, RefTensor> = {};
  specs.forEach((s, i) => {
    const gen = s.gen ?? 'any';
    const n = size(s.shape);
    const data = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      if (Array.isArray(gen)) data[k] = gen[k];
      else if (typeof gen === 'object') data[k] = gen.int[0] + Math.floor(rnd() * (gen.int[1] - gen.int[0] + 1));
      else if (gen === 'any') data[k] = -2 + 4 * rnd();
      else if (gen === 'pos') data[k] = 0.5 + 1.5 * rnd();
      else if (gen === 'away') data[k] = (rnd() < 0.5 ? -1 : 1) * (0.3 + 1.7 * rnd());
      else if (gen === 'bool') data[k] = rnd() < 0.5 ? 0 : 1;
      else data[k] = pool.pop()!;
    }
    feeds[`x${i}`] = { dtype: s.dtype ?? 'f32', shape: [...s.shape], data };
  });
  return feeds;
}

function traceWith(specs: InputSpec[], body: (g: Graph, xs: Tensor[]) => Record<string, Tensor>): Graph {
  return trace((g) => body(g, specs.map((s, i) => g.input(`x${i}`, s.dtype ?? 'f32', s.declared ?? s.shape))));
}

/** Options of {@link gradCheck}. */
export interface GradCheckOptions {
  seed?: number;
  /** Relative tolerance (absolute below magnitude 1). */
  tol?: number;
  eps?: number;
}

/**
 * Checks the gradients of `loss = reduceSum(f(xs) * r)` (r a fixed random tensor, so every output element
 * matters) w.r.t. the f32 inputs against central finite differences of the forward graph. Throws a detailed
 * error on the first mismatch.
 */
export function gradCheck(f: (...xs: Tensor[]) => Tensor, specs: InputSpec[], opts: GradCheckOptions = {}): void {
  const seed = opts.seed ?? 1;
  const eps = opts.eps ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const wrt = specs.map((s, i) => ((s.wrt ?? (s.dtype ?? 'f32') === 'f32') ? i : -1)).filter((i) => i >= 0);
  const feeds = makeFeeds(specs, seed);

  const fwd = traceWith(specs, (_g, xs) => ({ y: f(...xs) }));
  for (const n of fwd.nodes) checkedOps.add(n.op);
  const y = runReference(fwd, feeds).y;
  const rnd = prng(seed ^ 0x5bd1e995);
  const r: RefTensor = { dtype: 'f32', shape: y.shape, data: y.data.map(() => (rnd() < 0.5 ? -1 : 1) * (0.5 + rnd())) };
  const allFeeds = { ...feeds, r };

  const lossOf = (g: Graph, xs: Tensor[]) => {
    const out = f(...xs);
    return reduceSum(mul(out, g.input('r', 'f32', out.shape)));
  };
  const lossGraph = traceWith(specs, (g, xs) => ({ loss: lossOf(g, xs) }));
  const gradGraph = traceWith(specs, (g, xs) => {
    const grads = backward(lossOf(g, xs), wrt.map((i) => xs[i]));
    return Object.fromEntries(grads.map((t, k) => [`g${k}`, t]));
  });
  const analytic = runReference(gradGraph, allFeeds);

  wrt.forEach((i, k) => {
    const name = `x${i}`;
    const x = feeds[name];
    const gr = analytic[`g${k}`];
    if (gr.shape.join() !== x.shape.join()) throw new Error(`gradient of ${name} has shape [${gr.shape}], input [${x.shape}]`);
    for (let j = 0; j < x.data.length; j++) {
      const at = (v: number) => {
        const data = x.data.slice();
        data[j] = v;
        return runReference(lossGraph, { ...allFeeds, [name]: { ...x, data } }).loss.data[0];
      };
      const num = (at(x.data[j] + eps) - at(x.data[j] - eps)) / (2 * eps);
      const ana = gr.data[j];
      if (!(Math.abs(ana - num) <= tol * Math.max(1, Math.abs(ana), Math.abs(num)))) {
        throw new Error(`d loss / d ${name}[${j}]: analytic ${ana} vs finite difference ${num} (shapes ${specs.map((s) => `[${s.shape}]`).join(' ')}, seed ${seed})`);
      }
    }
  });
}

/** Shapes of rank `minRank`..`maxRank` with dims 1..4. */
export function shapeArb(minRank = 0, maxRank = 3, maxDim = 4): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** `n` shapes that broadcast together (e.g. [3, 1] and [4]): suffixes of one shape with some dims set to 1. */
export function broadcastArb(n: number, maxRank = 3, maxDim = 4): fc.Arbitrary<number[][]> {
  const derive = (out: number[], drop: number, ones: boolean[]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d));
  const part = fc.tuple(fc.nat(3), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }));
  return fc.tuple(shapeArb(0, maxRank, maxDim), fc.array(part, { minLength: n, maxLength: n })).map(([out, parts]) => parts.map(([drop, ones]) => derive(out, drop, ones)));
}

/** Two shapes that broadcast together. */
export function broadcastPairArb(): fc.Arbitrary<[number[], number[]]> {
  return broadcastArb(2).map(([a, b]) => [a, b]);
}

/** A fast-check seed for the data of one run. */
export const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

/** Runs `fc.assert` with the suite's small run count (`SWITCHYARD_FC_RUNS` overrides it for deeper local runs). */
export function check<T>(arb: fc.Arbitrary<T>, fn: (v: T) => void, numRuns = Number(process.env.SWITCHYARD_FC_RUNS ?? 20)): void {
  fc.assert(fc.property(arb, fn), { numRuns });
}
