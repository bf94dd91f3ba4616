import { type Graph, Tensor, currentGraph, withScope } from '../core/graph.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { Initializer } from './init.ts';

/**
 * A named, trainable (or frozen) array of f32 numbers owned by the host. Inside a trace, {@link Parameter.t}
 * gives the tensor standing for it; the numbers are fed to each run and updated ones fetched back.
 */
export class Parameter {
  /** PyTorch state_dict name, set when the owning module tree is named (`blocks.0.attn.qkv.weight`). */
  name = '';
  data: Float32Array;
  readonly shape: number[];
  readonly init: Initializer;
  /** false: a buffer (no gradient, no optimizer state), e.g. running statistics. */
  readonly trainable: boolean;
  /** false: exclude from weight decay (biases and norm gains, as in common AdamW practice). */
  readonly decay: boolean;

  constructor(shape: number[], init: Initializer, opts: { trainable?: boolean; decay?: boolean } = {}) {
    this.shape = shape;
    this.init = init;
    this.trainable = opts.trainable ?? true;
    this.decay = opts.decay ?? shape.length >= 2;
    this.data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  }

  /** The tensor bound to this parameter in the current trace (declared as a graph input on first use). */
  get t(): Tensor {
    const g = currentGraph();
    for (let cur: Graph | null = g; cur; cur = cur.parent) {
      const bound = bindings.get(cur)?.get(this);
      if (bound) return bound;
    }
    let root = g;
    while (root.parent) root = root.parent;
    if (!this.name) throw new SwitchyardError('E_MODULE', 'a parameter was used before its module tree was named', 'call model.named() or use a model created through compile');
    const t = root.input(this.name, 'f32', this.shape);
    bind(root, this, t);
    return t;
  }
}

const bindings = new WeakMap<Graph, Map<Parameter, Tensor>>();

/** Makes `t` stand for parameter `p` in graph `g` (and graphs nested in it). */
export function bind(g: Graph, p: Parameter, t: Tensor): void {
  let m = bindings.get(g);
  if (!m) bindings.set(g, (m = new Map()));
  m.set(p, t);
}

/**
 * Base class of every layer. Parameters and sub-modules are discovered from the object's own properties in
 * the order they were assigned (arrays of modules become `name.0`, `name.1`, ...), as in PyTorch, so
 * state_dict names match: `fc1.weight`, `blocks.0.attn.qkv.bias`.
 *
 * @example
 * class Net extends Module {
 *   fc1 = new Linear(4, 8);
 *   fc2 = new Linear(8, 3);
 *   forward(x: Tensor) { return this.fc2.call(relu(this.fc1.call(x))); }
 * }
 * const net = new Net().named().init(42);
 */
export abstract class Module {
  /** Name within the parent (the key it was assigned under); '' for the root. */
  localName = '';

  /** The computation; call modules through {@link Module.call} so errors name the module path. */
  abstract forward(...args: Tensor[]): Tensor;

  /** Runs `forward` with this module's name on the scope stack. */
  call(...args: Tensor[]): Tensor {
    return withScope(this.localName, () => this.forward(...args));
  }

  /** Direct children as [name, module] pairs. */
  children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v) && v.length && v.every((m) => m instanceof Module)) v.forEach((m: Module, i) => out.push([`${k}.${i}`, m]));
    }
    return out;
  }

  /** Own parameters (not children's) as [name, parameter] pairs. */
  ownParameters(): [string, Parameter][] {
    return Object.entries(this).filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** All parameters with their full state_dict names, depth-first in assignment order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this.ownParameters().map(([k, p]) => [prefix + k, p]);
    for (const [k, m] of this.children()) out.push(...m.namedParameters(`${prefix}${k}.`));
    return out;
  }

  /** All parameters (assigns names first). */
  parameters(): Parameter[] {
    return this.named().namedParameters().map(([, p]) => p);
  }

  /** Assigns state_dict names to every parameter and local names to every sub-module; returns this. */
  named(): this {
    for (const [n, p] of this.namedParameters()) p.name = n;
    const walk = (m: Module) => {
      for (const [k, c] of m.children()) {
        c.localName = k;
        walk(c);
      }
    };
    walk(this);
    return this;
  }

  /** Fills every parameter from its initializer with a generator seeded by `seed`; returns this. */
  init(seed: number): this {
    const rng = new Rng(seed);
    for (const [, p] of this.named().namedParameters()) p.data = p.init(rng.fork(), p.shape);
    return this;
  }

  /** Total number of parameter values (trainable only unless `all`). */
  parameterCount(all = false): number {
    return this.parameters().filter((p) => all || p.trainable).reduce((a, p) => a + p.data.length, 0);
  }

  /** name -> Float32Array of all parameters (views, not copies). */
  stateDict(): Map<string, { shape: number[]; data: Float32Array }> {
    return new Map(this.named().namedParameters().map(([n, p]) => [n, { shape: p.shape, data: p.data }]));
  }

  /**
   * Loads values by name, strictly: every parameter must be present with the same shape, and the state dict
   * may hold nothing else (an extra tensor means it was written by a different model, e.g. an untied head).
   * Everything is checked before anything is assigned, so a rejected state dict leaves the model as it was.
   */
  loadStateDict(sd: Map<string, { shape: number[]; data: Float32Array }>, source = 'state dict'): void {
    const own = this.named().namedParameters();
    const names = new Set(own.map(([n]) => n));
    const extra = [...sd.keys()].find((n) => !names.has(n));
    if (extra !== undefined) throw new SwitchyardError('E_CHECKPOINT', `${source}: unexpected parameter '${extra}', which this model does not have`, 'the checkpoint was written by a different model configuration');
    for (const [n, p] of own) {
      const v = sd.get(n);
      if (!v) throw new SwitchyardError('E_CHECKPOINT', `${source}: missing parameter '${n}'`, 'the checkpoint was written by a different model configuration');
      if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
        throw new SwitchyardError('E_CHECKPOINT', `${source}: parameter '${n}' has shape [${v.shape}], the model expects [${p.shape}]`, 'the checkpoint was written by a different model configuration');
      }
    }
    for (const [n, p] of own) p.data = Float32Array.from(sd.get(n)!.data);
  }
}

/** Runs modules one after the other. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  override children(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.call(h), x);
  }
}

export { Tensor };
