/**
 * WebGPU vs the float64 reference on random shapes (fast-check, as the reference gradient checks): elementwise
 * ops with random broadcasting, reductions and lane ops over random axes, matmul at random sizes, layout ops,
 * gathers/scatters/top-k with random indices, run-time row counts with random sizes and masks, and random
 * noise at random seeds. Few runs (lavapipe is slow); `SWITCHYARD_FC_RUNS` runs more.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  abs, add, argmax, concat, concatRows, cos, cumsum, div, equal, erf, exp, gather, gatherElements, greater, layerNorm,
  less, log, logSoftmax, matmul, maximum, minimum, mul, neg, nonzero, oneHot, pad, pow, randomUniformLike, reduceMax,
  reduceMean, reduceSum, relu, scatterElementsAdd, sigmoid, sign, sin, slice, softmax, split, splitRows, sqrt, sub,
  tanh, transpose, topk, where,
} from '../../src/core/index.ts';
import { broadcastArb, seedArb, shapeArb } from '../core/gradcheck.ts';
import { randInt, randn, tensor } from '../runtime/ort-helpers.ts';
import { gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
const RUNS = Number(process.env.SWITCHYARD_FC_RUNS ?? 4);

/** `fc.assert` of an async property with this file's run count. */
async function check<T>(arb: fc.Arbitrary<T>, fn: (v: T) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, fn), { numRuns: RUNS });
}

/** A shape of rank >= 1 and one of its axes. */
const axisArb = shapeArb(1, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.nat(shape.length - 1)));

