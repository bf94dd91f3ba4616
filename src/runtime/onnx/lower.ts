import type { DType } from '../../core/dtype.ts';
import type { Graph, Node, Tensor, TensorData } from '../../core/graph.ts';
import { factorShape } from '../../core/ops/shape.ts';
import { isStatic, type Dim } from '../../core/shape.ts';
import { SwitchyardError } from '../../util/errors.ts';
import { lowerNode } from './lower-ops.ts';
import { attr, type OnnxAttr, type OnnxDType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.ts';

/** The default-domain opset Switchyard graphs import unless told otherwise ({@link LowerOptions.opset}). */
export const OPSET = 18;

/**
 * The lowest ONNX IR version that can hold a model of default-domain opset `opset`: 8 up to opset 18 (onnx 1.12
 * and 1.13), 9 for opsets 19..20 (onnx 1.14, 1.15), 10 for opset 21. Older readers refuse a higher IR version
 * than they know, so exports write the lowest that fits.
 *
 * @example
 * irVersionFor(17); // 8
 */
export function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

/** IR dtype -> ONNX element type. */
export function onnxDType(d: DType): OnnxDType {
  return d === 'f32' ? 'float32' : d === 'i64' ? 'int64' : 'bool';
}

/** Emits ONNX nodes for one IR graph (the main graph or a loop body), naming values uniquely model-wide. */
export class GraphEmitter {
  readonly nodes: OnnxNode[] = [];
  private readonly symbols = new Map<string, string>();
  private readonly consts = new Map<string, string>();

  constructor(
    readonly names: Map<Tensor, string>,
    private readonly counter: { n: number },
    readonly graph: Graph,
    private readonly parent: GraphEmitter | null,
    /** The default-domain opset being emitted: lowerings whose ONNX form changed pick theirs by it. */
    readonly opset: number = parent?.opset ?? OPSET,
  ) {}

  /** A fresh value name. */
  fresh(hint: string): string {
    return `${hint}_${this.counter.n++}`;
  }

  /** The ONNX value name of an IR tensor. */
  name(t: Tensor): string {
    const n = this.names.get(t);
    if (n === undefined) throw new Error(`internal: tensor ${t} (#${t.id}) has no ONNX name`);
    return n;
  }

  /** Appends a node; returns its output names (fresh unless given). */
  emit(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, outputs: string[] | number = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    this.nodes.push({ opType, inputs, outputs: outs, attrs, name: outs[0] });
    return outs;
  }

  /** A Constant node holding `data` (deduplicated for small constants). */
  constant(data: TensorData | Float64Array, dims: number[], dtype?: OnnxDType): string {
    const dt: OnnxDType = dtype ?? (data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : 'bool');
    const small = data.length <= 16;
    const key = small ? `${dt}|${dims.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}` : '';
    if (small && this.consts.has(key)) return this.consts.get(key)!;
    const tensor: OnnxTensor = { name: '', dtype: dt, dims, data: data as OnnxTensor['data'] };
    const [out] = this.emit('Constant', [], { value: attr.tensor(tensor) });
    if (small) this.consts.set(key, out);
    return out;
  }

  /** An int64 constant vector. */
  ints(values: number[]): string {
    return this.constant(BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  /** An int64 scalar constant. */
  int(value: number): string {
    return this.constant(BigInt64Array.of(BigInt(value)), []);
  }

  /** int64[1] holding the run-time size of symbol `sym`, taken from the shape of an input that carries it. */
  symbol(sym: string): string {
    for (let e: GraphEmitter | null = this; e; e = e.parent) {
      const found = e.symbols.get(sym);
      if (found) return found;
    }
    // Inputs first; a data-dependent dim (e.g. from nonzero) is read off the value that carries it.
    const sources = [...this.graph.inputs, ...this.graph.captures.values(), ...[...this.names.keys()].filter((t) => t.graph === this.graph && t.node)];
    for (const t of sources) {
      const axis = t.shape.indexOf(sym);
      if (axis >= 0) {
        const [out] = this.emit('Shape', [this.name(t)], { start: attr.int(axis), end: attr.int(axis + 1) });
        this.symbols.set(sym, out);
        return out;
      }
    }
    throw new SwitchyardError('E_SHAPE', `symbolic dimension '${sym}' is not the dimension of any graph input`, 'name symbolic dims after input dims');
  }

  /**
   * int64[rank] shape tensor for a target shape with -1, numbers and symbol products. A lone unknown dim becomes
   * -1 unless `exact`, which reads every symbol's size.
   */
  shapeTensor(dims: Dim[], exact = false): string {
    const dynamic = dims.filter((d) => typeof d !== 'number' || d < 0);
    if (dynamic.length === 0 || (dynamic.length === 1 && !exact)) return this.ints(dims.map((d) => (typeof d === 'number' ? d : -1)));
    const parts = dims.map((d) => {
      if (typeof d === 'number') return this.ints([d]);
      const { coeff, syms } = factorShape([d]);
      let acc = this.symbol(syms[0]);
      for (const s of syms.slice(1)) [acc] = this.emit('Mul', [acc, this.symbol(s)]);
      if (coeff !== 1) [acc] = this.emit('Mul', [acc, this.ints([coeff])]);
      return acc;
    });
    return this.emit('Concat', parts, { axis: attr.int(0) })[0];
  }

  /** Lowers the needed nodes of this graph in order; `named` gives some values their ONNX names. */
  lowerNodes(outputs: Tensor[], named: Map<Tensor, string> = new Map()): void {
    for (const n of liveNodes(this.graph, outputs)) {
      n.outputs.forEach((o) => this.names.set(o, named.get(o) ?? this.fresh(o.dtype === 'f32' ? 'v' : o.dtype)));
      lowerNode(this, n);
    }
  }

  /**
   * A graph without inputs (an If branch) whose nodes `build` emits; it reads outer values by name. `build` returns
   * the branch's one output, which must be produced inside the branch (ONNX forbids passing an outer value through).
   */
  branch(build: (em: GraphEmitter) => string, dtype: OnnxDType): OnnxGraph {
    const child = new GraphEmitter(this.names, this.counter, this.graph, this);
    const out = build(child);
    const outputs = [{ name: out, dtype, shape: null }];
    return { name: child.fresh('branch'), nodes: child.nodes, inputs: [], outputs, initializers: [] };
  }

  /** Lowers a loop body graph as an ONNX Loop body. */
  lowerBody(body: Graph): OnnxGraph {
    const child = new GraphEmitter(this.names, this.counter, body, this);
    for (const [outer, inner] of body.captures) child.names.set(inner, this.name(outer));
    body.inputs.forEach((t) => child.names.set(t, child.fresh(t.name ?? 'in')));
    const cond = child.fresh('cond');
    child.lowerNodes(body.outputs);
    const condOut = child.emit('Identity', [cond])[0];
    // ONNX forbids a graph output that is directly a graph input or an outer value: route those through Identity.
    const outNames = body.outputs.map((t) => (t.node ? child.name(t) : child.emit('Identity', [child.name(t)])[0]));
    const vi = (t: Tensor, n: string) => ({ name: n, dtype: onnxDType(t.dtype), shape: [...t.shape] });
    return {
      name: child.fresh('body'),
      nodes: child.nodes,
      inputs: [vi(body.inputs[0], child.name(body.inputs[0])), { name: cond, dtype: 'bool', shape: [] }, ...body.inputs.slice(1).map((t) => vi(t, child.name(t)))],
      outputs: [{ name: condOut, dtype: 'bool', shape: [] }, ...body.outputs.map((t, i) => vi(t, outNames[i]))],
      initializers: [],
    };
  }
}

/** Nodes needed to compute `outputs`, in order (dead-node pruning: ORT does not prune unfetched nodes). */
export function liveNodes(graph: Graph, outputs: Tensor[]): Node[] {
  const live = new Set<Node>();
  const stack = outputs.filter((t) => t.graph === graph && t.node).map((t) => t.node!);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const i of n.inputs) if (i.node && i.graph === graph) stack.push(i.node);
    if (n.op === 'loop') {
      const body = n.attrs.body as Graph;
      for (const outer of body.captures.keys()) if (outer.node && outer.graph === graph) stack.push(outer.node);
    }
  }
  return graph.nodes.filter((n) => live.has(n));
}

/** Options for {@link lowerGraph}. */
export interface LowerOptions {
  /** Graph inputs to bake in as initializers (e.g. trained weights in an inference export). */
  initializers?: Map<Tensor, TensorData>;
  /** Default-domain opset to emit (default {@link OPSET}); {@link validateModel} checks the result against it. */
  opset?: number;
  /** The ONNX graph name. */
  name?: string;
  /** The ONNX model's doc_string. */
  docString?: string;
  /** Key/value pairs stored as the ONNX model's metadata_props. */
  metadata?: Record<string, string>;
}

/**
 * Compiles an IR graph to an ONNX model (opset {@link OPSET} unless `opts.opset`): prunes dead nodes, names every value,
 * lowers each op, keeps symbolic dims as `dim_param`.
 *
 * @example
 * const model = lowerGraph(trace((g) => ({ y: relu(g.input('x', 'f32', ['batch', 3])) })));
 * const bytes = encodeModel(model);
 */
export function lowerGraph(graph: Graph, opts: LowerOptions = {}): OnnxModel {
  if (graph.captures.size) throw new Error('internal: lowering a nested graph as a model');
  const names = new Map<Tensor, string>();
  const em = new GraphEmitter(names, { n: 0 }, graph, null, opts.opset ?? OPSET);
  const inits = opts.initializers ?? new Map();
  for (const t of graph.inputs) names.set(t, t.name!);
  const outNames = graph.outputNames;
  const inputNames = new Set(graph.inputs.map((t) => t.name));
  const clash = outNames.find((n) => inputNames.has(n));
  if (clash) throw new SwitchyardError('E_GRAPH', `output name '${clash}' is also an input name`, 'give outputs their own names (e.g. present_k for an updated past_k)');
  // A node's value that is a graph output takes the output's name where it is made. Routed through an Identity
  // instead, ORT 1.30's basic optimisations lose a value that is both an output and read by a MatMul + Add they fuse
  // ("Node input ... is not a graph input" on load; tests/runtime/output-naming.test.ts).
  const named = new Map<Tensor, string>();
  graph.outputs.forEach((t, i) => {
    if (t.node && !named.has(t)) named.set(t, outNames[i]);
  });
  em.lowerNodes(graph.outputs, named);
  // The other outputs (a graph input, or a value output twice) get their names via Identity.
  graph.outputs.forEach((t, i) => {
    if (named.get(t) !== outNames[i]) em.emit('Identity', [em.name(t)], {}, [outNames[i]]);
  });
  const used = usedNames(em.nodes);
  const initializers: OnnxTensor[] = [];
  const inputs = [];
  for (const t of graph.inputs) {
    const data = inits.get(t);
    if (data) {
      if (!isStatic(t.shape)) throw new Error(`initializer ${t.name} needs a static shape`);
      initializers.push({ name: t.name!, dtype: onnxDType(t.dtype), dims: [...t.shape], data });
    } else if (used.has(t.name!) || outNames.length === 0) inputs.push({ name: t.name!, dtype: onnxDType(t.dtype), shape: [...t.shape] });
  }
  return {
    opset: em.opset,
    producerName: 'switchyard',
    docString: opts.docString,
    metadata: opts.metadata,
    graph: {
      name: opts.name ?? 'switchyard',
      nodes: em.nodes,
      inputs,
      outputs: graph.outputs.map((t, i) => ({ name: outNames[i], dtype: onnxDType(t.dtype), shape: [...t.shape] })),
      initializers,
    },
  };
}

/** Every value name read by `nodes`, including reads from inside Loop bodies. */
function usedNames(nodes: OnnxNode[], into = new Set<string>()): Set<string> {
  for (const n of nodes) {
    for (const i of n.inputs) into.add(i);
    for (const a of Object.values(n.attrs ?? {})) if (a.kind === 'graph') usedNames(a.value.nodes, into);
  }
  return into;
}
