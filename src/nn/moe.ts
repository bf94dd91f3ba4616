import type { Tensor } from '../core/graph.ts';
import {
  add, cast, concat, concatRows, cumsum, div, exp, fullLike, gather, gatherElements, less, log, logicalNot, matmul, mul, neg,
  oneHot, reduceMax, reduceMean, reduceSum, reshape, scatterElementsAdd, scatterNDAdd, sigmoid, sign, slice, softmax, split, splitRows,
  square, stopGradient, sub, topk, transpose, unsqueeze, where, zerosLike, expand, scalar,
} from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { addAuxLoss, addMetric, setBufferUpdate } from './extras.ts';
import { activation, type Activation, Linear } from './layers.ts';
import { kaimingUniform, zeros } from './init.ts';
import { currentMode } from './mode.ts';
import { Module, Parameter } from './module.ts';

/** Options of {@link MoE}. */
export interface MoEOptions {
  experts: number;
  topK: number;
  /** Hidden size of each expert MLP. */
  hidden: number;
  activation?: Activation;
  /** Router scores: softmax over experts (Switch/Mixtral) or independent sigmoids (DeepSeek-V3). */
  scoring?: 'softmax' | 'sigmoid';
  /** `dropless` (default): every token reaches its k experts. `capacity`: at most capacityFactor*N*k/E tokens per expert, overflow dropped. */
  dispatch?: 'dropless' | 'capacity';
  capacityFactor?: number;
  /** Switch/GShard load-balancing loss coefficient (0 = off). */
  auxLoss?: number;
  /** Router z-loss coefficient (0 = off). */
  zLoss?: number;
  /** Auxiliary-loss-free balancing: per-expert routing bias updated by this rate each step (0 = off). */
  biasUpdateRate?: number;
  /** Shared experts every token goes through (hidden size each = `hidden`). */
  sharedExperts?: number;
}

/**
 * Experts as stacked weights (`w1` [E, hidden, dim], `b1` [E, hidden], `w2` [E, dim, hidden], `b2` [E, dim]) so
 * dropless dispatch can slice one expert and capacity dispatch can run all experts as one batched matmul.
 */
export class Experts extends Module {
  readonly w1: Parameter;
  readonly b1: Parameter;
  readonly w2: Parameter;
  readonly b2: Parameter;
  constructor(readonly count: number, readonly dim: number, readonly hidden: number, readonly act: Activation = 'gelu') {
    super();
    this.w1 = new Parameter([count, hidden, dim], kaimingUniform(dim));
    this.b1 = new Parameter([count, hidden], kaimingUniform(dim), { decay: false });
    this.w2 = new Parameter([count, dim, hidden], kaimingUniform(hidden));
    this.b2 = new Parameter([count, dim], kaimingUniform(hidden), { decay: false });
  }
  private readonly pieces = new WeakMap<Tensor, Tensor[]>();

  /** Expert `e`'s slice of a stacked parameter; one split per parameter and trace, whose gradient is one concat. */
  private piece(p: Parameter, e: number, shape: number[]): Tensor {
    const t = p.t;
    let parts = this.pieces.get(t);
    if (!parts) this.pieces.set(t, (parts = split(t, 0, Array(this.count).fill(1))));
    return reshape(parts[e], shape);
  }

  /** Expert `e` applied to rows x [n, dim]. */
  one(e: number, x: Tensor): Tensor {
    const pick = (p: Parameter, shape: number[]) => this.piece(p, e, shape);
    const h = activation(this.act)(add(matmul(x, transpose(pick(this.w1, [this.hidden, this.dim]))), pick(this.b1, [this.hidden])));
    return add(matmul(h, transpose(pick(this.w2, [this.dim, this.hidden]))), pick(this.b2, [this.dim]));
  }
  /** All experts at once on x [E, C, dim]. */
  forward(x: Tensor): Tensor {
    const h = activation(this.act)(add(matmul(x, transpose(this.w1.t, [0, 2, 1])), unsqueeze(this.b1.t, 1)));
    return add(matmul(h, transpose(this.w2.t, [0, 2, 1])), unsqueeze(this.b2.t, 1));
  }
}

