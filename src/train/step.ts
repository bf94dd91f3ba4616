import type { DType } from '../core/dtype.ts';
import { type Graph, Tensor, currentGraph, trace } from '../core/graph.ts';
import { backward } from '../core/autodiff.ts';
import { add, div, gather, loop, where, zerosLike, fullLike } from '../core/ops/index.ts';
import type { Dim } from '../core/shape.ts';
import { bind, type Module, type Parameter } from '../nn/module.ts';
import { withTraining } from '../nn/mode.ts';
import { collectExtras } from '../nn/extras.ts';
import { clipGradNorm, globalNorm, type Optimizer } from '../optim/optimizer.ts';
import { compileFor, type DeviceChoice } from '../runtime/compile-for.ts';
import {
  type DeviceTensor, type Executable, type HostTensor, isResident, type RunTraffic,
} from '../runtime/executor.ts';
import { DeviceState, homeParameters } from './resident.ts';
import type { SpinPolicy } from '../runtime/session.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Per-example inputs of a step: name -> dtype and shape with the batch dimension (e.g. `['batch', 784]`). */
export type BatchSpec = Record<string, { dtype: DType; shape: Dim[] }>;

/**
 * A loss function over the model and one batch; may return extra metrics to record per step. Auxiliary losses,
 * metrics and buffer updates that layers report (see nn/extras.ts) are added automatically.
 */
export type LossFn = (model: Module, batch: Record<string, Tensor>) => Tensor | { loss: Tensor; metrics?: Record<string, Tensor> };

/** Options of {@link TrainStep.compile}. */
export interface TrainStepOptions {
  /** The module whose parameters are trained (trainable parameters get gradients; buffers are carried). */
  model: Module;
  /** The loss of one micro-batch: `(model, batch) => scalar Tensor` (optionally with metrics). */
  loss: LossFn;
  /** Name, dtype and shape of every batch input (one micro-batch; the step stacks K of them). */
  batch: BatchSpec;
  /** The update rule, e.g. `optim.adamw({ weightDecay: 0.01 })`. */
  optimizer: Optimizer;
  /** Clip gradients to this global norm (off when absent). */
  clipNorm?: number;
  /** Micro-batches whose gradients are averaged per optimizer update (default 1). */
  accumulate?: number;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** When ORT worker threads spin (default `'run'`; see {@link SpinPolicy}). */
  spin?: SpinPolicy;
  /** Base seed of dropout masks; the same seed and data give the same run. */
  seed?: number;
  /** Where the step runs (default `cpu`: ONNX Runtime); see {@link DeviceChoice}. */
  device?: DeviceChoice;
}

/** Result of one {@link TrainStep.run} call. */
export interface StepResult {
  /** Loss (as returned by the loss function, without auxiliary terms) of every micro-step run. */
  losses: Float32Array;
  /** Global gradient norm (before clipping) of every micro-step. */
  gradNorms: Float32Array;
  /** Extra metrics per micro-step. */
  metrics: Record<string, Float32Array>;
  /**
   * Index of the first micro-step with a non-finite loss or gradient, or the last micro-step when the updated
   * parameters came out non-finite (see `nonFiniteParameter`); the state was then left unchanged.
   */
  nonFinite: number | null;
  /** The first parameter whose updated values were non-finite (e.g. an infinite learning rate), if any. */
  nonFiniteParameter?: string;
}

/**
 * What went non-finite in a {@link StepResult} whose `nonFinite` is set, for an error message.
 *
 * @example
 * divergence(r); // "the loss became NaN (gradient norm Infinity)" or "parameter 'fc1.weight' became non-finite"
 */
export function divergence(r: StepResult): string {
  const i = r.nonFinite ?? 0;
  return r.nonFiniteParameter ? `parameter '${r.nonFiniteParameter}' became non-finite` : `the loss became ${r.losses[i]} (gradient norm ${r.gradNorms[i]})`;
}

/** True when every value is finite (`x - x` is 0 for finite x and NaN for NaN and ±Infinity). */
function allFinite(a: Float32Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i] - a[i];
  return acc === 0;
}

