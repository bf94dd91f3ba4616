import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { DType } from '../core/dtype.ts';
import type { Graph, Tensor } from '../core/graph.ts';
import { formatShape, type Shape } from '../core/shape.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkRange, COMMON_RANGES } from '../util/ranges.ts';
import { lowerGraph, type LowerOptions } from './onnx/lower.ts';
import { encodeModel, type OnnxModel } from './onnx/proto.ts';
import { validateModel } from './onnx/validate.ts';
import { checkFeeds, type Executable, type HostTensor } from './executor.ts';

export { checkFeedShape, type Executable, type HostTensor } from './executor.ts';

/** Options for {@link compile}. */
export interface CompileOptions extends LowerOptions {
  /** Intra-op threads; defaults to the machine's cores. */
  threads?: number;
  /** When ORT's worker threads busy-wait for work: see {@link SpinPolicy}; default `'run'`. */
  spin?: SpinPolicy;
}

/**
 * When a session's worker threads busy-wait (spin) for work instead of sleeping:
 * - `'run'` (default): only while one of its runs is in progress. Each of a step's thousands of small kernels then
 *   starts without waking sleeping threads (a 512 KB elementwise op takes about a third of the time), and a
 *   session that has finished its run frees the cores at once for the next session (say, eval after train).
 * - `'always'`: ORT's own default; an idle session keeps spinning after its run and slows a second session
 *   used alternately with it about 2x.
 * - `'never'`: threads always sleep between parallel sections.
 *
 * The default can be changed for a whole process with `$SWITCHYARD_SPIN` (see {@link defaultSpinPolicy}).
 */
export type SpinPolicy = 'run' | 'always' | 'never';

const ORT_TYPE = { f32: 'float32', i64: 'int64', bool: 'bool' } as const;

/**
 * A host tensor as an ONNX Runtime tensor (its data is not copied).
 *
 * @example
 * const t = toOrtTensor({ dtype: 'f32', shape: [2], data: Float32Array.of(1, 2) });
 */
export function toOrtTensor(t: HostTensor): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[t.dtype], t.data, t.shape);
}

/**
 * An ONNX Runtime result as a host tensor (float32, int64 or bool).
 *
 * @example
 * const h = fromOrtTensor(result.logits); // { dtype: 'f32', shape: [1, 256], data: Float32Array }
 */
export function fromOrtTensor(t: ort.Tensor): HostTensor {
  const dtype: DType = t.type === 'float32' ? 'f32' : t.type === 'int64' ? 'i64' : 'bool';
  return { dtype, shape: [...t.dims], data: t.data as HostTensor['data'] };
}

/** A graph compiled to ONNX and loaded in an ONNX Runtime session. */
export class CompiledGraph implements Executable {
  private constructor(
    readonly model: OnnxModel,
    readonly bytes: Uint8Array,
    private readonly session: ort.InferenceSession,
    private readonly declared: Map<string, Tensor>,
    readonly outputNames: string[],
  ) {}

  /** Lowers, validates against the ONNX spec, and opens a session. */
  static async create(graph: Graph, opts: CompileOptions = {}): Promise<CompiledGraph> {
    const model = lowerGraph(graph, opts);
    validateModel(model);
    const bytes = encodeModel(model);
    const session = await ort.InferenceSession.create(bytes, sessionOptions(opts));
    const kept = new Set(model.graph.inputs.map((i) => i.name));
    const declared = new Map(graph.inputs.filter((t) => kept.has(t.name!)).map((t) => [t.name!, t]));
    return new CompiledGraph(model, bytes, session, declared, graph.outputNames);
  }

  /** Names of the inputs the pruned model actually reads. */
  get inputNames(): string[] {
    return [...this.declared.keys()];
  }