/**
 * A Mixture-of-Experts feed-forward layer: router -> scores -> top-k experts per token with renormalised
 * gates -> experts -> weighted sum. Dropless dispatch puts the token rows in expert order (one gather), hands
 * each expert its run of rows (splitRows), runs one matmul per expert and gathers the results back, so compute
 * grows with k, not with the number of experts; an expert that receives no tokens runs on an empty batch.
 * Reports telemetry (tokens per expert, dropped tokens, router entropy, aux-loss values) through nn/extras.
 */
export class MoE extends Module {
  readonly router: Linear;
  readonly experts: Experts;
  readonly shared: Experts | undefined;
  readonly routerBias: Parameter | undefined;
  readonly o: Required<MoEOptions>;

  constructor(readonly dim: number, opts: MoEOptions) {
    super();
    this.o = { activation: 'gelu', scoring: 'softmax', dispatch: 'dropless', capacityFactor: 1.25, auxLoss: 0.01, zLoss: 0, biasUpdateRate: 0, sharedExperts: 0, ...opts };
    const { experts, topK } = this.o;
    if (!(Number.isInteger(topK) && topK >= 1 && topK <= experts)) throw new SwitchyardError('E_CONFIG', `top-k ${topK} must be between 1 and the number of experts (${experts})`, 'e.g. --experts 8 --top-k 2');
    this.router = new Linear(dim, experts, { bias: false });
    this.experts = new Experts(experts, dim, this.o.hidden, this.o.activation);
    this.shared = this.o.sharedExperts > 0 ? new Experts(this.o.sharedExperts, dim, this.o.hidden, this.o.activation) : undefined;
    this.routerBias = this.o.biasUpdateRate > 0 ? new Parameter([experts], zeros, { trainable: false }) : undefined;
  }

  forward(x: Tensor): Tensor {
    const d = this.dim;
    const E = this.o.experts;
    const k = this.o.topK;
    const xf = reshape(x, [-1, d]);
    const logits = this.router.call(xf);
    const probs = this.o.scoring === 'softmax' ? softmax(logits, -1) : sigmoid(logits);
    const select = this.routerBias ? add(probs, this.routerBias.t) : probs;
    const [, idx] = topk(select, k, -1);
    let gates = gatherElements(probs, idx, -1);
    gates = div(gates, reduceSum(gates, -1, true));
    const assigned = reduceSum(oneHot(idx, E), 1); // [N, E] 0/1
    const load = reduceSum(assigned, 0); // tokens per expert [E]
    let y = this.o.dispatch === 'capacity' ? this.capacityDispatch(xf, idx, gates) : this.droplessDispatch(xf, idx, gates, assigned, load);
    if (this.shared) for (let s = 0; s < this.shared.count; s++) y = add(y, this.shared.one(s, xf));
    this.report(logits, probs, assigned, load);
    return reshape(y, [...x.shape]);
  }

