/**
 * WGSL of the fused nodes that fuse.ts makes. Every inlined node becomes a function `fzN(o)` computing its
 * element at flat index `o` of its own (contiguous) shape from its inputs' elements: leaves are buffer reads,
 * scalar constants literals, other inlined nodes calls. Then:
 * - groups rooted at an elementwise op (one, or several packed) are generated directly: the root is a function
 *   too, and `main` writes each root's and stored node's element, each group over its own range of indices;
 * - other roots (reductions, softmax, layerNorm, ...) keep their own kernel, whose buffer reads `inK[index]`
 *   are rewired to the group's functions and leaves.
 */
import type { Node, Tensor, TensorData } from '../../core/graph.ts';
import { numel, stridesOf } from '../reference/tensor.ts';
import { type Fusion, isElementwise, isScalarConst, type RunNode } from './fuse.ts';
import { ELEMENTWISE_HELPERS, elementwiseExpr, literal } from './kernels/elementwise.ts';
import { GPU_KERNELS } from './kernels/index.ts';
import {
  broadcastStrides, type GpuKernel, type GpuKernelContext, type GpuValue, type KernelPlan, offsets, shader, u,
  wgslType,
} from './kernels/wgsl.ts';

/** Reads element `index` of tensor `t` inside a fused kernel. */
type Reader = (t: Tensor, index: string) => string;

/**
 * The kernel of a node the executor runs: the op's own, or for fused groups the generated one.
 *
 * @example
 * const plan = kernelOf(node)(values, node.attrs, ctx);
 */
export function kernelOf(node: RunNode): GpuKernel {
  const fusions = node.fusions;
  if (!fusions) return GPU_KERNELS[node.op];
  return (leafValues, _attrs, ctx) => {
    const values = groupShapes(fusions, node.inputs, leafValues, ctx);
    const fnName = functionNames(fusions);
    const read = reader(node.inputs, fnName);
    if (fusions.every((f) => isElementwise(f.root))) return elementwisePlan(fusions, leafValues, values, read, fnName);
    return rewiredPlan(fusions[0], leafValues, values, read, fnName, ctx);
  };
}

/**
 * Names of the WGSL functions computing each fused node's element at a flat index: by place in the groups, not
 * by node id, so that the same chain in every layer is the same source text (one pipeline, compiled once).
 */
function functionNames(fusions: Fusion[]): Map<Node, string> {
  return new Map(fusions.flatMap((f, g) => [...f.inlined, f.root].map((n, k): [Node, string] => [n, `fz${g}_${k}`])));
}

/** Leaves are buffers `inK`, scalar constants literals, the rest calls of their node's function. */
function reader(leaves: Tensor[], fnName: Map<Node, string>): Reader {
  return (t, index) => {
    const k = leaves.indexOf(t);
    if (k >= 0) return `in${k}[${index}]`;
    if (isScalarConst(t)) return literal(Number((t.node!.attrs.data as TensorData)[0]), t.dtype);
    return `${fnName.get(t.node!)}(${index})`;
  };
}

/** The run-time value of every tensor of the groups, each inlined node's shape from its own kernel's plan. */
function groupShapes(fusions: Fusion[], leaves: Tensor[], leafValues: GpuValue[], ctx: GpuKernelContext) {
  const values = new Map<Tensor, GpuValue>(leaves.map((t, k) => [t, leafValues[k]]));
  for (const f of fusions) {
    for (const n of [...f.inlined, f.root]) {
      for (const t of n.inputs) if (isScalarConst(t)) values.set(t, { dtype: t.dtype, shape: t.shape as number[] });
      const plan = GPU_KERNELS[n.op](n.inputs.map((t) => values.get(t)!), n.attrs, { ...ctx, node: n });
      const shape = plan.kind === 'alias' ? plan.shape : plan.outShapes[0];
      values.set(n.outputs[0], { dtype: n.outputs[0].dtype, shape });
    }
  }
  return values;
}

