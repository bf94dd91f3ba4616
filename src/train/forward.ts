import { type Tensor, trace } from '../core/graph.ts';
import type { TensorData } from '../core/graph.ts';
import { bind, type Module } from '../nn/module.ts';
import { compileFor, type DeviceChoice } from '../runtime/compile-for.ts';
import {
  type DeviceTensor, type Executable, type HostTensor, isResident, type RunTraffic,
} from '../runtime/executor.ts';
import { DeviceState, parameterFeed } from './resident.ts';
import type { SpinPolicy } from '../runtime/session.ts';
import { encodeModel, type OnnxModel } from '../runtime/onnx/proto.ts';
import { irVersionFor, lowerGraph, OPSET } from '../runtime/onnx/lower.ts';
import { MAX_OPSET, MIN_OPSET } from '../runtime/onnx/opsets.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkRanges, type NumberRange } from '../util/ranges.ts';
import { validateModel } from '../runtime/onnx/validate.ts';
import type { BatchSpec } from './step.ts';

/** A forward computation over a batch: returns named outputs (logits, probabilities, loss...). */
export type ForwardFn = (model: Module, batch: Record<string, Tensor>) => Record<string, Tensor>;

function traceForward(model: Module, fn: ForwardFn, spec: BatchSpec, bakeWeights: boolean) {
  const params = model.named().namedParameters().map(([, p]) => p);
  const initializers = new Map<Tensor, TensorData>();
  const graph = trace((g) => {
    for (const p of params) {
      const t = g.input(p.name, 'f32', p.shape);
      bind(g, p, t);
      if (bakeWeights) initializers.set(t, p.data);
    }
    const batch = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, g.input(k, v.dtype, v.shape)]));
    return fn(model, batch);
  });
  return { graph, initializers, params };
}

/** Options of {@link Forward.compile}. */
export interface ForwardOptions {
  /** ONNX Runtime intra-op threads (CPU only). */
  threads?: number;
  /** When ORT worker threads spin (CPU only). */
  spin?: SpinPolicy;
  /** Where the pass runs (default `cpu`); see {@link DeviceChoice}. */
  device?: DeviceChoice;
}

/**
 * A compiled evaluation/inference pass (eval mode: no dropout). Parameters are fed on each call, so the same
 * session follows the weights as training changes them.
 *
 * @example
 * const fwd = await Forward.compile(model, (m, b) => ({ probs: softmax(m.call(b.x)) }), { x: { dtype: 'f32', shape: ['batch', 4] } });
 * const { probs } = await fwd.run({ x: { dtype: 'f32', shape: [2, 4], data } });
 */
export class Forward {
  /** Weights this pass uploaded to its device, once per host array (null on the CPU). */
  private readonly uploads: DeviceState | null;

  private constructor(
    private readonly compiled: Executable,
    private readonly model: Module,
  ) {
    this.uploads = isResident(compiled) ? new DeviceState(compiled) : null;
  }

  static async compile(model: Module, fn: ForwardFn, spec: BatchSpec, opts: ForwardOptions = {}): Promise<Forward> {
    const { graph } = traceForward(model, fn, spec, false);
    const compiled = await compileFor(graph, { device: opts.device, threads: opts.threads, spin: opts.spin, name: 'forward' });
    return new Forward(compiled, model);
  }

  /**
   * Runs one batch with the model's current weights. On WebGPU the weights are not uploaded per call: those a
   * WebGPU step trains on the same device are read where the step keeps them, the others are uploaded once per
   * host array (a new array, as `loadStateDict` assigns, is uploaded again).
   */
  async run(batch: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const feeds: Record<string, HostTensor | DeviceTensor> = { ...batch };
    for (const [n, p] of this.model.namedParameters()) feeds[n] = await parameterFeed(p, this.compiled, this.uploads);
    const exe = this.compiled;
    if (isResident(exe)) return (await exe.runResident(feeds, { fetch: exe.outputNames, keep: [] })).outputs;
    return this.compiled.run(feeds as Record<string, HostTensor>);
  }

  /**
   * What the last call cost on the device (dispatches, bytes uploaded, bytes read back); undefined on the CPU.
   *
   * @example
   * console.log(pass.lastRun?.readBytes);
   */
  get lastRun(): RunTraffic | undefined {
    return this.compiled.lastRun;
  }

  async release(): Promise<void> {
    this.uploads?.release();
    await this.compiled.release();
  }
}

/**
 * Range of the target opset of an export (`--target-opset`): the opsets Switchyard's op table checks, 17 (onnx
 * 1.12, IR 8) to 21.
 *
 * @example
 * const spec = { 'target-opset': { type: 'number', ...EXPORT_RANGES.opset, help: 'ONNX opset' } };
 */
export const EXPORT_RANGES = {
  opset: { flag: '--target-opset', min: MIN_OPSET, max: MAX_OPSET, integer: true },
} as const satisfies Record<string, NumberRange & { flag: string }>;

/**
 * Options of {@link exportOnnx}.
 *
 * @example
 * const o: ExportOnnxOptions = { opset: 17 }; // readable by onnx 1.12 (IR 8)
 */
export interface ExportOnnxOptions {
  /** Default-domain opset to write, {@link MIN_OPSET}..{@link MAX_OPSET} (default {@link OPSET}, 18). */
  opset?: number;
  /** Rewrites the lowered model before it is validated (e.g. the raw-column encoder of a tabular export). */
  edit?: (model: OnnxModel) => OnnxModel;
}

/**
 * The deployable inference graph as ONNX bytes: weights baked in as initializers, batch dims symbolic,
 * validated against the ONNX spec at its opset (default 18; 17 for onnx 1.12-era tools) and written with the
 * lowest IR version that opset allows ({@link irVersionFor}). Any ONNX runtime runs it. Throws
 * `E_EXPORT_OPSET` when the graph needs operators newer than `opts.opset`.
 *
 * @example
 * const bytes = exportOnnx(model, (m, b) => ({ probabilities: softmax(m.call(b.features)) }), { features: { dtype: 'f32', shape: ['batch', 12] } });
 */
export function exportOnnx(model: Module, fn: ForwardFn, spec: BatchSpec, metadata: Record<string, string> = {}, opts: ExportOnnxOptions = {}): Uint8Array {
  checkRanges(opts, EXPORT_RANGES);
  const opset = opts.opset ?? OPSET;
  const { graph, initializers } = traceForward(model, fn, spec, true);
  const lowered = lowerGraph(graph, { initializers, name: 'switchyard_model', metadata, opset });
  const onnx = { ...(opts.edit ? opts.edit(lowered) : lowered), irVersion: irVersionFor(opset) };
  try {
    validateModel(onnx);
  } catch (e) {
    if (!(e instanceof SwitchyardError) || e.code !== 'E_ONNX_INVALID' || opset >= OPSET) throw e;
    throw new SwitchyardError('E_EXPORT_OPSET', `target opset ${opset} is below what this graph needs: ${e.message}`, `export at a higher opset (e.g. --target-opset ${OPSET}), or leave --target-opset out`);
  }
  return encodeModel(onnx);
}
