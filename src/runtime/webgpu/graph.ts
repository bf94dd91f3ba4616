/**
 * The WebGPU executor: runs a traced {@link Graph} op by op with generated WGSL kernels. One call is one
 * command encoder (all dispatches in one compute pass, then the copies of the fetched outputs); intermediates
 * live in pooled buffers returned at their last use (liveness), and only fetched outputs are read back.
 */
import type { Graph, Node, Tensor, TensorData } from '../../core/graph.ts';
import type { Dim } from '../../core/shape.ts';
import { SwitchyardError } from '../../util/errors.ts';
import {
  checkFeeds, type DeviceTensor, type HostTensor, type ResidentExecutable, type ResidentRun, type ResidentRunOptions,
  type RunTraffic,
} from '../executor.ts';
import { numel } from '../reference/tensor.ts';
import { BufferPool, fromDeviceWords, type GpuBuf, toDeviceWords } from './buffers.ts';
import { acquireDevice, type WebGpuDevice } from './device.ts';
import { finiteCheck, GpuTensor, readStaged, stageCopies } from './resident.ts';
import { fuseGraph } from './fuse.ts';
import { kernelOf } from './fused-kernel.ts';
import { encodeLoop, LOOP_OP } from './loop.ts';
import { checkConstants, checkSupported, readsOf, useCounts } from './graph-plan.ts';
import { type GpuKernelContext, type KernelPlan, type Step, type StepBinding, WORKGROUP } from './kernels/wgsl.ts';
import { RowCounts } from './row-counts.ts';

/** A value during a run: its buffer (shared by aliases) and concrete shape. */
export interface Value {
  buf: GpuBuf;
  shape: number[];
}

/** What the nodes of one run share while they are encoded: the compute pass and the symbol bindings. */
export interface RunEncoding {
  readonly pass: GPUComputePassEncoder;
  /** The size of a dimension under the run's bindings; undefined for an unbound symbol. */
  dim(d: Dim): number | undefined;
  /** Binds the symbols of `t`'s declared shape that nothing bound yet from its computed `shape`. */
  learn?(t: Tensor, shape: readonly number[]): void;
}

/** Options of {@link WebGpuGraph.create}. */
export interface WebGpuCompileOptions {
  /** The device to run on (default: {@link acquireDevice}'s). */
  device?: WebGpuDevice;
  /** Fuse elementwise chains into their consumers' kernels (default true; see fuse.ts). */
  fuse?: boolean;
}

/** A graph made runnable on a WebGPU device. */
export class WebGpuGraph implements ResidentExecutable {
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly constants = new Map<Tensor, GpuBuf>();
  private readonly declared: Map<string, Tensor>;
  /** Kernels dispatched by the last run (aliases and empty outputs dispatch nothing). */
  dispatches = 0;
  /** The node lists runs execute, per graph level (the graph, loop bodies): fused when fusion is on. */
  private readonly runNodes = new Map<Graph, readonly Node[]>();
  /** Run-time row counts (splitRows, nonzero): see kernels/rows.ts; null when the graph has none. */
  private readonly rows: RowCounts | null;
  private rowBuf: GpuBuf | null = null;
  /** What the last run cost: compute dispatches, bytes uploaded from host feeds, bytes read back. */
  lastRun: RunTraffic = { dispatches: 0, uploadedBytes: 0, readBytes: 0 };
  /** WGSL has no 64-bit integers: i64 values are narrowed to 32 bits (checked on upload). */
  readonly indexBits = 32;

  private constructor(
    private readonly graph: Graph,
    /** The device and its adapter's summary. */
    readonly gpu: WebGpuDevice,
    private readonly fuse: boolean,
  ) {
    this.pool = new BufferPool(gpu.device);
    this.declared = new Map(graph.inputs.map((t) => [t.name!, t]));
    this.rows = RowCounts.of(graph);
  }

