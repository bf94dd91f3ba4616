/**
 * The fusion pass of the WebGPU executor. It rewrites a graph's node list into the list the executor runs:
 * - elementwise producers (and broadcasts, reshapes, transposes) whose every use lies in one consumer's kernel
 *   are inlined into that kernel: the consumer (an elementwise op, a reduction, softmax, layerNorm, argmax)
 *   reads them through generated WGSL functions instead of buffers, so a chain such as bias + GELU, a scaled and
 *   masked softmax, a norm's backward pieces or cross-entropy's gradient is one dispatch;
 * - a transpose feeding a matmul is folded into the matmul's strided operand read (attrs `permA`/`permB`).
 * A fused node is a `Node` whose inputs are the group's external tensors (its leaves); its kernel plans the
 * root's kernel on the computed shapes and rewires the root's buffer reads (`inK[...]`) to the group's values.
 */
import { Graph, type Node, type Tensor } from '../../core/graph.ts';
import { ELEMENTWISE_HELPERS, ELEMENTWISE_OPS, elementwiseExpr } from './kernels/elementwise.ts';
import { GPU_KERNELS } from './kernels/index.ts';
import {
  broadcastStrides, type GpuKernel, type GpuKernelContext, type GpuValue, type KernelPlan, offsets, wgslType,
} from './kernels/wgsl.ts';
import { stridesOf } from '../reference/tensor.ts';

/** Ops inlined into their consumer: computed per element from the element(s) they read. */
const INLINED = new Set([...ELEMENTWISE_OPS, 'fullLike', 'expand', 'broadcastLike', 'reshape', 'identity',
  'stopGradient', 'transpose']);

/** Ops whose kernel may read inlined producers: each input element is read a few times at most. */
const ROOTS = new Set([...ELEMENTWISE_OPS, 'reduceSum', 'reduceMean', 'reduceMax', 'softmax', 'logSoftmax',
  'layerNorm', 'argmax', 'expand', 'broadcastLike', 'transpose']);

/** At most this many nodes per group, and this many evaluations of one inlined node per element read. */
const MAX_GROUP = 32;
const MAX_CALLS = 4;

/** A group: the root's kernel with the producers it computes inline (in graph order). */
export interface Fusion {
  root: Node;
  inlined: Node[];
}

/** A node as the executor runs it: a graph node, or a fused group (its inputs are the group's leaves). */
export interface RunNode extends Node {
  readonly fusion?: Fusion;
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

/**
 * The node list the executor runs for `graph`, with elementwise chains fused into their consumers and
 * transposes folded into matmuls. Graph order is kept; inlined nodes disappear.
 *
 * @example
 * const nodes = fuseGraph(trace((g) => ({ y: mul(add(g.input('x', 'f32', [4]), 1), 2) })));
 * nodes.length; // 3: two scalar constants and one fused add+mul
 */
export function fuseGraph(graph: Graph): RunNode[] {
  const users = consumers(graph);
  const outputs = pinned(graph);
  const rootOf = new Map<Node, Node>();
  const calls = new Map<Node, number>();
  const groups = new Map<Node, Node[]>();
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    const out = node.outputs[0];
    const uses = users.get(out) ?? [];
    const root = uses.length ? rootOf.get(uses[0]) : undefined;
    const group = root ? groups.get(root)! : [];
    const count = uses.reduce((n, c) => n + (calls.get(c) ?? 0), 0);
    const inline = INLINED.has(node.op) && node.outputs.length === 1 && root && !outputs.has(out) &&
      uses.every((c) => rootOf.get(c) === root) && group.length < MAX_GROUP && count <= MAX_CALLS;
    if (inline) {
      rootOf.set(node, root);
      calls.set(node, count);
      group.push(node);
    } else if (ROOTS.has(node.op)) {
      rootOf.set(node, node);
      calls.set(node, 1);
      groups.set(node, []);
    }
  }
  const inlinedInto = (n: Node) => (rootOf.get(n) ?? n) !== n;
  const run: RunNode[] = [];
  for (const node of graph.nodes) {
    if (inlinedInto(node)) continue;
    const inlined = (groups.get(node) ?? []).reverse();
    if (inlined.length) run.push(fusedNode({ root: node, inlined }));
    else if (node.op === 'matmul') run.push(foldTransposes(node, (t) => !t.node || !inlinedInto(t.node)));
    else run.push(node);
  }
  return run;
}

