import type { Tensor } from '../core/graph.ts';
import { add, div, minimum, mul, pow, reduceSum, scalar, sqrt, square, sub } from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';

/** What an optimizer sees for one parameter inside the step graph. */
export interface UpdateInput {
  param: Tensor;
  grad: Tensor;
  /** This parameter's optimizer state tensors, in the order of {@link Optimizer.stateNames}. */
  state: Tensor[];
  /** Learning rate for this step (f32 scalar, fed per step). */
  lr: Tensor;
  /** 1-based count of updates including this one (f32 scalar). */
  step: Tensor;
  /** Whether weight decay applies to this parameter. */
  decay: boolean;
}

/**
 * An optimizer compiled into the step graph: per parameter it names its state tensors (zero-initialised,
 * saved as `<param>.<state>` in optimizer.safetensors) and writes the update in ops.
 */
export interface Optimizer {
  readonly name: string;
  readonly stateNames: string[];
  /** Hyper-parameters recorded in config.json. */
  readonly config: Record<string, number | boolean | string>;
  update(u: UpdateInput): { param: Tensor; state: Tensor[] };
}

/** Options of {@link sgd}. */
export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/**
 * SGD with optional (Nesterov) momentum and L2 weight decay, with PyTorch's update rule.
 *
 * @example
 * const opt = sgd({ momentum: 0.9 });
 */
export function sgd(opts: SgdOptions = {}): Optimizer {
  const momentum = opts.momentum ?? 0;
  const wd = opts.weightDecay ?? 0;
  const nesterov = opts.nesterov ?? false;
  if (momentum < 0 || momentum >= 1) throw new SwitchyardError('E_CONFIG', `momentum ${momentum} is outside [0, 1)`, 'use e.g. 0.9');
  return {
    name: 'sgd',
    stateNames: momentum > 0 ? ['momentum_buffer'] : [],
    config: { momentum, nesterov, weightDecay: wd },
    update({ param, grad, state, lr, decay }) {
      let g = wd > 0 && decay ? add(grad, mul(param, wd)) : grad;
      if (momentum === 0) return { param: sub(param, mul(lr, g)), state: [] };
      const buf = add(mul(state[0], momentum), g);
      g = nesterov ? add(g, mul(buf, momentum)) : buf;
      return { param: sub(param, mul(lr, g)), state: [buf] };
    },
  };
}

/** Options of {@link adamw}. */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * AdamW (decoupled weight decay, bias-corrected moments), matching torch.optim.AdamW.
 *
 * @example
 * const opt = adamw({ weightDecay: 0.01 });
 */
export function adamw(opts: AdamWOptions = {}): Optimizer {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  return {
    name: 'adamw',
    stateNames: ['exp_avg', 'exp_avg_sq'],
    config: { beta1: b1, beta2: b2, eps, weightDecay: wd },
    update({ param, grad, state: [m0, v0], lr, step, decay }) {
      // Written to touch each full-size tensor as few times as possible (ORT runs every op as its own pass):
      // bias corrections are folded into one scalar step size and the epsilon, which is algebraically the same
      // update as torch.optim.AdamW.
      const m = add(mul(m0, b1), mul(grad, 1 - b1));
      const v = add(mul(v0, b2), mul(mul(grad, grad), 1 - b2));
      const sc2 = sqrt(sub(1, pow(scalar(b2), step)));
      const stepSize = div(mul(lr, sc2), sub(1, pow(scalar(b1), step)));
      const ratio = div(m, add(sqrt(v), mul(sc2, eps)));
      const p = wd > 0 && decay ? mul(param, sub(1, mul(lr, wd))) : param;
      return { param: sub(p, mul(ratio, stepSize)), state: [m, v] };
    },
  };
}

/**
 * Global-norm gradient clipping in the graph: scales all gradients by `min(1, maxNorm / (norm + 1e-6))`.
 * Returns the clipped gradients and the pre-clipping norm.
 */
export function clipGradNorm(grads: Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const norm = globalNorm(grads);
  const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, scale)), norm };
}

/** sqrt of the sum of squares of every gradient. */
export function globalNorm(grads: Tensor[]): Tensor {
  return sqrt(grads.map((g) => reduceSum(square(g))).reduce((a, b) => add(a, b)));
}
