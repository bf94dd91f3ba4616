/**
 * The fusion pass of the WebGPU executor. It rewrites a graph's node list into the list the executor runs:
 * - elementwise producers (and broadcasts, reshapes, transposes, scalar constants) whose every use lies in one
 *   consumer's kernel are inlined into that kernel: the consumer (an elementwise op, a reduction, softmax,
 *   layerNorm, argmax) reads them through generated WGSL functions instead of buffers, so a chain such as
 *   bias + GELU, a scaled and masked softmax, a norm's backward pieces or cross-entropy's gradient is one
 *   dispatch. Under an elementwise consumer, a producer that is also a graph output of the same shape is
 *   computed inline and stored too (AdamW's new moments and parameter: one kernel);
 * - elementwise groups whose outputs nothing reads (the optimizer updates closing a step) are packed into
 *   multi-tensor kernels, as many per dispatch as the device's storage-buffer bindings allow;
 * - a transpose feeding a matmul is folded into the matmul's strided operand read (attrs `permA`/`permB`).
 * Kernels of the fused nodes are generated in fused-kernel.ts.
 */
import { Graph, type Node, type Tensor } from '../../core/graph.ts';
import { ELEMENTWISE_OPS } from './kernels/elementwise.ts';

/** Ops inlined into their consumer: computed per element from the element(s) they read. */
const INLINED = new Set([...ELEMENTWISE_OPS, 'fullLike', 'expand', 'broadcastLike', 'reshape', 'identity',
  'stopGradient', 'transpose']);

/** Ops whose kernel may read inlined producers: each input element is read a few times at most. */
const ROOTS = new Set([...ELEMENTWISE_OPS, 'reduceSum', 'reduceMean', 'reduceMax', 'softmax', 'logSoftmax',
  'layerNorm', 'argmax', 'expand', 'broadcastLike', 'transpose']);

/**
 * At most this many nodes per group, and this many evaluations of one inlined node per element read: fused
 * kernels are bound by memory, and evaluating a short chain again costs less than a round trip through memory
 * (AdamW reads its gradient 6 times: in both moments and, stored, in the parameter's update).
 */
const MAX_GROUP = 32;
const MAX_CALLS = 8;

/** A group: the root's kernel with the producers it computes inline (graph order), some of them also stored. */
export interface Fusion {
  root: Node;
  inlined: Node[];
  /** Inlined nodes whose values are graph outputs too: written beside the root's (elementwise roots only). */
  stored: Node[];
}

/**
 * A node as the executor runs it: a graph node, or fused groups (one, or several packed into one dispatch),
 * whose inputs are the groups' leaves and whose outputs are the roots' and the stored nodes' outputs.
 */
export interface RunNode extends Node {
  readonly fusions?: Fusion[];
}

/** Options of {@link fuseGraph}. */
export interface FuseOptions {
  /** The device's storage buffers per shader stage: bounds how many groups one multi-tensor kernel packs. */
  maxBindings?: number;
}

/**
 * True for a constant of one element: fused kernels write it as a WGSL literal instead of binding it.
 *
 * @param t a traced tensor
 * @example
 * isScalarConst(mul(x, 0.5).node!.inputs[1]); // true
 */
export function isScalarConst(t: Tensor): boolean {
  return t.node?.op === 'const' && t.shape.every((d) => d === 1);
}

/**
 * True for an elementwise op: a group rooted at one is generated element by element (several outputs).
 *
 * @param node a graph node
 * @example
 * isElementwise(add(x, y).node!); // true
 */
export function isElementwise(node: Node): boolean {
  return ELEMENTWISE_OPS.includes(node.op);
}

/** The consumers of each tensor. */
function consumers(graph: Graph): Map<Tensor, Node[]> {
  const users = new Map<Tensor, Node[]>();
  for (const node of graph.nodes) {
    for (const t of node.inputs) users.set(t, [...(users.get(t) ?? []), node]);
  }
  return users;
}

