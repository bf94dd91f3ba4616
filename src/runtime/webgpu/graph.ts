/**
 * The WebGPU executor: runs a traced {@link Graph} op by op with generated WGSL kernels. One call is one
 * command encoder (all dispatches in one compute pass, then the copies of the fetched outputs); intermediates
 * live in pooled buffers returned at their last use (liveness), and only fetched outputs are read back.
 */
import type { Graph, Node, Tensor, TensorData } from '../../core/graph.ts';
import { SwitchyardError } from '../../util/errors.ts';
import { checkFeeds, type Executable, type HostTensor } from '../executor.ts';
import { numel } from '../reference/tensor.ts';
import { BufferPool, fromDeviceWords, type GpuBuf, toDeviceWords } from './buffers.ts';
import { acquireDevice, type WebGpuDevice } from './device.ts';
import { fuseGraph, type RunNode } from './fuse.ts';
import { kernelOf } from './fused-kernel.ts';
import { GPU_KERNELS } from './kernels/index.ts';
import { type GpuKernelContext, type KernelPlan, type Step, type StepBinding, WORKGROUP } from './kernels/wgsl.ts';
import { RowCounts } from './row-counts.ts';

/** A value during a run: its buffer (shared by aliases) and concrete shape. */
interface Value {
  buf: GpuBuf;
  shape: number[];
}

/** Options of {@link WebGpuGraph.create}. */
export interface WebGpuCompileOptions {
  /** The device to run on (default: {@link acquireDevice}'s). */
  device?: WebGpuDevice;
  /** Fuse elementwise chains into their consumers and transposes into matmuls (default true; see fuse.ts). */
  fuse?: boolean;
}

/** Throws `E_WEBGPU_OP` naming every op of `graph` that has no WebGPU kernel (and where it is used). */
function checkSupported(graph: Graph): void {
  const missing = new Map<string, string>();
  for (const node of graph.nodes) {
    if (node.op !== 'const' && !GPU_KERNELS[node.op] && !missing.has(node.op)) missing.set(node.op, node.scope);
  }
  if (missing.size === 0) return;
  const list = [...missing].map(([op, scope]) => (scope ? `'${op}' (in ${scope})` : `'${op}'`)).join(', ');
  throw new SwitchyardError('E_WEBGPU_OP', `the WebGPU runtime has no kernel for ${list}`,
    'run this graph on the CPU (ONNX Runtime) for now; see bench/webgpu-coverage.ts for the ops WebGPU has');
}

/** Throws `E_WEBGPU_RANGE` when an i64 constant of `graph` does not fit the GPU's 32 bits (before any run). */
function checkConstants(graph: Graph): void {
  for (const node of graph.nodes) {
    const t = node.outputs[0];
    if (node.op === 'const' && t.dtype === 'i64') {
      toDeviceWords(node.attrs.data as TensorData, t.dtype, `constant of ${node.scope || 'graph'}`);
    }
  }
}

/** A graph made runnable on a WebGPU device. */
export class WebGpuGraph implements Executable {
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly constants = new Map<Tensor, GpuBuf>();
  private readonly declared: Map<string, Tensor>;
  /** The nodes a run executes: the graph's, with fused groups in place of the nodes they absorb. */
  private readonly nodes: RunNode[];
  /** Kernels dispatched by the last run (aliases and empty outputs dispatch nothing). */
  dispatches = 0;
  /** Run-time row counts (splitRows, nonzero): see kernels/rows.ts; null when the graph has none. */
  private readonly rows: RowCounts | null;
  private rowBuf: GpuBuf | null = null;

  private constructor(
    private readonly graph: Graph,
    /** The device and its adapter's summary. */
    readonly gpu: WebGpuDevice,
    fuse: boolean,
  ) {
    this.pool = new BufferPool(gpu.device);
    this.declared = new Map(graph.inputs.map((t) => [t.name!, t]));
    const maxBindings = gpu.device.limits.maxStorageBuffersPerShaderStage;
    this.nodes = fuse ? fuseGraph(graph, { maxBindings }) : graph.nodes;
    this.rows = RowCounts.of(graph);
  }