/** The group as one node: inputs are the tensors it reads from outside (graph order of first use). */
function fusedNode(fusion: Fusion): RunNode {
  const inside = new Set([fusion.root, ...fusion.inlined].flatMap((n) => n.outputs));
  const leaves: Tensor[] = [];
  for (const n of [...fusion.inlined, fusion.root]) {
    for (const t of n.inputs) if (!inside.has(t) && !leaves.includes(t)) leaves.push(t);
  }
  const { root } = fusion;
  return { ...root, inputs: leaves, fusion };
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

/**
 * The kernel of a node the executor runs: the op's own, or for a fused group the root's kernel with its
 * inlined producers generated as WGSL functions.
 *
 * @example
 * const plan = kernelOf(node)(values, node.attrs, ctx);
 */
export function kernelOf(node: RunNode): GpuKernel {
  const fusion = node.fusion;
  if (!fusion) return GPU_KERNELS[node.op];
  return (leafValues, _attrs, ctx) => fusedPlan(fusion, node.inputs, leafValues, ctx);
}

/** Name of the WGSL function computing an inlined node's element at a flat index. */
const fnName = (n: Node): string => `fz${n.id}`;

function fusedPlan(fusion: Fusion, leaves: Tensor[], leafValues: GpuValue[], ctx: GpuKernelContext): KernelPlan {
  const values = new Map<Tensor, GpuValue>(leaves.map((t, k) => [t, leafValues[k]]));
  // Each inlined node's shape, from its own kernel's plan on the computed shapes.
  for (const n of fusion.inlined) {
    const plan = GPU_KERNELS[n.op](n.inputs.map((t) => values.get(t)!), n.attrs, { ...ctx, node: n });
    const shape = plan.kind === 'alias' ? plan.shape : plan.outShapes[0];
    values.set(n.outputs[0], { dtype: n.outputs[0].dtype, shape });
  }
  const { root } = fusion;
  const plan = GPU_KERNELS[root.op](root.inputs.map((t) => values.get(t)!), root.attrs, { ...ctx, node: root });
  if (plan.kind === 'alias') return plan;
  const read = (t: Tensor, index: string): string => {
    const k = leaves.indexOf(t);
    return k >= 0 ? `in${k}[${index}]` : `${fnName(t.node!)}(${index})`;
  };
  const functions = fusion.inlined.map((n) => elementFunction(n, values, read));
  const body = rewireReads(stripBindings(plan.wgsl), (k, index) => read(root.inputs[k], index));
  const enables = plan.wgsl.match(/^enable [^;]+;$/gm) ?? [];
  const bindings = [
    ...leafValues.map((v, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslType(v.dtype)}>;`),
    ...root.outputs.map((t, k) =>
      `@group(0) @binding(${leaves.length + k}) var<storage, read_write> out${k}: array<${wgslType(t.dtype)}>;`),
  ];
  const helpers = body.includes('fn sy_erf(') ? '' : ELEMENTWISE_HELPERS;
  const bits = body.includes('fn sy_f32(') ? '' : 'fn sy_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }';
  const wgsl = [...enables, ...bindings, bits, helpers, ...functions, body].join('\n');
  return { ...plan, wgsl };
}

/** `fn fzN(o: u32) -> T`: the inlined node's element at flat index `o` of its (contiguous) shape. */
function elementFunction(n: Node, values: Map<Tensor, GpuValue>, read: (t: Tensor, index: string) => string) {
  const out = values.get(n.outputs[0])!;
  const ins = n.inputs.map((t) => values.get(t)!);
  let views: { name: string; strides: number[] }[];
  if (n.op === 'transpose') {
    const st = stridesOf(ins[0].shape);
    views = [{ name: 'o0', strides: (n.attrs.perm as number[]).map((p) => st[p]) }];
  } else if (n.op === 'reshape' || n.op === 'identity' || n.op === 'stopGradient') {
    views = [{ name: 'o0', strides: stridesOf(out.shape) }];
  } else {
    views = ins.map((x, k) => ({ name: `o${k}`, strides: broadcastStrides(x.shape, out.shape) }));
  }
  const vals = n.inputs.map((t, k) => read(t, `o${k}`));
  const expr = elementwiseExpr(n.op, vals, ins.map((x) => x.dtype), out.dtype, n.attrs) ?? vals[0];
  const reads = n.op === 'fullLike' ? '' : offsets('o', out.shape, views);
  return `fn ${fnName(n)}(o: u32) -> ${wgslType(out.dtype)} {
${reads}
  return ${expr};
}`;
}

/** The shader without its binding declarations and enable directives (the fused kernel declares its own). */
function stripBindings(wgsl: string): string {
  return wgsl.replace(/^@group\(0\) @binding\(\d+\) var<storage, [a-z_]+> (in|out)\d+: array<\w+>;\n/gm, '')
    .replace(/^enable [^;]+;\n/gm, '');
}

/** Replaces every buffer read `inK[index]` of `wgsl` with `read(K, index)` (nested reads included). */
function rewireReads(wgsl: string, read: (k: number, index: string) => string): string {
  const head = /\bin(\d+)\[/g;
  let out = '';
  let from = 0;
  for (let m = head.exec(wgsl); m; m = head.exec(wgsl)) {
    let depth = 1;
    let end = head.lastIndex;
    for (; depth > 0; end++) depth += wgsl[end] === '[' ? 1 : wgsl[end] === ']' ? -1 : 0;
    const index = rewireReads(wgsl.slice(head.lastIndex, end - 1), read);
    out += wgsl.slice(from, m.index) + read(Number(m[1]), index);
    from = end;
    head.lastIndex = end;
  }
  return out + wgsl.slice(from);
}