  /**
   * Runs the graph. Feeds the model does not read are ignored; `fetch` limits the outputs copied back.
   * The fed arrays are not copied; the results are fresh arrays owned by the caller.
   */
  async run(feeds: Record<string, HostTensor>, fetch: string[] = this.outputNames): Promise<Record<string, HostTensor>> {
    checkFeeds(this.declared, feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.declared.keys()) ortFeeds[name] = toOrtTensor(feeds[name]);
    const res = await this.session.run(ortFeeds, fetch);
    const out: Record<string, HostTensor> = {};
    for (const name of fetch) out[name] = fromOrtTensor(res[name]);
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The spin policy used when a session does not choose one: `$SWITCHYARD_SPIN` (`run`, `always` or `never`) or
 * `'run'`. Machines running several busy processes at once (parallel test workers, several trainings) may prefer
 * `never`, so that no process busy-waits while another needs the core.
 *
 * @example
 * defaultSpinPolicy(); // 'run' unless SWITCHYARD_SPIN says otherwise
 */
export function defaultSpinPolicy(): SpinPolicy {
  const v = process.env.SWITCHYARD_SPIN;
  if (v === undefined || v === '') return 'run';
  if (v === 'run' || v === 'always' || v === 'never') return v;
  throw new SwitchyardError('E_CONFIG', `SWITCHYARD_SPIN=${v} is not run, always or never`, 'unset it, or set SWITCHYARD_SPIN=never');
}

/**
 * Session options shared by every Switchyard session: threads, spinning only while a run is in progress (see
 * {@link SpinPolicy}), full graph optimisation.
 *
 * @example
 * const session = await ort.InferenceSession.create(bytes, sessionOptions({ threads: 2 }));
 */
export function sessionOptions(opts: { threads?: number; spin?: SpinPolicy } = {}): ort.InferenceSession.SessionOptions {
  // One check for every session, so a library caller of any function that takes `threads` gets the CLI's error.
  checkRange(COMMON_RANGES.threads.flag, opts.threads, COMMON_RANGES.threads);
  const policy = opts.spin ?? defaultSpinPolicy();
  const spin = policy === 'never' ? '0' : '1';
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads ?? Math.max(1, os.availableParallelism()),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin }, force_spinning_stop: policy === 'run' ? '1' : '0' } },
  };
}

/**
 * Compiles an IR graph into a runnable session.
 *
 * @example
 * const g = trace((g) => ({ y: relu(g.input('x', 'f32', ['batch', 3])) }));
 * const run = await compile(g);
 * const { y } = await run.run({ x: { dtype: 'f32', shape: [2, 3], data: new Float32Array(6) } });
 */
export function compile(graph: Graph, opts: CompileOptions = {}): Promise<CompiledGraph> {
  return CompiledGraph.create(graph, opts);
}

/** First line of an ONNX Runtime error (its messages run on with node dumps). */
function ortMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

/**
 * Creates an ONNX Runtime session for a model file a user gave (eval, compress, serve, generate): ORT's errors
 * on a hostile or broken model become one `E_MODEL_LOAD` error naming the file, never a stack trace.
 *
 * @param bytes the model
 * @param file where it came from, for the message
 * @param opts session options (default: {@link sessionOptions})
 * @example
 * const s = await createUserSession(bytes, 'model.onnx', sessionOptions({ threads: 1 }));
 */
export async function createUserSession(bytes: Uint8Array, file: string, opts: ort.InferenceSession.SessionOptions = sessionOptions()): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, opts);
  } catch (e) {
    throw new SwitchyardError('E_MODEL_LOAD', `${file}: ONNX Runtime cannot load the model (${ortMessage(e)})`, 'check the opset and operators of the export, or export it again');
  }
}

/**
 * Runs a session of a user's model: ORT's run errors (a shape the graph rejects, a failing kernel) become one
 * `E_MODEL_RUN` error naming the file.
 *
 * @param session a session from {@link createUserSession}
 * @param file where the model came from, for the message
 * @param feeds the inputs
 * @param fetches the outputs wanted (default: all)
 * @example
 * const out = await runUserSession(s, 'model.onnx', { features: new ort.Tensor('float32', x, [n, f]) }, ['probabilities']);
 */
export async function runUserSession(session: ort.InferenceSession, file: string, feeds: ort.InferenceSession.FeedsType, fetches?: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await (fetches ? session.run(feeds, [...fetches]) : session.run(feeds));
  } catch (e) {
    throw new SwitchyardError('E_MODEL_RUN', `${file}: ONNX Runtime failed to run the model (${ortMessage(e)})`, 'check that the model matches its inputs (shapes, types), or export it again');
  }
}