  /**
   * Checks that every op of `graph` has a WebGPU kernel (`E_WEBGPU_OP` otherwise) and prepares it to run.
   *
   * @param graph a traced graph
   * @param opts the device (default: a new one from {@link acquireDevice}) and whether to fuse
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
    return (await this.runResident(feeds, { fetch, keep: [] })).outputs;
  }

  /**
   * Runs the graph on host feeds and {@link GpuTensor}s (used in place, never written): the `fetch` outputs come
   * back through one staging buffer, the `keep` outputs stay on the GPU as new {@link GpuTensor}s (the caller
   * releases them), and the `checkFinite` ones among them are checked on the GPU, their flags read back with the
   * fetched outputs. All of it is one command buffer.
   */
  async runResident(feeds: Record<string, HostTensor | DeviceTensor>, opts: ResidentRunOptions): Promise<ResidentRun> {
    const bound = checkFeeds(this.declared, feeds);
    const check = opts.checkFinite ?? [];
    const fetched = opts.fetch.map((n) => this.output(n));
    const kept = opts.keep.map((n) => this.output(n));
    for (const n of check) {
      if (!opts.keep.includes(n)) throw new SwitchyardError('E_FETCH', `'${n}' is checked but not kept`, 'keep it');
    }
    const { device } = this.gpu;
    const uses = useCounts(this.nodesOf(this.graph), [...fetched, ...kept]);
    const env = new Map<Tensor, Value>();
    const traffic = { dispatches: 0, uploadedBytes: 0, readBytes: 0 };
    // Every host feed is narrowed (E_WEBGPU_RANGE) before any buffer is taken: a refused call leaves nothing behind.
    const used = [...this.declared].filter(([, t]) => uses.get(t));
    const hostWords = used.map(([name, t]) => {
      const f = feeds[name];
      return 'data' in f ? toDeviceWords(f.data, t.dtype, `input '${name}'`) : null;
    });
    used.forEach(([name, t], k) => env.set(t, this.feedValue(name, feeds[name], hostWords[k], traffic)));
    // Uploads (queue.writeBuffer) land before the whole command buffer runs: do them all before any buffer is
    // freed for reuse by this run, so that no upload overwrites a buffer a dispatch still reads.
    this.uploadConstants(this.graph);
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const flags = check.length ? this.pool.acquire(check.length) : null;
    if (flags) encoder.clearBuffer(flags.buffer);
    const rowBuf = this.rowCountBuffer(encoder);
    const pass = encoder.beginComputePass();
    this.dispatches = 0;
    const dim = (d: Dim): number | undefined => {
      if (typeof d === 'number') return d;
      const whole = bound.get(d) ?? this.rows?.upperBound(d);
      if (whole !== undefined || !d.includes('*')) return whole;
      // A product of symbols ('2*tokens'): the product of its factors' sizes.
      let n = 1;
      for (const f of d.split('*')) {
        const v = /^\d+$/.test(f) ? Number(f) : bound.get(f) ?? this.rows?.upperBound(f);
        if (v === undefined) return undefined;
        n *= v;
      }
      return n;
    };
    // Symbols no feed binds (a reshape's 'tokens') are learnt from the first value computed with them.
    const learn = (t: Tensor, shape: readonly number[]) => t.shape.forEach((d, j) => {
      if (typeof d === 'string' && !d.startsWith('?') && dim(d) === undefined) bound.set(d, shape[j]);
    });
    const run = { pass, dim, learn };
    this.encodeNodes(this.graph, env, uses, run);
    check.forEach((name, slot) => {
      const v = env.get(kept[opts.keep.indexOf(name)])!;
      if (numel(v.shape)) this.dispatch(pass, finiteCheck(numel(v.shape), slot), [v.buf], [flags!], numel(v.shape));
    });
    pass.end();
    const extra = [...(flags ? [flags] : []), ...(rowBuf ? [rowBuf] : [])];
    const staged = stageCopies(device, encoder, [...fetched.map((t) => env.get(t)!.buf), ...extra]);
    device.queue.submit([encoder.finish()]);
    const invalid = await device.popErrorScope();
    if (invalid) {
      throw new SwitchyardError('E_WEBGPU', `WebGPU rejected a kernel of this graph: ${invalid.message}`,
        'this is a bug of the WebGPU runtime: report it with the graph; run on the CPU meanwhile', 1);
    }
    const keptTensors = Object.fromEntries(opts.keep.map((name, k) => {
      const v = env.get(kept[k])!;
      v.buf.refs++;
      return [name, new GpuTensor(kept[k].dtype, v.shape, v.buf, this.pool, device)];
    }));
    const shapes = fetched.map((t) => env.get(t)!.shape);
    for (const t of [...fetched, ...kept]) this.drop(t, uses, env);
    const words = await readStaged(staged);
    traffic.readBytes = staged.sizes.reduce((a, b) => a + b, 0);
    traffic.dispatches = this.dispatches;
    this.lastRun = traffic;
    const outputs: Record<string, HostTensor> = {};
    // The true row counts (the last staged words): fetched outputs are trimmed to them, bad sizes reported.
    const rowWords = rowBuf ? new Int32Array(words[words.length - 1]) : null;
    opts.fetch.forEach((name, k) => {
      const { dtype } = fetched[k];
      outputs[name] = { dtype, shape: shapes[k], data: fromDeviceWords(words[k], numel(shapes[k]), dtype) };
      if (rowWords) outputs[name] = this.rows!.trueTensor(fetched[k], outputs[name], rowWords);
    });
    if (rowWords) this.rows!.checkStatus(rowWords);
    const flagWords = flags ? new Uint32Array(words[fetched.length]) : new Uint32Array(0);
    if (flags) this.pool.release(flags);
    return { outputs, kept: keptTensors, nonFinite: check.filter((_, slot) => flagWords[slot] !== 0) };
  }

