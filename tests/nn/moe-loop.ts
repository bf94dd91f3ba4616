/** A per-token, float64 loop implementation of the MoE layer: the reference the MoE tests compare against. */
import type { Experts, MoE } from '../../src/nn/moe.ts';
import { erf } from '../../src/runtime/reference/index.ts';

const ACT = {
  gelu: (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  relu: (v: number) => Math.max(0, v),
  silu: (v: number) => v / (1 + Math.exp(-v)),
  'gelu-tanh': (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
};

/** Expert `e` of `ex` on one row: `W2 act(W1 x + b1) + b2`. */
export function expertRow(ex: Experts, e: number, x: ArrayLike<number>): number[] {
  const { dim, hidden } = ex;
  const act = ACT[ex.act];
  const h = Array.from({ length: hidden }, (_, j) => {
    let a = ex.b1.data[e * hidden + j];
    for (let c = 0; c < dim; c++) a += ex.w1.data[(e * hidden + j) * dim + c] * x[c];
    return act(a);
  });
  return Array.from({ length: dim }, (_, o) => {
    let a = ex.b2.data[e * dim + o];
    for (let j = 0; j < hidden; j++) a += ex.w2.data[(e * dim + o) * hidden + j] * h[j];
    return a;
  });
}

/** What {@link moeLoop} computes per layer call. */
export interface MoELoopResult {
  y: Float64Array;
  logits: number[][];
  probs: number[][];
  /** Chosen experts per token, best first. */
  idx: number[][];
  /** Renormalised gates per token, in the order of `idx`. */
  gates: number[][];
  /** Assignments per expert (before any capacity drop). */
  load: number[];
  /** Assignments dropped by capacity. */
  dropped: number;
  /** Per token, per choice: was the assignment kept. */
  kept: boolean[][];
  /** Smallest gap between the k-th and (k+1)-th selection score over all tokens (how far from a routing tie). */
  gap: number;
}

/**
 * For each token: router logits, probabilities (softmax or sigmoid), top-k by probability + routing bias,
 * gates = chosen probabilities renormalised to sum to 1, output = sum of gate x expert MLP (+ shared experts).
 * `capacity`: slots per expert, filled by all tokens' first choices in token order, then second choices, ...
 * (`'tokenOrder'` instead fills them token by token, for contrast); an assignment that finds its expert full is dropped.
 */
export function moeLoop(moe: MoE, x: ArrayLike<number>, n: number, o: { capacity?: number; policy?: 'choiceMajor' | 'tokenOrder'; bias?: ArrayLike<number> } = {}): MoELoopResult {
  const d = moe.dim;
  const { experts: E, topK: k, scoring } = moe.o;
  const R = moe.router.weight.data;
  const bias = o.bias ?? moe.routerBias?.data ?? new Float32Array(E);
  const y = new Float64Array(n * d);
  const res: MoELoopResult = { y, logits: [], probs: [], idx: [], gates: [], load: new Array(E).fill(0), dropped: 0, kept: [], gap: Infinity };
  const rows = Array.from({ length: n }, (_, t) => Array.from({ length: d }, (_, c) => x[t * d + c]));
  for (let t = 0; t < n; t++) {
    const logits = Array.from({ length: E }, (_, e) => rows[t].reduce((a, v, c) => a + v * R[e * d + c], 0));
    let probs: number[];
    if (scoring === 'softmax') {
      const m = Math.max(...logits);
      const ex = logits.map((l) => Math.exp(l - m));
      const z = ex.reduce((a, b) => a + b, 0);
      probs = ex.map((v) => v / z);
    } else probs = logits.map((l) => 1 / (1 + Math.exp(-l)));
    const select = probs.map((p, e) => p + bias[e]);
    const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => select[b] - select[a] || a - b);
    const idx = order.slice(0, k);
    if (k < E) res.gap = Math.min(res.gap, select[order[k - 1]] - select[order[k]]);
    const sum = idx.reduce((a, e) => a + probs[e], 0);
    res.logits.push(logits);
    res.probs.push(probs);
    res.idx.push(idx);
    res.gates.push(idx.map((e) => probs[e] / sum));
    for (const e of idx) res.load[e]++;
    res.kept.push(idx.map(() => true));
  }
  if (o.capacity !== undefined) {
    const used = new Array(E).fill(0);
    const visit = (t: number, j: number) => {
      const e = res.idx[t][j];
      if (used[e] < o.capacity!) used[e]++;
      else {
        res.kept[t][j] = false;
        res.dropped++;
      }
    };
    if (o.policy === 'tokenOrder') for (let t = 0; t < n; t++) for (let j = 0; j < k; j++) visit(t, j);
    else for (let j = 0; j < k; j++) for (let t = 0; t < n; t++) visit(t, j);
  }
  for (let t = 0; t < n; t++) {
    res.idx[t].forEach((e, j) => {
      if (!res.kept[t][j]) return;
      const out = expertRow(moe.experts, e, rows[t]);
      for (let c = 0; c < d; c++) y[t * d + c] += res.gates[t][j] * out[c];
    });
    if (moe.shared) {
      for (let s = 0; s < moe.shared.count; s++) {
        const out = expertRow(moe.shared, s, rows[t]);
        for (let c = 0; c < d; c++) y[t * d + c] += out[c];
      }
    }
  }
  return res;
}