/** Tensors that must stay materialised: graph outputs and values captured by sub-graphs (loop bodies). */
function pinned(graph: Graph): Set<Tensor> {
  const keep = new Set(graph.outputs);
  for (const node of graph.nodes) {
    for (const v of Object.values(node.attrs)) if (v instanceof Graph) for (const t of v.captures.keys()) keep.add(t);
  }
  return keep;
}

const sameShape = (a: Tensor, b: Tensor): boolean =>
  a.shape.length === b.shape.length && a.shape.every((d, j) => d === b.shape[j]);

/**
 * The node list the executor runs for `graph`: elementwise chains fused into their consumers, terminal
 * elementwise groups packed into multi-tensor kernels (at the end), transposes folded into matmuls. Graph
 * order is kept otherwise; inlined nodes disappear.
 *
 * @param graph a traced graph
 * @param opts the binding budget of packed kernels (default 8, WebGPU's guaranteed minimum)
 * @example
 * const nodes = fuseGraph(trace((g) => ({ y: mul(add(g.input('x', 'f32', [4]), 1), 2) })));
 * nodes.length; // 3: two scalar constants (written as literals, never uploaded) and one fused add+mul
 */
export function fuseGraph(graph: Graph, opts: FuseOptions = {}): RunNode[] {
  const maxBindings = opts.maxBindings ?? 8;
  const users = consumers(graph);
  const outputs = pinned(graph);
  const rootOf = new Map<Node, Node>();
  const calls = new Map<Node, number>();
  const groups = new Map<Node, Fusion>();
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    const out = node.outputs[0];
    const uses = users.get(out) ?? [];
    const root = uses.length ? rootOf.get(uses[0]) : undefined;
    const group = root && groups.get(root);
    // A transpose only matmuls read is folded into their operand reads: no kernel, and its input stays a buffer.
    if (node.op === 'transpose' && uses.length && uses.every((c) => c.op === 'matmul') && !outputs.has(out)) continue;
    const store = !!group && outputs.has(out) && isElementwise(root) && isElementwise(node) &&
      sameShape(out, root.outputs[0]);
    const count = uses.reduce((n, c) => n + (calls.get(c) ?? 0), store ? 1 : 0);
    // A value with run-time rows is zeroed past its count after its kernel (see kernels/rows.ts): inlined, its
    // padding would reach the consumer unzeroed (exp(0) = 1 summed over padding rows), so it keeps its kernel.
    const inline = group && INLINED.has(node.op) && node.outputs.length === 1 && (store || !outputs.has(out)) &&
      !out.shape.some((d) => typeof d === 'string' && d.startsWith('?')) &&
      uses.every((c) => rootOf.get(c) === root) && group.inlined.length < MAX_GROUP && count <= MAX_CALLS;
    if (inline) {
      rootOf.set(node, root);
      calls.set(node, count);
      group.inlined.unshift(node);
      if (store) group.stored.unshift(node);
    } else if (ROOTS.has(node.op)) {
      rootOf.set(node, node);
      calls.set(node, 1);
      groups.set(node, { root: node, inlined: [], stored: [] });
    }
  }
  // A group that would bind more buffers than a kernel may (a long chain of adds: a global gradient norm over
  // every parameter) is not fused: its nodes run as they are.
  for (const [root, group] of groups) {
    if (groupLeaves([group]).length + groupOutputs([group]).length <= maxBindings) continue;
    for (const n of group.inlined) rootOf.delete(n);
    groups.delete(root);
  }
  const inlinedInto = (n: Node) => (rootOf.get(n) ?? n) !== n;
  const run: RunNode[] = [];
  const terminal: Fusion[] = [];
  for (const node of graph.nodes) {
    if (inlinedInto(node)) continue;
    const group = groups.get(node);
    const fused = group && (group.inlined.length > 0 || node.inputs.some(isScalarConst));
    if (group && isElementwise(node) && !users.has(node.outputs[0])) terminal.push(group);
    else if (fused) run.push(fusedNode([group]));
    else if (node.op === 'matmul') run.push(foldTransposes(node, (t) => !t.node || !inlinedInto(t.node)));
    else run.push(node);
  }
  return [...run, ...pack(terminal, maxBindings)];
}