/** Elementwise-rooted groups: each writes its root and stored nodes over its own range of `i`. */
function elementwisePlan(fusions: Fusion[], leafValues: GpuValue[], values: Map<Tensor, GpuValue>, read: Reader,
  fnName: Map<Node, string>) {
  const functions = fusions.flatMap((f) => [...f.inlined, f.root].map((n) => elementFunction(n, values, read, fnName)));
  const outs: Tensor[] = [];
  const branches: string[] = [];
  let start = 0;
  for (const f of fusions) {
    const count = numel(values.get(f.root.outputs[0])!.shape);
    const writes = [f.root, ...f.stored].map((n) => `out${outs.push(n.outputs[0]) - 1}[j] = ${fnName.get(n)}(j);`);
    branches.push(`  if (i < ${u(start + count)}) { let j = i - ${u(start)}; ${writes.join(' ')} return; }`);
    start += count;
  }
  const helpers = [ELEMENTWISE_HELPERS, ...functions].join('\n');
  const wgsl = shader(leafValues.map((v) => v.dtype), outs.map((t) => t.dtype), start, branches.join('\n'), helpers);
  return { kind: 'shader' as const, wgsl, invocations: start, outShapes: outs.map((t) => values.get(t)!.shape) };
}

/** Another root: its own kernel, with its buffer reads rewired to the group's functions and leaves. */
function rewiredPlan(fusion: Fusion, leafValues: GpuValue[], values: Map<Tensor, GpuValue>, read: Reader,
  fnName: Map<Node, string>, ctx: GpuKernelContext): KernelPlan {
  const { root } = fusion;
  const plan = GPU_KERNELS[root.op](root.inputs.map((t) => values.get(t)!), root.attrs, { ...ctx, node: root });
  if (plan.kind === 'alias') return plan;
  if (plan.kind === 'steps') throw new Error(`internal: '${root.op}' runs several kernels and cannot absorb producers`);
  const functions = fusion.inlined.map((n) => elementFunction(n, values, read, fnName));
  const body = rewireReads(stripBindings(plan.wgsl), (k, index) => read(root.inputs[k], index));
  const enables = plan.wgsl.match(/^enable [^;]+;$/gm) ?? [];
  const bindings = [
    ...leafValues.map((v, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslType(v.dtype)}>;`),
    ...root.outputs.map((t, k) =>
      `@group(0) @binding(${leafValues.length + k}) var<storage, read_write> out${k}: array<${wgslType(t.dtype)}>;`),
  ];
  const helpers = body.includes('fn sy_erf(') ? '' : ELEMENTWISE_HELPERS;
  const bits = body.includes('fn sy_f32(') ? '' : 'fn sy_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }';
  return { ...plan, wgsl: [...enables, ...bindings, bits, helpers, ...functions, body].join('\n') };
}

/** `fn fzN(o: u32) -> T`: the node's element at flat index `o` of its (contiguous) shape. */
function elementFunction(n: Node, values: Map<Tensor, GpuValue>, read: Reader, fnName: Map<Node, string>): string {
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
  const reads = n.op === 'fullLike' ? '' : offsets('o', out.shape, views);
  // Each input is read once into a `let`: an expression that names an input twice (maximum, where, ...) would
  // otherwise call its producer's function twice, and a chain of them 2^depth times (a max-pool's chain of
  // maximums took minutes to compile).
  const lets = n.op === 'fullLike' ? [] : n.inputs.map((t, k) => `  let v${k} = ${read(t, `o${k}`)};`);
  const vals = n.inputs.map((_, k) => `v${k}`);
  const expr = elementwiseExpr(n.op, vals, ins.map((x) => x.dtype), out.dtype, n.attrs) ?? vals[0];
  return `fn ${fnName.get(n)}(o: u32) -> ${wgslType(out.dtype)} {
${reads}
${lets.join('\n')}
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