  /**
   * Checks that every op of `graph` has a WebGPU kernel (`E_WEBGPU_OP` otherwise) and prepares it to run.
   *
   * @param graph a traced graph
   * @param opts the device (default: a new one from {@link acquireDevice})
   * @example
   * const exe = await WebGpuGraph.create(trace((g) => ({ y: relu(g.input('x', 'f32', [2])) })));
   * (await exe.run({ x: { dtype: 'f32', shape: [2], data: Float32Array.of(-1, 2) } })).y.data; // [0, 2]
   */
  static async create(graph: Graph, opts: WebGpuCompileOptions = {}): Promise<WebGpuGraph> {
    checkSupported(graph);
    checkConstants(graph);
    return new WebGpuGraph(graph, opts.device ?? (await acquireDevice()), opts.fuse ?? true);
  }

  /** Names of the graph inputs. */
  get inputNames(): string[] {
    return [...this.declared.keys()];
  }

  /** Names of the graph outputs. */
  get outputNames(): string[] {
    return this.graph.outputNames;
  }

  /** Runs the graph; see {@link Executable.run}. Only the outputs in `fetch` are copied back. */
  async run(feeds: Record<string, HostTensor>, fetch = this.outputNames): Promise<Record<string, HostTensor>> {
    const bound = checkFeeds(this.declared, feeds);
    for (const name of fetch) {
      if (!this.outputNames.includes(name)) {
        const known = this.outputNames.join(', ');
        throw new SwitchyardError('E_FETCH', `unknown output '${name}'`, `the outputs are: ${known}`);
      }
    }
    const { device } = this.gpu;
    const fetched = fetch.map((n) => this.graph.outputs[this.outputNames.indexOf(n)]);
    const uses = useCounts(this.nodes, fetched);
    this.dispatches = 0;
    const env = new Map<Tensor, Value>();
    // Every feed is narrowed (E_WEBGPU_RANGE) before any buffer is taken, so a refused call leaves nothing behind.
    const words = [...this.declared].filter(([, t]) => uses.get(t))
      .map(([name, t]) => [t, toDeviceWords(feeds[name].data, t.dtype, `input '${name}'`), feeds[name].shape] as const);
    for (const [t, w, shape] of words) env.set(t, { buf: this.upload(w), shape: [...shape] });
    // Uploads (queue.writeBuffer) land before the whole command buffer runs: do them all before any buffer is
    // freed for reuse by this run, so that no upload overwrites a buffer a dispatch still reads.
    for (const node of this.graph.nodes) {
      if (node.op === 'const' && uses.get(node.outputs[0])) this.constant(node);
    }
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const rowBuf = this.rowCountBuffer(encoder);
    const pass = encoder.beginComputePass();
    const ctxDim = (d: number | string) => (typeof d === 'number' ? d : bound.get(d) ?? this.rows?.upperBound(d));
    for (const node of this.nodes) {
      if (!node.outputs.some((o) => uses.get(o))) continue;
      const where = node.scope ? `${node.scope}: ${node.op}` : node.op;
      if (node.op === 'const') {
        env.set(node.outputs[0], { buf: this.constant(node), shape: [...(node.attrs.shape as number[])] });
        continue;
      }
      const ins = node.inputs.map((t) => env.get(t)!);
      const ctx: GpuKernelContext = {
        node, where, dim: ctxDim, features: this.gpu.adapter.features, rows: this.rows?.context(node),
      };
      const values = ins.map((v, k) => ({ dtype: node.inputs[k].dtype, shape: v.shape }));
      const plan = kernelOf(node)(values, node.attrs, ctx);
      this.encode(pass, plan, ins, node, env);
      this.zeroPadding(pass, plan, node, env);
      node.inputs.forEach((t) => this.drop(t, uses, env));
      node.outputs.forEach((t) => {
        if (!uses.get(t) && env.has(t)) this.pool.release(env.get(t)!.buf);
      });
    }
    pass.end();
    const staging = fetched.map((t) => {
      const v = env.get(t)!;
      const s = device.createBuffer({ size: v.buf.bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(v.buf.buffer, 0, s, 0, v.buf.bytes);
      return s;
    });
    const rowStaging = rowBuf && this.stageRowCounts(encoder, rowBuf);
    device.queue.submit([encoder.finish()]);
    const invalid = await device.popErrorScope();
    if (invalid) {
      throw new SwitchyardError('E_WEBGPU', `WebGPU rejected a kernel of this graph: ${invalid.message}`,
        'this is a bug of the WebGPU runtime: report it with the graph; run on the CPU meanwhile', 1);
    }
    for (const t of fetched) this.drop(t, uses, env);
    const out: Record<string, HostTensor> = {};
    await Promise.all([...staging, ...(rowStaging ? [rowStaging] : [])].map((s) => s.mapAsync(GPUMapMode.READ)));
    const rowWords = rowStaging && this.readRowCounts(rowStaging);
    fetch.forEach((name, k) => {
      const t = fetched[k];
      const shape = env.get(t)?.shape ?? [];
      out[name] = { dtype: t.dtype, shape, data: fromDeviceWords(staging[k].getMappedRange(), numel(shape), t.dtype) };
      if (rowWords) out[name] = this.rows!.trueTensor(t, out[name], rowWords);
      staging[k].destroy();
    });
    if (rowWords) this.rows!.checkStatus(rowWords);
    return out;
  }

  /** Frees the GPU buffers of this graph (the device stays: it may be shared). */
  async release(): Promise<void> {
    this.pool.destroy();
    for (const b of this.constants.values()) b.buffer.destroy();
    this.constants.clear();
    this.rowBuf = null;
  }

  private upload(words: Float32Array | Int32Array): GpuBuf {
    const buf = this.pool.acquire(words.length);
    if (words.length) this.gpu.device.queue.writeBuffer(buf.buffer, 0, words);
    return buf;
  }

  /** A const node's buffer, uploaded at its first use and kept (pinned) for later calls. */
  private constant(node: Node): GpuBuf {
    const t = node.outputs[0];
    let buf = this.constants.get(t);
    if (!buf) {
      buf = this.upload(toDeviceWords(node.attrs.data as TensorData, t.dtype, `constant of ${node.scope || 'graph'}`));
      buf.pinned = true;
      this.constants.set(t, buf);
    }
    return buf;
  }

  /** One use of `t` is done; at its last use its buffer goes back to the pool. */
  private drop(t: Tensor, uses: Map<Tensor, number>, env: Map<Tensor, Value>): void {
    const left = (uses.get(t) ?? 0) - 1;
    uses.set(t, left);
    if (left === 0) this.pool.release(env.get(t)!.buf);
  }

  private encode(pass: GPUComputePassEncoder, plan: KernelPlan, ins: Value[], node: Node, env: Map<Tensor, Value>) {
    if (plan.kind === 'alias') {
      const src = ins[plan.input];
      src.buf.refs++;
      env.set(node.outputs[0], { buf: src.buf, shape: plan.shape });
      return;
    }
    const outs = plan.outShapes.map((shape) => {
      return { buf: this.pool.acquire(numel(shape)), shape };
    });
    node.outputs.forEach((t, k) => env.set(t, outs[k]));
    this.rows?.planned(node, plan.outShapes);
    if (plan.kind === 'steps') {
      for (const step of plan.steps) this.encodeStep(pass, step, ins, outs);
      return;
    }
    this.dispatch(pass, plan.wgsl, plan.invocations, ins.map((v) => v.buf.buffer), outs.map((v) => v.buf.buffer),
      plan.workgroups);
  }

  /** One dispatch of `wgsl`: `reads` bound read-only at 0.., then `writes`; `workgroups` overrides the count. */
  private dispatch(pass: GPUComputePassEncoder, wgsl: string, invocations: number, reads: GPUBuffer[],
    writes: GPUBuffer[], workgroups?: number | [number, number, number]): void {
    if (invocations === 0) return;
    this.dispatches++;
    const pipeline = this.pipeline(wgsl, reads.length, writes.length);
    const entries = [...reads, ...writes].map((buffer, binding) => ({ binding, resource: { buffer } }));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    if (Array.isArray(workgroups)) {
      pass.dispatchWorkgroups(...workgroups);
      return;
    }
    const groups = workgroups ?? Math.ceil(invocations / WORKGROUP);
    const x = Math.min(groups, this.gpu.device.limits.maxComputeWorkgroupsPerDimension);
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  }

  // --- run-time row counts (design: kernels/rows.ts) ---

  /** One step of a multi-dispatch plan, its bindings resolved to the node's values and the row-count buffer. */
  private encodeStep(pass: GPUComputePassEncoder, step: Step, ins: Value[], outs: Value[]): void {
    const buffer = (b: StepBinding) =>
      (b === 'rowCounts' ? this.rowBuf! : 'input' in b ? ins[b.input].buf : outs[b.output].buf).buffer;
    this.dispatch(pass, step.wgsl, step.invocations, step.reads.map(buffer), step.writes.map(buffer));
  }

  /** Zeroes the padding of a node's outputs with run-time dims (unless its plan did; aliases share their input's). */
  private zeroPadding(pass: GPUComputePassEncoder, plan: KernelPlan, node: Node, env: Map<Tensor, Value>): void {
    if (!this.rows || plan.kind === 'alias' || (plan.kind === 'steps' && plan.padded)) return;
    for (const t of node.outputs) {
      const v = env.get(t)!;
      const step = this.rows.padding(t, v.shape);
      if (step) this.encodeStep(pass, step, [], [v]);
    }
  }

  /** The row-count buffer (made once, pinned), cleared at the start of each run; null without row counts. */
  private rowCountBuffer(encoder: GPUCommandEncoder): GpuBuf | null {
    if (!this.rows) return null;
    if (!this.rowBuf) {
      this.rowBuf = this.pool.acquire(this.rows.size);
      this.rowBuf.pinned = true;
    }
    encoder.clearBuffer(this.rowBuf.buffer);
    return this.rowBuf;
  }

  private stageRowCounts(encoder: GPUCommandEncoder, buf: GpuBuf): GPUBuffer {
    const usage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const staging = this.gpu.device.createBuffer({ size: buf.bytes, usage });
    encoder.copyBufferToBuffer(buf.buffer, 0, staging, 0, buf.bytes);
    return staging;
  }

  private readRowCounts(staging: GPUBuffer): Int32Array {
    const words = new Int32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return words;
  }

  /** The pipeline of `wgsl`, compiled once; bindings are explicit so that unused inputs stay bindable. */
  private pipeline(wgsl: string, nIn: number, nOut: number): GPUComputePipeline {
    let p = this.pipelines.get(wgsl);
    if (p) return p;
    const key = `${nIn}/${nOut}`;
    let layout = this.layouts.get(key);
    if (!layout) {
      const entry = (binding: number, type: GPUBufferBindingType) =>
        ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
      const entries = [...Array(nIn).keys()].map((k) => entry(k, 'read-only-storage'));
      for (let k = 0; k < nOut; k++) entries.push(entry(nIn + k, 'storage'));
      layout = this.gpu.device.createBindGroupLayout({ entries });
      this.layouts.set(key, layout);
    }
    const module = this.gpu.device.createShaderModule({ code: wgsl });
    const pipelineLayout = this.gpu.device.createPipelineLayout({ bindGroupLayouts: [layout] });
    p = this.gpu.device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'main' } });
    this.pipelines.set(wgsl, p);
    return p;
  }
}

/** How many times each value is read in a run: by the nodes that need computing, and once per fetch. */
function useCounts(nodes: Node[], fetched: Tensor[]): Map<Tensor, number> {
  const uses = new Map<Tensor, number>();
  for (const t of fetched) uses.set(t, (uses.get(t) ?? 0) + 1);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.outputs.some((o) => uses.get(o))) continue;
    for (const t of node.inputs) uses.set(t, (uses.get(t) ?? 0) + 1);
  }
  return uses;
}