/**
 * The tensors the groups read from outside (first use order), scalar constants excepted: the fused node's inputs.
 *
 * @param fusions one group, or several packed into one kernel
 * @example
 * groupLeaves(node.fusions!); // the buffers the fused kernel binds, in binding order
 */
export function groupLeaves(fusions: Fusion[]): Tensor[] {
  const inside = new Set(fusions.flatMap((f) => [f.root, ...f.inlined]).flatMap((n) => n.outputs));
  const leaves = new Set<Tensor>();
  for (const f of fusions) {
    for (const n of [...f.inlined, f.root]) {
      for (const t of n.inputs) if (!inside.has(t) && !isScalarConst(t)) leaves.add(t);
    }
  }
  return [...leaves];
}

/**
 * The outputs fused groups write: each root's, then its stored nodes'.
 *
 * @param fusions one group, or several packed into one kernel
 * @example
 * groupOutputs(node.fusions!); // AdamW: [param', exp_avg', exp_avg_sq'] per packed parameter
 */
export function groupOutputs(fusions: Fusion[]): Tensor[] {
  return fusions.flatMap((f) => [f.root, ...f.stored].map((n) => n.outputs[0]));
}

/** Fused groups as one node. */
function fusedNode(fusions: Fusion[]): RunNode {
  const { root } = fusions[0];
  const scope = fusions.length > 1 ? `${fusions.length} packed updates` : root.scope;
  return { ...root, scope, inputs: groupLeaves(fusions), outputs: groupOutputs(fusions), fusions };
}

/** Terminal groups packed greedily into nodes that each bind at most `maxBindings` buffers. */
function pack(terminal: Fusion[], maxBindings: number): RunNode[] {
  const packs: Fusion[][] = [];
  let current: Fusion[] = [];
  for (const f of terminal) {
    const next = [...current, f];
    if (current.length && groupLeaves(next).length + groupOutputs(next).length > maxBindings) {
      packs.push(current);
      current = [f];
    } else current = next;
  }
  if (current.length) packs.push(current);
  return packs.map(fusedNode);
}

/**
 * A matmul reading a transposed operand through strides instead of a transposed copy (when the transpose's
 * input is `materialised`: not computed inline in another kernel).
 */
function foldTransposes(node: Node, materialised: (t: Tensor) => boolean): RunNode {
  const [a, b] = node.inputs.map((t) => (t.node?.op === 'transpose' && materialised(t.node.inputs[0]) ? t.node : null));
  if (!a && !b) return node;
  const inputs = node.inputs.map((t, k) => ([a, b][k] ? [a, b][k]!.inputs[0] : t));
  const attrs = { ...node.attrs, ...(a && { permA: a.attrs.perm }), ...(b && { permB: b.attrs.perm }) };
  return { ...node, inputs, attrs };
}

/** Ops that never dispatch: constants are uploads, the rest are aliases of their input's buffer. */
const NO_DISPATCH = new Set(['const', 'reshape', 'identity', 'stopGradient']);

/**
 * How many kernels a node list dispatches to compute `outputs`: the nodes they need (walking back from them),
 * less constants and aliases. Equals the executor's `dispatches` except for outputs with no elements.
 *
 * @param nodes a graph's nodes, or {@link fuseGraph}'s
 * @param outputs the tensors fetched
 * @example
 * countKernels(fuseGraph(graph), graph.outputs); // vs countKernels(graph.nodes, graph.outputs)
 */
export function countKernels(nodes: Node[], outputs: Tensor[]): number {
  const needed = new Set<Tensor>(outputs);
  let count = 0;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.outputs.some((t) => needed.has(t))) continue;
    node.inputs.forEach((t) => needed.add(t));
    if (!NO_DISPATCH.has(node.op)) count++;
  }
  return count;
}