const PREFIX = 'batch.';

/** One call's outputs, and how to accept its new state or drop it. */
interface StateCall {
  outputs: Record<string, HostTensor>;
  /** True when the updated values of `p` hold a NaN or an infinity. */
  nonFinite(p: Parameter): boolean;
  accept(): void;
  reject(): void;
}

/**
 * A whole training step — forward, backward, clipping, optimizer update — traced once into one graph and
 * run by ONNX Runtime (or by the WebGPU executor with `device: 'webgpu'`). Each call runs several micro-steps
 * inside one `loop` (an ONNX `Loop`; on WebGPU all of them in one command buffer), so on the CPU parameters and
 * optimizer state cross the JS/native boundary once per call, not once per step. On WebGPU they stay on the GPU
 * between calls (only losses, gradient norms, metrics and finiteness flags come back): `Parameter.data` and
 * {@link TrainStep.optimizerState} are brought up to date by {@link TrainStep.syncToHost}, which checkpoints,
 * `release` and forward passes on another device do themselves.
 *
 * @example
 * const step = await TrainStep.compile({ model, optimizer: adamw(), batch: { x: { dtype: 'f32', shape: ['batch', 4] }, y: { dtype: 'i64', shape: ['batch'] } },
 *   loss: (m, b) => crossEntropy(m.call(b.x), b.y) });
 * const r = await step.run({ x: xs, y: ys }, [1e-3]);   // xs: [steps, batch, 4]
 */
export class TrainStep {
  /** Optimizer state by `<param>.<state>` name. */
  readonly optimizerState = new Map<string, Float32Array>();
  /** Optimizer updates applied so far. */
  updates = 0;
  /** Micro-steps run so far (drives dropout seeds). */
  microSteps = 0;
  /** Parameters, buffers and optimizer state kept on the device between calls (null on the CPU). */
  private readonly state: DeviceState | null;

  private constructor(
    readonly graph: Graph,
    private readonly compiled: Executable,
    readonly trainable: Parameter[],
    readonly buffers: Parameter[],
    readonly optimizer: Optimizer,
    readonly accumulate: number,
    readonly metricNames: string[],
    readonly seed: number,
  ) {
    for (const p of trainable) for (const s of optimizer.stateNames) this.optimizerState.set(`${p.name}.${s}`, new Float32Array(p.data.length));
    this.state = isResident(compiled) ? new DeviceState(compiled) : null;
    if (this.state) homeParameters([...trainable, ...buffers], this.state);
  }

