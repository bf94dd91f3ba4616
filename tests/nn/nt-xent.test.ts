/**
 * NT-Xent (SimCLR's contrastive loss, `ntXent` in src/nn/functional.ts) as a traced graph: its value against a
 * float64 closed form and against PyTorch, its gradient against PyTorch's and against finite differences, and its
 * refusal of an odd row count.
 */
import { describe, expect, it } from 'vitest';
import { backward, trace } from '../../src/core/index.ts';
import { ntXent } from '../../src/nn/functional.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import { gradCheck } from '../core/gradcheck.ts';

const Z = [
  [0.5, -1.0, 0.25], [1.5, 0.5, -0.5], [0.25, -0.75, 0.5], [-1.0, 1.0, 0.75], [1.25, 0.25, -0.25], [-0.5, 1.5, 1.0],
];

/**
 * Made by this script with Debian's python3-torch (/usr/bin/python3), float64:
 *
 *   import torch, torch.nn.functional as F
 *   torch.set_default_dtype(torch.float64)
 *   z = torch.tensor(Z, requires_grad=True)              # Z above
 *   for t in (0.5, 0.1):
 *       u = F.normalize(z, dim=1)
 *       sim = (u @ u.T / t).masked_fill(torch.eye(6, dtype=torch.bool), float('-inf'))
 *       loss = F.cross_entropy(sim, (torch.arange(6) + 3) % 6)
 *       g, = torch.autograd.grad(loss, z)
 *       print(t, repr(loss.item()), [round(v, 12) for v in g.flatten().tolist()])
 */
const TORCH: Record<number, { loss: number; grad: number[] }> = {
  0.5: {
    loss: 2.322297577028783,
    grad: [0.255835854139, 0.065216629473, -0.250805190387, 0.014975196739, -0.011506543222, 0.033419046994, 0.29792233022, -0.338049178457, -0.656034932795, 0.123922604652, 0.254227848289, -0.173740324849, 0.035258308779, -0.086076378402, 0.090215165494, -0.108638521249, 0.142046974923, -0.267389723009],
  },
  0.1: {
    loss: 9.985776641790297,
    grad: [0.503477573875, 0.037779453162, -0.855837335102, 6.7992403e-05, -0.000173783422, 3.0193788e-05, 1.210696300802, -2.076721697477, -3.720430696617, 0.660119532774, 1.361702195055, -0.935443549708, 0.000425955649, -0.001553376574, 0.000576401673, -0.947833419491, 0.617589244262, -1.400300576139],
  },
};

/** The definition, in float64 loops: row i's positive is row (i + N) mod 2N, its own similarity left out. */
function closedForm(z: number[][], t: number): number {
  const unit = z.map((r) => r.map((v) => v / Math.hypot(...r)));
  const n = z.length / 2;
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    const s = unit.map((r) => r.reduce((acc, v, k) => acc + v * unit[i][k], 0) / t);
    const denom = s.reduce((acc, v, k) => acc + (k === i ? 0 : Math.exp(v)), 0);
    total += Math.log(denom) - s[(i + n) % z.length];
  }
  return total / z.length;
}

/** Loss and gradient of the traced graph, run by the float64 reference interpreter. */
function traced(z: number[][], t: number): { loss: number; grad: number[] } {
  const shape = [z.length, z[0].length];
  const g = trace((gr) => {
    const x = gr.input('z', 'f32', shape);
    const loss = ntXent(x, t);
    return { loss, grad: backward(loss, [x])[0] };
  });
  const out = runReference(g, { z: { dtype: 'f32', shape, data: Float64Array.from(z.flat()) } });
  return { loss: out.loss.data[0], grad: Array.from(out.grad.data) };
}

describe('ntXent', () => {
  for (const t of [0.5, 0.1]) {
    it(`temperature ${t}: equals the float64 closed form and PyTorch's value and gradient`, () => {
      const r = traced(Z, t);
      // The temperature is an f32 constant of the graph (0.1 is 0.100000001490116...): agreement to ~1e-8 relative.
      const digits = Math.fround(t) === t ? 10 : 6;
      expect(r.loss).toBeCloseTo(closedForm(Z, Math.fround(t)), 10);
      expect(r.loss).toBeCloseTo(TORCH[t].loss, digits);
      r.grad.forEach((v, i) => expect(v).toBeCloseTo(TORCH[t].grad[i], digits));
    });
  }

  it('is ln(2N - 1) when every view is the same vector (positives and negatives alike)', () => {
    const same = Array.from({ length: 8 }, () => [0.3, -0.2, 0.9]);
    expect(traced(same, 0.5).loss).toBeCloseTo(Math.log(7), 10);
  });

  it('gradient matches central finite differences (random rows, two temperatures)', () => {
    gradCheck((z) => ntXent(z, 0.5), [{ shape: [4, 3] }], { seed: 3 });
    gradCheck((z) => ntXent(z, 0.2), [{ shape: [6, 5] }], { seed: 9, tol: 1e-5 });
  });

  it('refuses an odd number of rows and a temperature <= 0', () => {
    const run = (rows: number, t: number) => trace((g) => ({ y: ntXent(g.input('z', 'f32', [rows, 3]), t) }));
    expect(() => run(5, 0.5)).toThrow(/ntXent: 5 rows/);
    expect(() => run(4, 0)).toThrow(/temperature 0/);
  });
});