  /** Copies `t` into a pooled buffer of this executable, kept until released; see {@link ResidentExecutable}. */
  upload(t: HostTensor, name: string): GpuTensor {
    const buf = this.uploadWords(toDeviceWords(t.data, t.dtype, name));
    return new GpuTensor(t.dtype, [...t.shape], buf, this.pool, this.gpu.device);
  }

  /** True for a {@link GpuTensor} on this executable's device. */
  accepts(t: DeviceTensor): boolean {
    return t instanceof GpuTensor && t.device === this.gpu.device;
  }

  /** The graph output named `name` (`E_FETCH` when there is none). */
  private output(name: string): Tensor {
    const k = this.outputNames.indexOf(name);
    if (k < 0) {
      const known = this.outputNames.join(', ');
      throw new SwitchyardError('E_FETCH', `unknown output '${name}'`, `the outputs are: ${known}`);
    }
    return this.graph.outputs[k];
  }

  /** The value of input `name` in a run: a fed GPU tensor in place, or the host feed's `words` uploaded. */
  private feedValue(name: string, f: HostTensor | DeviceTensor, words: Float32Array | Int32Array | null,
    traffic: { uploadedBytes: number }): Value {
    if (!words) {
      if (!this.accepts(f as DeviceTensor)) {
        throw new SwitchyardError('E_FEED', `input '${name}': a device tensor of another device or runtime`,
          'feed host data, or a tensor uploaded by an executable on the same WebGPU device');
      }
      const buf = (f as GpuTensor).buf;
      buf.refs++;
      return { buf, shape: [...f.shape] };
    }
    traffic.uploadedBytes += words.byteLength;
    return { buf: this.uploadWords(words), shape: [...f.shape] };
  }

  /**
   * Encodes the nodes of `graph` (the whole graph, or a loop body) whose outputs are used, into `run`'s pass:
   * values come from `env` and go there; each value's buffer returns to the pool after its last use.
   */
  encodeNodes(graph: Graph, env: Map<Tensor, Value>, uses: Map<Tensor, number>, run: RunEncoding): void {
    for (const node of this.nodesOf(graph)) {
      if (!node.outputs.some((o) => uses.get(o))) continue;
      const where = node.scope ? `${node.scope}: ${node.op}` : node.op;
      if (node.op === 'const') {
        env.set(node.outputs[0], { buf: this.constant(node), shape: [...(node.attrs.shape as number[])] });
        continue;
      }
      if (node.op === LOOP_OP) {
        encodeLoop(this, node, env, run);
      } else {
        const ins = node.inputs.map((t) => env.get(t)!);
        const ctx: GpuKernelContext = {
          node, where, dim: run.dim, features: this.gpu.adapter.features, rows: this.rows?.context(node),
        };
        const values = ins.map((v, k) => ({ dtype: node.inputs[k].dtype, shape: v.shape }));
        const plan = kernelOf(node)(values, node.attrs, ctx);
        this.encode(run.pass, plan, ins, node, env);
        this.zeroPadding(run.pass, plan, node, env);
        for (const t of node.outputs) if (env.has(t)) run.learn?.(t, env.get(t)!.shape);
      }
      readsOf(node).forEach((t) => this.drop(t, uses, env));
      node.outputs.forEach((t) => {
        if (!uses.get(t) && env.has(t)) this.pool.release(env.get(t)!.buf);
      });
    }
  }