  /** Traces and compiles the step graph. */
  static async compile(o: TrainStepOptions): Promise<TrainStep> {
    const params = o.model.named().namedParameters().map(([, p]) => p);
    const trainable = params.filter((p) => p.trainable);
    const buffers = params.filter((p) => !p.trainable);
    const acc = o.accumulate ?? 1;
    if (!Number.isInteger(acc) || acc < 1) throw new SwitchyardError('E_CONFIG', `accumulate must be a positive integer, got ${acc}`, 'e.g. --accumulate 4');
    const metricNames: string[] = [];
    const graph = trace((g) => {
      const pIn = trainable.map((p) => g.input(p.name, 'f32', p.shape));
      const bIn = buffers.map((p) => g.input(p.name, 'f32', p.shape));
      const sIn = trainable.flatMap((p) => o.optimizer.stateNames.map((s) => g.input(`${p.name}.${s}`, 'f32', p.shape)));
      const stacked = Object.fromEntries(Object.entries(o.batch).map(([k, v]) => [k, g.input(PREFIX + k, v.dtype, ['steps', ...v.shape])]));
      const lr = g.input('lr', 'f32', ['steps']);
      const t = g.input('t', 'f32', ['steps']);
      const apply = g.input('apply', 'bool', ['steps']);
      const seed0 = g.input('seed', 'i64', []);
      const nS = o.optimizer.stateNames.length;
      const accIn = acc > 1 ? pIn.map((p) => zerosLike(p)) : [];
      const outs = loop('steps', [...pIn, ...sIn, ...accIn, ...bIn], (iter, ...carried) => {
        const body = currentGraph();
        const ps = carried.slice(0, pIn.length);
        const ss = carried.slice(pIn.length, pIn.length + sIn.length);
        const as = carried.slice(pIn.length + sIn.length, pIn.length + sIn.length + accIn.length);
        const bs = carried.slice(pIn.length + sIn.length + accIn.length);
        trainable.forEach((p, i) => bind(body, p, ps[i]));
        buffers.forEach((p, i) => bind(body, p, bs[i]));
        const batch = Object.fromEntries(Object.entries(stacked).map(([k, v]) => [k, gather(v, iter, 0)]));
        const { value: res, extras } = collectExtras(() => withTraining(add(seed0, iter), () => o.loss(o.model, batch)));
        const userLoss = res instanceof Tensor ? res : res.loss;
        const loss = extras.losses.reduce((acc, l) => add(acc, l.value), userLoss);
        const metrics: Record<string, Tensor> = { ...(res instanceof Tensor ? {} : (res.metrics ?? {})), ...extras.metrics };
        for (const l of extras.losses) metrics[l.name] = l.value;
        const newB = buffers.map((p, i) => extras.updates.get(p) ?? bs[i]);
        if (metricNames.length === 0) metricNames.push(...Object.keys(metrics));
        if (userLoss.rank !== 0 || userLoss.dtype !== 'f32') throw new SwitchyardError('E_SHAPE', `the loss must be an f32 scalar, got ${loss}`, 'reduce it with reduceMean');
        let grads = backward(loss, ps);
        const summed = acc > 1 ? grads.map((gr, i) => add(as[i], gr)) : grads;
        if (acc > 1) grads = summed.map((gr) => div(gr, acc));
        let norm: Tensor;
        if (o.clipNorm !== undefined) ({ grads, norm } = clipGradNorm(grads, o.clipNorm));
        else norm = globalNorm(grads);
        const lrI = gather(lr, iter, 0);
        const tI = gather(t, iter, 0);
        const applyI = gather(apply, iter, 0);
        const newP: Tensor[] = [];
        const newS: Tensor[] = [];
        trainable.forEach((p, i) => {
          const u = o.optimizer.update({ param: ps[i], grad: grads[i], state: ss.slice(i * nS, (i + 1) * nS), lr: lrI, step: tI, decay: p.decay });
          newP.push(acc > 1 ? where(applyI, u.param, ps[i]) : u.param);
          u.state.forEach((s, j) => newS.push(acc > 1 ? where(applyI, s, ss[i * nS + j]) : s));
        });
        const newA = acc > 1 ? summed.map((s) => where(applyI, fullLike(s, 0), s)) : [];
        return { carried: [...newP, ...newS, ...newA, ...newB], scans: [userLoss, norm, ...metricNames.map((m) => metrics[m])] };
      });
      const named: [string, Tensor][] = [];
      trainable.forEach((p, i) => named.push([`new.${p.name}`, outs[i]]));
      sIn.forEach((s, i) => named.push([`new.${s.name}`, outs[pIn.length + i]]));
      const nCarried = pIn.length + sIn.length + accIn.length;
      buffers.forEach((p, i) => named.push([`new.${p.name}`, outs[nCarried + i]]));
      const scans = outs.slice(nCarried + bIn.length);
      named.push(['losses', scans[0]], ['gradNorms', scans[1]]);
      metricNames.forEach((m, i) => named.push([`metric.${m}`, scans[2 + i]]));
      return Object.fromEntries(named);
    });
    const compiled = await compileFor(graph, { device: o.device, threads: o.threads, spin: o.spin, name: 'train_step' });
    return new TrainStep(graph, compiled, trainable, buffers, o.optimizer, acc, metricNames, o.seed ?? 0);
  }

