import { type Tensor, currentScope } from '../core/graph.ts';
import { add, gather, layerNorm, matmul, relu, transpose } from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { dropout, gelu, geluTanh, rmsNorm, silu } from './functional.ts';
import { type Initializer, kaimingUniform, normal, ones, zeros } from './init.ts';
import { Module, Parameter } from './module.ts';

/** `y = x W^T + b` with PyTorch's layout (`weight` is [out, in]) and default initialisation. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = new Parameter([outFeatures, inFeatures], kaimingUniform(inFeatures));
    this.bias = opts.bias === false ? undefined : new Parameter([outFeatures], kaimingUniform(inFeatures), { decay: false });
  }
  forward(x: Tensor): Tensor {
    const last = x.shape[x.rank - 1];
    if (last !== this.inFeatures) {
      throw new SwitchyardError('E_SHAPE', `${currentScope() || this.localName || 'linear'}: input has ${last} features, the layer expects ${this.inFeatures} (input ${x})`, 'check the previous layer\'s output size or the data\'s feature count');
    }
    const y = matmul(x, transpose(this.weight.t));
    return this.bias ? add(y, this.bias.t) : y;
  }
}

/** A lookup table of `num` vectors of size `dim`, indexed by i64 ids. */
export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly num: number, readonly dim: number, opts: { init?: Initializer } = {}) {
    super();
    this.weight = new Parameter([num, dim], opts.init ?? normal(1));
  }
  forward(ids: Tensor): Tensor {
    return gather(this.weight.t, ids, 0);
  }
}

/** Layer normalisation over the last axis with learnable gain and bias. */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = new Parameter([dim], ones, { decay: false });
    this.bias = new Parameter([dim], zeros, { decay: false });
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight.t, this.bias.t, this.eps);
  }
}

/** RMS normalisation over the last axis with a learnable gain. */
export class RMSNorm extends Module {
  readonly weight: Parameter;
  constructor(readonly dim: number, readonly eps = 1e-6) {
    super();
    this.weight = new Parameter([dim], ones, { decay: false });
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight.t, this.eps);
  }
}

/** Inverted dropout with probability `p` (training mode only). */
export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw new SwitchyardError('E_CONFIG', `dropout probability ${p} is outside [0, 1)`, 'use e.g. 0.1');
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p);
  }
}

/** Names of the activation functions modules accept (`gelu` exact, `gelu-tanh` GPT-2's approximation). */
export type Activation = 'relu' | 'gelu' | 'gelu-tanh' | 'silu';
const ACTIVATIONS: Record<Activation, (x: Tensor) => Tensor> = { relu, gelu, 'gelu-tanh': geluTanh, silu };

/** Looks up an activation by name. */
export function activation(name: Activation): (x: Tensor) => Tensor {
  const f = ACTIVATIONS[name];
  if (!f) throw new SwitchyardError('E_CONFIG', `unknown activation '${name}'`, `use one of ${Object.keys(ACTIVATIONS).join(', ')}`);
  return f;
}

/** An activation as a module (for {@link Sequential}). */
export class Act extends Module {
  constructor(readonly kind: Activation) {
    super();
  }
  forward(x: Tensor): Tensor {
    return activation(this.kind)(x);
  }
}

/**
 * A multi-layer perceptron: Linear -> activation -> dropout for every hidden size, then a final Linear.
 *
 * @example
 * const mlp = new MLP([784, 1024, 10], { activation: 'relu' }).init(0);
 */
export class MLP extends Module {
  readonly layers: Linear[];
  readonly act: (x: Tensor) => Tensor;
  constructor(readonly sizes: number[], readonly opts: { activation?: Activation; dropout?: number } = {}) {
    super();
    if (sizes.length < 2) throw new SwitchyardError('E_CONFIG', `an MLP needs at least input and output sizes, got [${sizes}]`, 'e.g. [784, 1024, 10]');
    this.layers = sizes.slice(1).map((n, i) => new Linear(sizes[i], n));
    this.act = activation(opts.activation ?? 'relu');
  }
  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((l, i) => {
      h = l.call(h);
      if (i < this.layers.length - 1) h = dropout(this.act(h), this.opts.dropout ?? 0);
    });
    return h;
  }
}
