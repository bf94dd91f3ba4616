/**
 * The `loop` op on WebGPU: all K iterations are encoded into the calling run's one compute pass, so a call of a
 * K-step training graph is one command buffer with no CPU round trip inside. Each iteration dispatches the
 * body's nodes again with the carried values swapped (the body's results become the next iteration's inputs,
 * by reference: no copies), copies each per-iteration (scan) output into its slice of the stacked `[K, ...]`
 * output, and then increments the iteration counter — a one-word GPU buffer that the body reads as `iter`
 * and the scan copies read to find their slice, so no iteration needs its own upload or its own pipeline.
 */
import type { Graph, Node, Tensor } from '../../core/graph.ts';
import { SwitchyardError } from '../../util/errors.ts';
import { numel } from '../reference/tensor.ts';
import type { GpuBuf } from './buffers.ts';
import type { RunEncoding, Value, WebGpuGraph } from './graph.ts';
import { useCounts } from './graph-plan.ts';
import { shader, u, wgslType } from './kernels/wgsl.ts';

/** The name of the op this module runs. */
export const LOOP_OP = 'loop';

/** Sets the counter (i32, one word) to 0; dispatched before the first iteration. */
const COUNTER_ZERO = shader([], ['i64'], 1, '  out0[0] = 0;');
/** Adds 1 to the counter; dispatched after each iteration. */
const COUNTER_NEXT = shader([], ['i64'], 1, '  out0[0] = out0[0] + 1;');

/** Writes `in0` (n words) into slice `in1[0]` (the counter) of `out0`, which holds K such slices. */
function scanCopy(dtype: Tensor['dtype'], n: number): string {
  const binds = [
    `@group(0) @binding(0) var<storage, read> in0: array<${wgslType(dtype)}>;`,
    '@group(0) @binding(1) var<storage, read> in1: array<i32>;',
    `@group(0) @binding(2) var<storage, read_write> out0: array<${wgslType(dtype)}>;`,
  ];
  return `${binds.join('\n')}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 64u;
  if (i >= ${u(n)}) { return; }
  out0[u32(in1[0]) * ${u(n)} + i] = in0[i];
}
`;
}

/**
 * Encodes loop `node` of the graph `exe` runs: reads its initial carried values and captured values from
 * `env` and sets its outputs there (final carried values, then the stacked scans). The caller drops the
 * node's reads afterwards, as for any node.
 *
 * @param exe the executable whose pool, pipelines and node encoder the body uses
 * @param node a `loop` node
 * @param env values of the enclosing graph
 * @param run the pass and symbol bindings of the current run
 * @example
 * if (node.op === LOOP_OP) encodeLoop(this, node, env, run);
 */
export function encodeLoop(exe: WebGpuGraph, node: Node, env: Map<Tensor, Value>, run: RunEncoding): void {
  const body = node.attrs.body as Graph;
  const nCarried = node.inputs.length;
  const trips = typeof node.attrs.trips === 'number' ? node.attrs.trips : run.dim(node.attrs.trips as string);
  if (trips === undefined || !Number.isInteger(trips) || trips < 0) {
    throw new SwitchyardError('E_WEBGPU', `${node.scope || 'loop'}: the trip count '${node.attrs.trips}' is not bound`,
      'feed an input that has this dimension', 1);
  }
  // This loop holds one reference to each carried value and to the counter; the body takes its own per use.
  let carried = node.inputs.map((t) => env.get(t)!);
  carried.forEach((v) => v.buf.refs++);
  const counter = exe.acquire(1);
  exe.dispatch(run.pass, COUNTER_ZERO, [], [counter], 1);
  const resolve = (t: Tensor) => t.shape.map((d) => (typeof d === 'number' ? d : run.dim(d)));
  const scanShapes = body.outputs.slice(nCarried).map(resolve);
  const scans: (GpuBuf | null)[] = scanShapes.map(() => null);
  for (let k = 0; k < trips; k++) {
    const results = runBody(exe, body, [{ buf: counter, shape: [] }, ...carried], env, run);
    carried.forEach((v) => exe.releaseBuf(v.buf));
    carried = results.slice(0, nCarried);
    results.slice(nCarried).forEach((v, j) => {
      const t = body.outputs[nCarried + j];
      scanShapes[j] = v.shape;
      scans[j] ??= exe.acquire(trips * numel(v.shape));
      const n = numel(v.shape);
      if (n > 0) exe.dispatch(run.pass, scanCopy(t.dtype, n), [v.buf, counter], [scans[j]!], n);
      exe.releaseBuf(v.buf);
    });
    exe.dispatch(run.pass, COUNTER_NEXT, [], [counter], 1);
  }
  exe.releaseBuf(counter);
  node.outputs.forEach((t, i) => {
    if (i < nCarried) {
      env.set(t, carried[i]);
      return;
    }
    const shape = scanShapes[i - nCarried];
    if (shape.some((d) => d === undefined)) {
      const what = `${node.scope || 'loop'}: a scan of a loop that ran 0 times has a free dimension`;
      throw new SwitchyardError('E_WEBGPU', what,
        'run at least one iteration', 1);
    }
    const buf = scans[i - nCarried] ?? exe.acquire(0);
    env.set(t, { buf, shape: [trips, ...(shape as number[])] });
  });
}

/**
 * One iteration: binds the body's inputs (`inputs`: the counter, then the carried values) and captures, encodes
 * the body, and returns its results, each holding one reference the caller owns.
 */
function runBody(exe: WebGpuGraph, body: Graph, inputs: Value[], outer: Map<Tensor, Value>, run: RunEncoding): Value[] {
  const uses = useCounts(exe.nodesOf(body), body.outputs);
  const env = new Map<Tensor, Value>();
  const bindValue = (inner: Tensor, v: Value) => {
    if (!uses.get(inner)) return;
    v.buf.refs++;
    env.set(inner, v);
  };
  body.inputs.forEach((t, i) => bindValue(t, inputs[i]));
  for (const [o, inner] of body.captures) bindValue(inner, outer.get(o)!);
  exe.encodeNodes(body, env, uses, run);
  const results = body.outputs.map((t) => {
    const v = env.get(t)!;
    v.buf.refs++;
    return v;
  });
  body.outputs.forEach((t) => exe.drop(t, uses, env));
  return results;
}