  /**
   * Runs `k` micro-steps. `batches` holds each batch input stacked along a new leading axis of size k
   * (k a multiple of `accumulate`); `lrs` has one learning rate per optimizer update (k / accumulate).
   * On a non-finite loss, gradient or updated parameter nothing is updated and `nonFinite` says at which micro-step.
   */
  async run(batches: Record<string, HostTensor>, lrs: number[]): Promise<StepResult> {
    const first = Object.values(batches)[0];
    const k = first.shape[0];
    if (k % this.accumulate !== 0 || lrs.length !== k / this.accumulate) {
      throw new SwitchyardError('E_STEP', `run got ${k} micro-steps and ${lrs.length} learning rates with accumulate=${this.accumulate}`, 'pass a multiple of accumulate micro-steps and one rate per update');
    }
    const lr = new Float32Array(k);
    const t = new Float32Array(k);
    const apply = new Uint8Array(k);
    for (let i = 0; i < k; i++) {
      const u = Math.floor(i / this.accumulate);
      lr[i] = lrs[u];
      t[i] = this.updates + u + 1;
      apply[i] = (i + 1) % this.accumulate === 0 ? 1 : 0;
    }
    const feeds: Record<string, HostTensor> = {
      lr: { dtype: 'f32', shape: [k], data: lr },
      t: { dtype: 'f32', shape: [k], data: t },
      apply: { dtype: 'bool', shape: [k], data: apply },
      // Micro-step m (counted over the whole run) gets seed base + m, as iteration `iter` adds 1 per micro-step
      // inside the Loop: so masks do not depend on how micro-steps are grouped into calls.
      seed: { dtype: 'i64', shape: [], data: BigInt64Array.of(this.seedOfCall()) },
    };
    for (const [n, b] of Object.entries(batches)) feeds[PREFIX + n] = b;
    const fetch = ['losses', 'gradNorms', ...this.metricNames.map((m) => `metric.${m}`)];
    const call = this.state ? await this.callOnDevice(this.state, feeds, fetch) : await this.callOnHost(feeds);
    const out = call.outputs;
    const losses = out.losses.data as Float32Array;
    const gradNorms = out.gradNorms.data as Float32Array;
    let nonFinite: number | null = null;
    for (let i = 0; i < k; i++) {
      if (!Number.isFinite(losses[i]) || !Number.isFinite(gradNorms[i])) {
        nonFinite = i;
        break;
      }
    }
    // A finite loss and gradient can still give non-finite weights (an infinite learning rate, an overflowing
    // update): such a state is never accepted, so a checkpoint can never hold it.
    const badParameter = nonFinite === null ? this.trainable.find((p) => call.nonFinite(p)) : undefined;
    if (badParameter) nonFinite = k - 1;
    if (nonFinite === null) {
      call.accept();
      this.updates += k / this.accumulate;
      this.microSteps += k;
    } else call.reject();
    const metrics = Object.fromEntries(this.metricNames.map((m) => [m, out[`metric.${m}`].data as Float32Array]));
    return { losses, gradNorms, metrics, nonFinite, ...(badParameter ? { nonFiniteParameter: badParameter.name } : {}) };
  }

  /** One call with the state fed from and returned to the host (ONNX Runtime). */
  private async callOnHost(feeds: Record<string, HostTensor>): Promise<StateCall> {
    const stateParams = [...this.trainable, ...this.buffers];
    for (const p of stateParams) feeds[p.name] = { dtype: 'f32', shape: p.shape, data: p.data };
    for (const [n, s] of this.optimizerState) feeds[n] = { dtype: 'f32', shape: this.shapeOfState(n), data: s };
    const outputs = await this.compiled.run(feeds);
    const newValue = (name: string) => outputs[`new.${name}`].data as Float32Array;
    return {
      outputs,
      nonFinite: (p) => !allFinite(newValue(p.name)),
      accept: () => {
        for (const p of [...this.trainable, ...this.buffers]) p.data = newValue(p.name);
        for (const n of this.optimizerState.keys()) this.optimizerState.set(n, newValue(n));
      },
      reject: () => {},
    };
  }

