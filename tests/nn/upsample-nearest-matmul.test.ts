/**
 * upsampleNearest2d computes small maps as two products with 0/1 matrices (ONNX Runtime's Expand over size-1 axes
 * was 8x slower, forward + backward, on the tiny U-Net's upsampling) and large ones with Expand: both paths give
 * the same blocks and the same gradient (block sums), through ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import { backward, mul, reduceSum, trace } from '../../src/core/index.ts';
import { upsampleNearest2d } from '../../src/nn/spatial.ts';
import { compile } from '../../src/runtime/session.ts';

/** Runs upsampling of x [1, 2, h, w] by `s` and its gradient against weights `w`, through ORT. */
async function upsampleOnOrt(h: number, w: number, s: number) {
  const graph = trace((g) => {
    const x = g.input('x', 'f32', [1, 2, h, w]);
    const wt = g.input('w', 'f32', [1, 2, h * s, w * s]);
    const y = upsampleNearest2d(x, s);
    const [gx] = backward(reduceSum(mul(y, wt)), [x]);
    return { y, gx };
  });
  const run = await compile(graph, { threads: 1 });
  const x = Float32Array.from({ length: 2 * h * w }, (_, i) => i + 1);
  const wt = Float32Array.from({ length: 2 * h * w * s * s }, (_, i) => (i % 7) - 3);
  const out = await run.run({
    x: { dtype: 'f32', shape: [1, 2, h, w], data: x }, w: { dtype: 'f32', shape: [1, 2, h * s, w * s], data: wt },
  });
  await run.release();
  // The forward alone (the backward of the loss's reduceSum has an Expand of its own).
  const forward = await compile(trace((g) => ({ y: upsampleNearest2d(g.input('x', 'f32', [1, 2, h, w]), s) })));
  const ops = new Set(forward.model.graph.nodes.map((n) => n.opType));
  await forward.release();
  // The reference: output (c, i, j) is input (c, i / s, j / s); the gradient of an input pixel sums its block.
  const [H, W] = [h * s, w * s];
  const y = Array.from({ length: 2 * H * W }, (_, k) => {
    const [c, i, j] = [Math.floor(k / (H * W)), Math.floor(k / W) % H, k % W];
    return x[c * h * w + Math.floor(i / s) * w + Math.floor(j / s)];
  });
  const gx = new Array<number>(2 * h * w).fill(0);
  y.forEach((_, k) => {
    const [c, i, j] = [Math.floor(k / (H * W)), Math.floor(k / W) % H, k % W];
    gx[c * h * w + Math.floor(i / s) * w + Math.floor(j / s)] += wt[k];
  });
  return { y: [...out.y.data as Float32Array], gx: [...out.gx.data as Float32Array], wantY: y, wantGx: gx, ops };
}

describe('upsampleNearest2d: 0/1 products for small maps, Expand for large ones', () => {
  it('computes a 14 x 14 -> 28 x 28 map (the tiny U-Net\'s) exactly, as MatMuls with no Expand', async () => {
    const r = await upsampleOnOrt(14, 14, 2);
    expect(r.y).toEqual(r.wantY);
    expect(r.gx).toEqual(r.wantGx);
    expect(r.ops.has('MatMul')).toBe(true);
    expect(r.ops.has('Expand')).toBe(false);
  });

  it('computes a map wider than 64 after upsampling with Expand, the same blocks and gradient', async () => {
    const r = await upsampleOnOrt(3, 33, 2);
    expect(r.y).toEqual(r.wantY);
    expect(r.gx).toEqual(r.wantGx);
    expect(r.ops.has('Expand')).toBe(true);
  });

  it('repeats by 3 along both axes of a non-square map', async () => {
    const r = await upsampleOnOrt(4, 5, 3);
    expect(r.y).toEqual(r.wantY);
    expect(r.gx).toEqual(r.wantGx);
  });
});
