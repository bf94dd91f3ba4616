/**
 * The shape of every generated WGSL kernel, and the helpers that write one. A kernel is one compute shader:
 * inputs bound read-only at bindings 0..n-1, outputs read-write after them, one invocation per output element
 * (or per lane/row, as the op says). Shapes are baked into the source as constants: a new shape is a new
 * pipeline, cached by source text, so a graph run at one shape compiles each kernel once.
 */
import type { DType } from '../../../core/dtype.ts';
import type { Attrs, Node } from '../../../core/graph.ts';
import type { Dim } from '../../../core/shape.ts';
import { numel, stridesOf } from '../../reference/tensor.ts';

/** A value as kernels see it: its dtype and concrete shape. */
export interface GpuValue {
  dtype: DType;
  shape: number[];
}

/** A kernel to dispatch: WGSL source, how many invocations, and the output shapes. */
export interface ShaderPlan {
  kind: 'shader';
  wgsl: string;
  invocations: number;
  outShapes: number[][];
  /**
   * Workgroups to dispatch: a count (split over x and y by the executor; the kernel reads its flat index as
   * `wg.x + wg.y * nw.x`) or an explicit grid. Default: one invocation per element in groups of {@link WORKGROUP}.
   */
  workgroups?: number | [number, number, number];
}

/** An output that is an input seen with another shape (reshape, identity): no copy, no dispatch. */
export interface AliasPlan {
  kind: 'alias';
  input: number;
  shape: number[];
}

/** A buffer one step of a {@link StepsPlan} binds: a node input, a node output, or the run's row-count words. */
export type StepBinding = { input: number } | { output: number } | 'rowCounts';

/** One dispatch of a {@link StepsPlan}: `reads` are bound read-only first, then `writes` read-write. */
export interface Step {
  wgsl: string;
  invocations: number;
  reads: StepBinding[];
  writes: StepBinding[];
}

/**
 * Several dispatches for one node, in order (ops with run-time row counts: see `kernels/rows.ts`); each binds
 * what it names, so a node with many outputs stays within the adapter's storage-buffer limit.
 */
export interface StepsPlan {
  kind: 'steps';
  outShapes: number[][];
  steps: Step[];
  /** The steps write zeros past the run-time row counts themselves (else the executor zeroes that padding). */
  padded?: boolean;
}

/** What a kernel decides for one node. */
export type KernelPlan = ShaderPlan | AliasPlan | StepsPlan;

/** Where the run-time row counts live (see `kernels/rows.ts`); absent when the graph has none. */
export interface RowCountContext {
  /** The word of the row-count buffer holding the count of run-time dim `d`; undefined for other dims. */
  word(d: Dim): number | undefined;
  /** The code this node writes into the status word (word 0) when its sizes do not fit. */
  readonly failCode: number;
}

/** What a kernel may ask of the executor while it plans one node. */
export interface GpuKernelContext {
  readonly node: Node;
  /** `scope: op`, for error messages. */
  readonly where: string;
  /** The size of a dimension under the run's symbol bindings; undefined for an unbound symbol. */
  dim(d: Dim): number | undefined;
  /** The device's optional features (`subgroups`, `shader-f16`, ...): kernels pick variants by them. */
  readonly features: readonly string[];
  /** The run-time row counts, for the ops that make or read them. */
  readonly rows?: RowCountContext;
}

/** A WebGPU kernel generator for one op. */
export type GpuKernel = (ins: GpuValue[], attrs: Attrs, ctx: GpuKernelContext) => KernelPlan;

/** Invocations per workgroup of every generated kernel. */
export const WORKGROUP = 64;

/** The WGSL element type storing `dtype`: i64 is narrowed to i32 (checked on upload), bool is i32 0/1. */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  return dtype === 'f32' ? 'f32' : 'i32';
}

/** A WGSL unsigned integer literal. */
export function u(n: number): string {
  return `${n}u`;
}

/**
 * A full compute shader: bindings for `ins` (read) and `outs` (read_write) named in0.., out0..; `body` runs
 * with `i: u32`, the invocation's index, for `i < invocations`.
 */
export function shader(ins: DType[], outs: DType[], invocations: number, body: string, helpers = ''): string {
  const binds = [
    ...ins.map((d, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslType(d)}>;`),
    ...outs.map((d, k) =>
      `@group(0) @binding(${ins.length + k}) var<storage, read_write> out${k}: array<${wgslType(d)}>;`),
  ];
  return `${binds.join('\n')}
// A run-time bit cast: WGSL rejects NaN and infinity as constant expressions.
fn sy_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }
${helpers}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${u(WORKGROUP)};
  if (i >= ${u(invocations)}) { return; }
${body}
}
`;
}

/** A plan with one output of `shape`, one invocation per output element. */
export function perElement(ins: GpuValue[], out: DType, shape: number[], body: string, helpers = ''): ShaderPlan {
  const n = numel(shape);
  const wgsl = shader(ins.map((x) => x.dtype), [out], n, body, helpers);
  return { kind: 'shader', wgsl, invocations: n, outShapes: [shape] };
}

/**
 * WGSL statements computing, from the flat index `flat` over `shape`, one offset per entry of `strides`
 * (`var name: u32 = base + sum(idx_j * strides[j])`). Dimensions of size 1 and zero strides cost nothing.
 */
export function offsets(flat: string, shape: number[], views: { name: string; strides: number[]; base?: number }[]) {
  const lines = views.map((v) => `  var ${v.name}: u32 = ${u(v.base ?? 0)};`);
  lines.push(`  var rest: u32 = ${flat};`);
  for (let j = shape.length - 1; j >= 0; j--) {
    // A dim of 0 has no element to place (and `% 0u` is a WGSL compile error, e.g. summing an empty piece).
    if (shape[j] === 1 || shape[j] === 0) continue;
    const used = views.filter((v) => v.strides[j] !== 0);
    lines.push(`  { let c = rest % ${u(shape[j])}; rest = rest / ${u(shape[j])};`);
    for (const v of used) lines.push(`    ${v.name} = ${v.name} + c * ${u(v.strides[j])};`);
    lines.push('  }');
  }
  return lines.join('\n');
}

/** Strides of `inShape` read as broadcast to `outShape` (0 along broadcast dimensions). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const lead = outShape.length - inShape.length;
  const st = stridesOf(inShape);
  return outShape.map((_, j) => (j < lead || inShape[j - lead] === 1 ? 0 : st[j - lead]));
}