  /**
   * One call with the state kept on the device: parameters, buffers and optimizer state are fed as device
   * tensors (uploaded only when their host copy was replaced), the updated ones stay there, and the only reads
   * are the fetched losses and metrics and one finiteness flag per trainable parameter.
   */
  private async callOnDevice(
    state: DeviceState, hostFeeds: Record<string, HostTensor>, fetch: string[],
  ): Promise<StateCall> {
    const feeds: Record<string, HostTensor | DeviceTensor> = { ...hostFeeds };
    const names: string[] = [];
    for (const p of [...this.trainable, ...this.buffers]) {
      feeds[p.name] = state.feed(p.name, p.shape, p.data);
      names.push(p.name);
    }
    for (const [n, s] of this.optimizerState) {
      feeds[n] = state.feed(n, this.shapeOfState(n), s);
      names.push(n);
    }
    const keep = names.map((n) => `new.${n}`);
    const checkFinite = this.trainable.map((p) => `new.${p.name}`);
    const r = await state.exe.runResident(feeds, { fetch, keep, checkFinite });
    return {
      outputs: r.outputs,
      nonFinite: (p) => r.nonFinite.includes(`new.${p.name}`),
      accept: () => names.forEach((n) => state.adopt(n, r.kept[`new.${n}`])),
      reject: () => Object.values(r.kept).forEach((t) => t.release()),
    };
  }

  /**
   * Brings the host copies — every `Parameter.data` of the model and {@link TrainStep.optimizerState} — up to
   * date with the device, where a step on WebGPU keeps them between calls; a no-op on the CPU. Call it before
   * reading them (checkpoints, weight copies, a pass on another device; {@link saveCheckpoint} and
   * {@link TrainStep.release} call it themselves). Host copies replaced since the last call (a checkpoint
   * loaded into the model) are kept, and uploaded by the next call.
   *
   * @example
   * await step.run(batches, lrs);
   * await step.syncToHost();
   * const w = model.fc1.weight.data; // current
   */
  async syncToHost(): Promise<void> {
    if (!this.state) return;
    const params = new Map([...this.trainable, ...this.buffers].map((p) => [p.name, p]));
    await this.state.sync((n) => params.get(n)?.data ?? this.optimizerState.get(n), (n, data) => {
      const p = params.get(n);
      if (p) p.data = data;
      else this.optimizerState.set(n, data);
    });
  }

  /**
   * The seed of the next micro-step. A runtime with 32-bit integers (WebGPU) gets it reduced mod 2^30, which
   * leaves room for the loop's `+ iter` below 2^31: its masks are then equal in distribution to the CPU's, not
   * bit-equal (the GPU's random stream is its own anyway).
   */
  private seedOfCall(): bigint {
    const seed = BigInt(this.seed) * 1_000_000_007n + BigInt(this.microSteps);
    return this.compiled.indexBits === 32 ? BigInt.asUintN(30, seed) : seed;
  }

  private shapeOfState(name: string): number[] {
    const p = this.trainable.find((q) => name.startsWith(q.name + '.') && this.optimizer.stateNames.includes(name.slice(q.name.length + 1)));
    return p!.shape;
  }

  /**
   * What the last call cost on the device (dispatches, bytes uploaded, bytes read back); undefined on the CPU.
   *
   * @example
   * console.log(step.lastRun?.readBytes);
   */
  get lastRun(): RunTraffic | undefined {
    return this.compiled.lastRun;
  }

  /** The ONNX bytes of the step (for inspection; undefined when the step runs on WebGPU). */
  get onnx(): Uint8Array | undefined {
    return 'bytes' in this.compiled ? (this.compiled.bytes as Uint8Array) : undefined;
  }

  /** Frees the session (after bringing the host copies up to date, see {@link TrainStep.syncToHost}). */
  async release(): Promise<void> {
    await this.syncToHost();
    if (this.state) {
      homeParameters([...this.trainable, ...this.buffers], null);
      this.state.release();
    }
    await this.compiled.release();
  }
}