describe.skipIf(!gpu)(title('WebGPU vs reference: random shapes'), () => {
  it('binary ops, comparisons and where with random broadcasting', async () => {
    await check(fc.tuple(broadcastArb(3), seedArb), async ([[sa, sb, sc], seed]) => {
      await gpuCase(gpu!, (g) => {
        const a = g.input('a', 'f32', sa);
        const b = g.input('b', 'f32', sb);
        const m = less(g.input('c', 'f32', sc), 0);
        return {
          add: add(a, b), sub: sub(a, b), mul: mul(a, b), div: div(a, b), pow: pow(abs(a), b), max: maximum(a, b),
          min: minimum(a, b), eq: equal(a, b), gt: greater(a, b), where: where(m, a, b),
        };
      }, { a: randn(sa, seed, -2, 2), b: randn(sb, seed + 1, 0.5, 2), c: randn(sc, seed + 2) },
      { rtol: 1e-4, atol: 1e-5 });
    });
  });

  it('unary ops at random shapes', async () => {
    await check(fc.tuple(shapeArb(0, 3), seedArb), async ([shape, seed]) => {
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', shape);
        return {
          neg: neg(x), exp: exp(x), log: log(abs(x)), sqrt: sqrt(abs(x)), tanh: tanh(x), sigmoid: sigmoid(x),
          relu: relu(x), erf: erf(x), sin: sin(x), cos: cos(x), sign: sign(x),
        };
      }, { x: randn(shape, seed, -3, 3) }, { rtol: 2e-4, atol: 2e-6 });
    });
  });

  it('reductions, argmax, softmax, logSoftmax, cumsum, layerNorm over a random axis', async () => {
    await check(fc.tuple(axisArb, fc.boolean(), seedArb), async ([[shape, axis], keep, seed]) => {
      const last = shape[shape.length - 1];
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', shape);
        const w = g.input('w', 'f32', [last]);
        return {
          sum: reduceSum(x, axis, keep), mean: reduceMean(x, [axis], keep), max: reduceMax(x, axis, keep),
          argmax: argmax(x, axis, keep), sm: softmax(x, axis), lsm: logSoftmax(x, axis),
          cs: cumsum(x, axis, seed % 2 === 0, seed % 3 === 0), ln: layerNorm(x, w, neg(w)),
        };
      }, { x: randn(shape, seed, -2, 2), w: randn([last], seed + 1) }, { rtol: 1e-4, atol: 1e-5 });
    });
  });

  it('matmul at random sizes, batched with broadcasting', async () => {
    const dim = fc.integer({ min: 1, max: 6 });
    await check(fc.tuple(dim, dim, dim, fc.constantFrom([], [2], [2, 1]), seedArb), async ([m, k, n, batch, seed]) => {
      await gpuCase(gpu!, (g) => ({
        ab: matmul(g.input('a', 'f32', [...batch, m, k]), g.input('b', 'f32', [k, n])),
      }), { a: randn([...batch, m, k], seed), b: randn([k, n], seed + 1) }, { rtol: 1e-4, atol: 1e-5 });
    });
  });

  it('transpose, slice, pad, concat, split along a random axis', async () => {
    await check(fc.tuple(axisArb, seedArb), async ([[shape, axis], seed]) => {
      const d = shape[axis];
      const cut = seed % (d + 1);
      const perm = shape.map((_, j) => j).reverse();
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', shape);
        const pieces = split(x, axis, [cut, d - cut].filter((s) => s > 0));
        return {
          t: transpose(x, perm), s: slice(x, axis, cut % d, d), c: concat([x, neg(x)], axis),
          p: pad(x, shape.map((_, j) => (j === axis ? 1 : 0)), shape.map(() => seed % 2)),
          ...Object.fromEntries(pieces.map((p, k) => [`piece${k}`, p])),
        };
      }, { x: randn(shape, seed) });
    });
  });

  it('gather, gatherElements, scatterElementsAdd, topk, oneHot with random (negative, repeated) indices', async () => {
    await check(fc.tuple(axisArb, seedArb), async ([[shape, axis], seed]) => {
      const d = shape[axis];
      const idxShape = shape.map((s, j) => (j === axis ? 3 : s));
      const k = 1 + (seed % d);
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', shape);
        const idx = g.input('idx', 'i64', idxShape);
        const upd = g.input('upd', 'f32', idxShape);
        const [values, at] = topk(x, k, axis, seed % 2 === 0);
        return {
          g: gather(x, g.input('rows', 'i64', [4]), axis), ge: gatherElements(x, idx, axis),
          sa: scatterElementsAdd(x, idx, upd, axis), values, at, oh: oneHot(idx, d),
        };
      }, {
        x: randn(shape, seed), idx: randInt(idxShape, seed + 1, -d, d - 1), upd: randn(idxShape, seed + 2),
        rows: randInt([4], seed + 3, -d, d - 1),
      });
    });
  });

  it('splitRows/concatRows at random sizes (empty pieces) and nonzero of random masks', async () => {
    const sizesArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 });
    await check(fc.tuple(sizesArb, seedArb), async ([sizes, seed]) => {
      const rows = sizes.reduce((s, v) => s + v, 0);
      const mask = randInt([rows + 1], seed + 1, 0, 1, 'bool');
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', [rows, 2]);
        const n = g.input('sizes', 'i64', [sizes.length]);
        const pieces = splitRows(x, n).map((p, e) => mul(add(p, e), p));
        const at = nonzero(g.input('mask', 'bool', [rows + 1]));
        return { y: concatRows(n, pieces, rows), last: pieces[sizes.length - 1], at, total: reduceSum(pieces[0]) };
      }, { x: randn([rows, 2], seed), sizes: tensor(sizes, [sizes.length], 'i64'), mask });
    });
  });

  it('randomUniformLike at random shapes and seeds equals the CPU generator up to float32 rounding', async () => {
    await check(fc.tuple(shapeArb(0, 3), seedArb), async ([shape, seed]) => {
      await gpuCase(gpu!, (g) => ({ u: randomUniformLike(g.input('x', 'f32', shape), g.input('seed', 'i64', [])) }),
        { x: randn(shape, 1), seed: tensor([seed], [], 'i64') }, { rtol: 0, atol: 6e-8 });
    });
  });
});