  /**
   * Sorts the N*k assignments by expert with index arithmetic (no sort op): assignment (token n, slot j) goes to
   * row `start[e] + (tokens before n routed to e)`. One gather puts the token rows in that order, one splitRows
   * hands each expert its contiguous run (possibly empty), one concatRows joins the results, and one gather
   * brings them back to [N, k, d] for the gate-weighted sum. The backward pass mirrors it: one scatter per gather.
   */
  private droplessDispatch(xf: Tensor, idx: Tensor, gates: Tensor, assigned: Tensor, load: Tensor): Tensor {
    const k = this.o.topK;
    const dest = cast(reshape(gatherElements(add(cumsum(assigned, 0, true), cumsum(load, 0, true)), idx, -1), [-1]), 'i64'); // [N*k]
    const token = reshape(cumsum(fullLike(gates, 1), 0, true), [-1]); // token index of each assignment, as f32
    const source = cast(scatterElementsAdd(zerosLike(token), dest, token, 0), 'i64'); // token of each sorted row
    const xs = gather(xf, source, 0); // [N*k, d], expert-contiguous
    const sizes = cast(load, 'i64');
    const ys = concatRows(sizes, splitRows(xs, sizes).map((rows, e) => this.experts.one(e, rows)), xs.shape[0]);
    const back = reshape(gather(ys, dest, 0), [-1, k, this.dim]); // [N, k, d] in token order
    return reduceSum(mul(back, unsqueeze(gates, -1)), 1);
  }

  private capacityDispatch(xf: Tensor, idx: Tensor, gates: Tensor): Tensor {
    const { experts: E, topK: k } = this.o;
    const n = xf.shape[0];
    if (typeof n !== 'number') throw new SwitchyardError('E_SHAPE', `capacity dispatch needs a static token count, got ${n}`, 'use a fixed batch size, or dropless dispatch');
    const C = Math.max(1, Math.ceil((this.o.capacityFactor * n * k) / E));
    // Slot order: all tokens' first choices, then second choices (first choices win capacity).
    const flatIdx = reshape(transpose(idx), [-1]); // [k*N]
    const oh = oneHot(flatIdx, E); // [k*N, E]
    const pos = reduceSum(mul(cumsum(oh, 0, true), oh), -1); // position within its expert
    const kept = less(pos, C);
    const slot = where(kept, add(mul(flatIdx, C), cast(pos, 'i64')), E * C); // dropped -> spare row
    const xs = concat(Array.from({ length: k }, () => xf), 0); // [k*N, d]
    const d = this.dim;
    const buffer = scatterNDAdd(expand(scalar(0), [E * C + 1, d]), unsqueeze(slot, -1), xs);
    const ye = this.experts.call(reshape(slice(buffer, 0, 0, E * C), [E, C, d]));
    const yflat = concat([reshape(ye, [E * C, d]), expand(scalar(0), [1, d])], 0);
    const weighted = mul(gather(yflat, slot, 0), unsqueeze(reshape(transpose(gates), [-1]), -1));
    addMetric('dropped_tokens', reduceSum(cast(logicalNot(kept), 'f32')));
    return reduceSum(reshape(weighted, [k, n, d]), 0);
  }

  private report(logits: Tensor, probs: Tensor, assigned: Tensor, load: Tensor): void {
    const E = this.o.experts;
    const fraction = stopGradient(div(reduceMean(assigned, 0), this.o.topK)); // share of assignments per expert
    // Sigmoid scores are normalised per token first (as DeepSeek-V3 does), so P sums to 1 like softmax's.
    const p = this.o.scoring === 'softmax' ? probs : div(probs, reduceSum(probs, -1, true));
    const meanProb = reduceMean(p, 0);
    if (this.o.auxLoss > 0) addAuxLoss('aux_loss', mul(reduceSum(mul(fraction, meanProb)), E * this.o.auxLoss));
    if (this.o.zLoss > 0) {
      const m = reduceMax(logits, -1, true);
      const lse = add(log(reduceSum(exp(sub(logits, m)), -1)), reshape(m, [-1]));
      addAuxLoss('z_loss', mul(reduceMean(square(lse)), this.o.zLoss));
    }
    addMetric('tokens_per_expert', load);
    addMetric('router_entropy', neg(reduceMean(reduceSum(mul(p, log(add(p, 1e-9))), -1))));
    if (this.routerBias && currentMode().training) {
      const err = sub(reduceMean(load), load); // positive: under-loaded -> raise its bias
      setBufferUpdate(this.routerBias, add(this.routerBias.t, mul(sign(err), this.o.biasUpdateRate)));
    }
  }
}
