import { SwitchyardError } from '../util/errors.ts';
import type { DType } from './dtype.ts';
import { formatShape, type Shape } from './shape.ts';

/** Op attributes: plain data (numbers, arrays, strings, typed arrays, sub-graphs). */
export type Attrs = Record<string, unknown>;

/** One application of an op. `scope` is the module path active when it was traced (`blocks.0.attn`). */
export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: Tensor[];
  readonly attrs: Attrs;
  readonly outputs: Tensor[];
  readonly scope: string;
}

/** Data of a constant: f32 values in a Float32Array, i64 in a BigInt64Array, bool in a Uint8Array. */
export type TensorData = Float32Array | BigInt64Array | Uint8Array;

/**
 * A traced value: the handle every op takes and returns. It holds no numbers, only its dtype, shape and
 * the node that produces it (null for graph inputs).
 */
export class Tensor {
  readonly graph: Graph;
  readonly id: number;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly node: Node | null;
  readonly index: number;
  /** Name of a graph input (e.g. a parameter's state_dict name). */
  name: string | undefined;

  /** @internal created by {@link Graph} only. */
  constructor(graph: Graph, id: number, dtype: DType, shape: Shape, node: Node | null, index: number, name?: string) {
    this.graph = graph;
    this.id = id;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.node = node;
    this.index = index;
    this.name = name;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** `f32[batch, 10]` */
  toString(): string {
    return `${this.dtype}${formatShape(this.shape)}`;
  }
}

/**
 * A graph of nodes in creation (= topological) order. A graph made inside another (a loop body) may use the
 * outer graph's tensors: they are captured as inputs of the inner graph and resolved by name when run.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  outputs: Tensor[] = [];
  outputNames: string[] = [];
  readonly parent: Graph | null;
  /** outer tensor -> the inner input standing for it */
  readonly captures = new Map<Tensor, Tensor>();
  private nextId = 0;
  private readonly scalarCache = new Map<string, Tensor>();

  constructor(parent: Graph | null = null) {
    this.parent = parent;
  }

  /** Declares a named graph input (a feed: data, a parameter, optimizer state). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.inputs.some((t) => t.name === name)) {
      throw new SwitchyardError('E_GRAPH', `graph input '${name}' is declared twice`, 'give every input a unique name');
    }
    const t = new Tensor(this, this.nextId++, dtype, shape, null, 0, name);
    this.inputs.push(t);
    return t;
  }

  /** Appends a node; `types` are the already-checked output types. */
  addNode(op: string, inputs: Tensor[], attrs: Attrs, types: { dtype: DType; shape: Shape }[], scope: string): Tensor[] {
    const outputs: Tensor[] = [];
    const node: Node = { id: this.nodes.length, op, inputs, attrs, outputs, scope };
    types.forEach((ty, i) => outputs.push(new Tensor(this, this.nextId++, ty.dtype, ty.shape, node, i)));
    this.nodes.push(node);
    return outputs;
  }

  /** A tensor of this graph standing for `t`, capturing it from an enclosing graph when needed. */
  own(t: Tensor): Tensor {
    if (t.graph === this) return t;
    if (!this.parent) {
      throw new SwitchyardError('E_GRAPH', `tensor ${t} belongs to another graph`, 'do not mix tensors from separate traces');
    }
    const outer = this.parent.own(t);
    let inner = this.captures.get(outer);
    if (!inner) {
      inner = new Tensor(this, this.nextId++, outer.dtype, outer.shape, null, 0);
      this.captures.set(outer, inner);
    }
    return inner;
  }

  /** Memoised scalar constants, so `x * 2` twice makes one constant. */
  cachedScalar(key: string, make: () => Tensor): Tensor {
    let t = this.scalarCache.get(key);
    if (!t) {
      t = make();
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** Sets the graph outputs with their names. */
  setOutputs(named: Record<string, Tensor> | [string, Tensor][]): void {
    const entries = Array.isArray(named) ? named : Object.entries(named);
    this.outputNames = entries.map(([n]) => n);
    this.outputs = entries.map(([, t]) => this.own(t));
  }
}

// ---- tracing context -------------------------------------------------------------------------

const graphStack: Graph[] = [];
const scopeStack: string[] = [];

/** The graph being traced; throws when an op is called outside {@link trace}. */
export function currentGraph(): Graph {
  const g = graphStack[graphStack.length - 1];
  if (!g) throw new SwitchyardError('E_TRACE', 'an op was called outside a trace', 'build graphs inside trace(() => ...) or a compiled step');
  return g;
}

/** True while a trace is active. */
export function isTracing(): boolean {
  return graphStack.length > 0;
}

/** Runs `fn` with `g` as the current graph. */
export function withGraph<T>(g: Graph, fn: () => T): T {
  graphStack.push(g);
  try {
    return fn();
  } finally {
    graphStack.pop();
  }
}

/**
 * Traces `fn` into a new graph. Inputs are declared with `g.input(...)` inside `fn`; whatever `fn`
 * returns (a tensor or a record of tensors) becomes the named outputs.
 *
 * @example
 * const g = trace((g) => { const x = g.input('x', 'f32', ['batch', 3]); return { y: relu(x) }; });
 */
export function trace(fn: (g: Graph) => Tensor | Record<string, Tensor>, parent: Graph | null = null): Graph {
  const g = new Graph(parent);
  const out = withGraph(g, () => fn(g));
  g.setOutputs(out instanceof Tensor ? { out } : out);
  return g;
}

/** Runs `fn` with `name` pushed on the module path used in error messages (`blocks.0.mlp`). */
export function withScope<T>(name: string, fn: () => T): T {
  scopeStack.push(name);
  try {
    return fn();
  } finally {
    scopeStack.pop();
  }
}

/** The current module path, `''` at top level. */
export function currentScope(): string {
  return scopeStack.filter((s) => s !== '').join('.');
}
