import type { Graph, Tensor } from '../../core/graph.ts';
import { formatShape } from '../../core/shape.ts';
import { SwitchyardError } from '../../util/errors.ts';
import { Bindings } from './bindings.ts';
import { controlKernels } from './control.ts';
import { convKernels } from './conv.ts';
import { elementwiseKernels } from './elementwise.ts';
import { indexingKernels } from './indexing.ts';
import { layoutKernels } from './layout.ts';
import { reduceKernels } from './reduce.ts';
import { type Kernel, type KernelContext, numel, refFail, type RefTensor } from './tensor.ts';

const KERNELS: Record<string, Kernel> = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...layoutKernels,
  ...indexingKernels,
  ...controlKernels,
  ...convKernels,
};

/** Names of the ops the reference interpreter implements (for coverage tests against `opNames()`). */
export function referenceOps(): string[] {
  return Object.keys(KERNELS);
}

type Env = Map<Tensor, RefTensor>;

/** Runs the nodes of `graph` in order over `env` (which holds its inputs) and returns its outputs. */
function evalGraph(graph: Graph, env: Env, b: Bindings): RefTensor[] {
  for (const node of graph.nodes) {
    const where = node.scope ? `${node.scope}: ${node.op}` : node.op;
    const kernel = KERNELS[node.op];
    if (!kernel) throw new SwitchyardError('E_OP', `${where}: the reference interpreter has no kernel for '${node.op}'`, 'add one in src/runtime/reference');
    const inputs = node.inputs.map((t) => env.get(t) ?? refFail(where, `input ${t} has no value`, 'internal error: graph not in topological order'));
    const ctx: KernelContext = {
      node,
      where,
      dim: (d) => b.value(d),
      resolve: (shape) => shape.map((d) => b.value(d) ?? refFail(where, `symbolic dimension '${d}' is not bound`, 'feed an input that has it')),
      runBody: (body, ins) => runBody(body, ins, env, b),
    };
    const outs = kernel(inputs, node.attrs, ctx);
    node.outputs.forEach((o, i) => {
      const v = outs[i];
      if (b.match(o.shape, v.shape) !== null) {
        refFail(where, `computed shape ${formatShape(v.shape)} does not match the traced ${o}`, 'the shape rule and the reference kernel disagree: report this as a bug');
      }
      env.set(o, { dtype: o.dtype, shape: v.shape, data: v.data });
    });
  }
  return graph.outputs.map((t) => env.get(t) ?? refFail('output', `graph output ${t} has no value`, 'internal error'));
}

/** Runs a loop body: its declared inputs get `inputs`, its captures the outer values they stand for. */
function runBody(body: Graph, inputs: RefTensor[], outer: Env, b: Bindings): RefTensor[] {
  const env: Env = new Map();
  body.inputs.forEach((t, i) => env.set(t, inputs[i]));
  for (const [o, inner] of body.captures) {
    env.set(inner, outer.get(o) ?? refFail('loop', `captured ${o} has no value in the enclosing graph`, 'internal error'));
  }
  return evalGraph(body, env, new Bindings(b));
}

/**
 * Runs `graph` in float64 on concrete `feeds` (one per graph input, by name) and returns its outputs keyed by
 * `graph.outputNames`. Symbolic dimensions are bound from the fed shapes; a feed whose dtype or shape does not
 * fit its declaration throws `E_FEED`. Used only by tests, as the ground truth for gradients and for ONNX runs.
 *
 * @example
 * const g = trace((g) => ({ y: relu(g.input('x', 'f32', ['batch', 2])) }));
 * runReference(g, { x: refTensor([-1, 2, 3, -4], [2, 2]) }).y.data; // Float64Array [0, 2, 3, 0]
 */
export function runReference(graph: Graph, feeds: Record<string, RefTensor>): Record<string, RefTensor> {
  const env: Env = new Map();
  const b = new Bindings();
  const names = new Set(graph.inputs.map((t) => t.name));
  for (const key of Object.keys(feeds)) {
    if (!names.has(key)) throw new SwitchyardError('E_FEED', `unknown feed '${key}'`, `the graph inputs are: ${[...names].join(', ') || '(none)'}`);
  }
  for (const inp of graph.inputs) {
    const name = inp.name ?? '';
    const t = feeds[name];
    if (!t) throw new SwitchyardError('E_FEED', `input '${name}': no feed given (expected ${inp})`, 'feed every graph input');
    if (t.dtype !== inp.dtype) throw new SwitchyardError('E_FEED', `input '${name}': expected dtype ${inp.dtype}, got ${t.dtype}`, 'cast the data before feeding it');
    if (t.data.length !== numel(t.shape)) {
      throw new SwitchyardError('E_FEED', `input '${name}': shape ${formatShape(t.shape)} needs ${numel(t.shape)} values, got ${t.data.length}`, 'pass one value per element');
    }
    const why = b.match(inp.shape, t.shape);
    if (why !== null) {
      throw new SwitchyardError('E_FEED', `input '${name}': expected ${formatShape(inp.shape)}, got ${formatShape(t.shape)}${why ? ` (${why})` : ''}`, 'feed data of the declared shape');
    }
    env.set(inp, t);
  }
  const outs = evalGraph(graph, env, b);
  const result: Record<string, RefTensor> = {};
  graph.outputNames.forEach((n, i) => {
    const t = outs[i];
    result[n] = { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() };
  });
  return result;
}