  /**
   * The nodes a run executes for `graph` (this executable's graph or a loop body), in order: the place where a
   * rewrite of the node list (such as fusion) is applied to every graph level alike.
   */
  nodesOf(graph: Graph): readonly Node[] {
    if (!this.fuse) return graph.nodes;
    let nodes = this.runNodes.get(graph);
    if (!nodes) {
      nodes = fuseGraph(graph, { maxBindings: this.gpu.device.limits.maxStorageBuffersPerShaderStage });
      this.runNodes.set(graph, nodes);
    }
    return nodes;
  }

  /** A pooled buffer for `n` four-byte elements (one reference). */
  acquire(n: number): GpuBuf {
    return this.pool.acquire(n);
  }

  /** Drops one reference to `buf` (see {@link BufferPool.release}). */
  releaseBuf(buf: GpuBuf): void {
    this.pool.release(buf);
  }

  /**
   * Dispatches `wgsl` (one invocation per index below `invocations`; none when it is 0) over `ins` (read) and
   * `outs` (written); `workgroups` overrides the workgroup count a kernel plan chose itself.
   */
  dispatch(pass: GPUComputePassEncoder, wgsl: string, ins: GpuBuf[], outs: GpuBuf[], invocations: number,
    workgroups?: number | [number, number, number]): void {
    if (invocations === 0) return;
    this.dispatches++;
    const pipeline = this.pipeline(wgsl, ins.length, outs.length);
    const entries = [...ins, ...outs].map((b, binding) => ({ binding, resource: { buffer: b.buffer } }));
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

  /** Frees the GPU buffers of this graph (the device stays: it may be shared). */
  async release(): Promise<void> {
    this.pool.destroy();
    for (const b of this.constants.values()) b.buffer.destroy();
    this.constants.clear();
    this.rowBuf = null;
  }

  private uploadWords(words: Float32Array | Int32Array): GpuBuf {
    const buf = this.pool.acquire(words.length);
    if (words.length) this.gpu.device.queue.writeBuffer(buf.buffer, 0, words);
    return buf;
  }

  /** Uploads the constants of `graph` and of its loop bodies (once per executable). */
  private uploadConstants(graph: Graph): void {
    for (const node of graph.nodes) {
      if (node.op === 'const') this.constant(node);
      else if (node.op === LOOP_OP) this.uploadConstants(node.attrs.body as Graph);
    }
  }

  /** A const node's buffer, uploaded at its first use and kept (pinned) for later calls. */
  private constant(node: Node): GpuBuf {
    const t = node.outputs[0];
    let buf = this.constants.get(t);
    if (!buf) {
      const where = `constant of ${node.scope || 'graph'}`;
      buf = this.uploadWords(toDeviceWords(node.attrs.data as TensorData, t.dtype, where));
      buf.pinned = true;
      this.constants.set(t, buf);
    }
    return buf;
  }

  /** One use of `t` is done; at its last use its buffer goes back to the pool. */
  drop(t: Tensor, uses: Map<Tensor, number>, env: Map<Tensor, Value>): void {
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
    this.dispatch(pass, plan.wgsl, ins.map((v) => v.buf), outs.map((v) => v.buf), plan.invocations, plan.workgroups);
  }

  // --- run-time row counts (design: kernels/rows.ts) ---

  /** One step of a multi-dispatch plan, its bindings resolved to the node's values and the row-count buffer. */
  private encodeStep(pass: GPUComputePassEncoder, step: Step, ins: Value[], outs: Value[]): void {
    const buffer = (b: StepBinding) => (b === 'rowCounts' ? this.rowBuf! : 'input' in b ? ins[b.input].buf : outs[b.output].buf);
    this.dispatch(pass, step.wgsl, step.reads.map(buffer), step.writes.map(buffer), step.invocations);
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
