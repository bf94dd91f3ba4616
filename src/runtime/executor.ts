/**
 * The executor contract: what every runtime that runs a traced {@link Graph} offers its callers. ONNX Runtime
 * ({@link CompiledGraph} in session.ts) and the WebGPU executor (runtime/webgpu) both meet it, so a caller written
 * against {@link Executable} runs on either. This module imports no runtime (no onnxruntime-node, no Dawn), so it
 * loads in a browser page too.
 */
import type { DType } from '../core/dtype.ts';
import type { Tensor } from '../core/graph.ts';
import { formatShape, type Shape } from '../core/shape.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Numbers on the host side of a run: f32 as Float32Array, i64 as BigInt64Array, bool as Uint8Array. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | BigInt64Array | Uint8Array;
}

/** A graph made runnable by a runtime (ONNX Runtime on the CPU, or WebGPU). */
export interface Executable {
  /** Names of the inputs a run reads (feeds under other names are ignored). */
  readonly inputNames: string[];
  /** Names of the graph outputs, in graph order. */
  readonly outputNames: string[];
  /**
   * Runs the graph on `feeds` (one per input name) and returns the outputs named in `fetch` (default: all), as
   * fresh arrays owned by the caller. Only fetched outputs are copied back to the host.
   */
  run(feeds: Record<string, HostTensor>, fetch?: string[]): Promise<Record<string, HostTensor>>;
  /** Frees what the runtime holds for this graph (a native session, GPU buffers). */
  release(): Promise<void>;
  /**
   * Width of integer tensors inside the runtime (default 64). WebGPU has 32: i64 feeds outside [-2^31, 2^31)
   * are refused (`E_WEBGPU_RANGE`), so callers fold values such as random seeds into range themselves.
   */
  readonly indexBits?: 32 | 64;
  /** What the last run moved and dispatched, for runtimes that count it (WebGPU). */
  readonly lastRun?: RunTraffic;
}

/** The cost of one run on a device: compute dispatches, bytes uploaded from host feeds, bytes read back. */
export interface RunTraffic {
  dispatches: number;
  uploadedBytes: number;
  readBytes: number;
}

/** A tensor kept in a runtime's memory between runs (a GPU buffer), fed to and kept by resident runs. */
export interface DeviceTensor {
  readonly dtype: DType;
  readonly shape: number[];
  /** Copies the values to the host. */
  read(): Promise<HostTensor>;
  /** Frees the memory (once; later calls do nothing): the tensor must not be fed afterwards. */
  release(): void;
}

/** Options of {@link ResidentExecutable.runResident}. */
export interface ResidentRunOptions {
  /** Outputs copied back to the host. */
  fetch: string[];
  /** Outputs kept in the runtime's memory, returned as {@link DeviceTensor}s (not copied back). */
  keep: string[];
  /** Kept f32 outputs checked for NaN and infinity on the device; the names that have one come back. */
  checkFinite?: string[];
}

/** What {@link ResidentExecutable.runResident} returns. */
export interface ResidentRun {
  outputs: Record<string, HostTensor>;
  kept: Record<string, DeviceTensor>;
  /** The names of `checkFinite` whose values hold a NaN or an infinity. */
  nonFinite: string[];
}

/** An executable whose inputs and outputs can stay in the runtime's memory across runs (WebGPU). */
export interface ResidentExecutable extends Executable {
  /** Copies `t` into the runtime's memory (`name` for error messages). */
  upload(t: HostTensor, name: string): DeviceTensor;
  /** True when `t` can be fed to this executable as it is (same device). */
  accepts(t: DeviceTensor): boolean;
  /** Runs on host and device feeds; fetched outputs come back, kept ones stay. */
  runResident(feeds: Record<string, HostTensor | DeviceTensor>, opts: ResidentRunOptions): Promise<ResidentRun>;
}

/**
 * True when `exe` can keep tensors in its runtime's memory between runs.
 *
 * @param exe a compiled graph
 * @example
 * if (isResident(exe)) weights = exe.upload(hostWeights, 'weights');
 */
export function isResident(exe: Executable): exe is ResidentExecutable {
  return 'runResident' in exe;
}

/**
 * Binds symbolic dims from fed shapes and rejects feeds that contradict the declared shape (`E_FEED`).
 *
 * @param name the input name, for the message
 * @param declared the traced shape (numbers and symbols)
 * @param got the fed shape
 * @param bound symbol bindings so far; updated in place
 * @example
 * const bound = new Map<string, number>();
 * checkFeedShape('x', ['batch', 3], [8, 3], bound); // bound: batch -> 8
 */
export function checkFeedShape(name: string, declared: Shape, got: readonly number[], bound: Map<string, number>) {
  const bad = () => {
    const what = `input '${name}': expected ${formatShape(declared)}, got ${formatShape(got)}`;
    throw new SwitchyardError('E_FEED', what, 'feed data with the shape the model was built for');
  };
  if (declared.length !== got.length) bad();
  declared.forEach((d, i) => {
    if (typeof d === 'number') {
      if (d !== got[i]) bad();
    } else if (!d.includes('*')) {
      const prev = bound.get(d);
      if (prev === undefined) bound.set(d, got[i]);
      else if (prev !== got[i]) bad();
    }
  });
}

/**
 * Checks that every declared input is fed with its dtype and a fitting shape (`E_FEED` otherwise) and returns
 * the symbol bindings the feeds imply.
 *
 * @param declared input name -> the traced input tensor
 * @param feeds the caller's feeds
 * @example
 * const bound = checkFeeds(new Map([['x', x]]), { x: { dtype: 'f32', shape: [2, 3], data } });
 */
export function checkFeeds(
  declared: Map<string, Tensor>,
  feeds: Record<string, Pick<HostTensor, 'dtype' | 'shape'>>,
): Map<string, number> {
  const bound = new Map<string, number>();
  for (const [name, t] of declared) {
    const f = feeds[name];
    if (!f) throw new SwitchyardError('E_FEED', `input '${name}' was not fed`, `feed ${t} under '${name}'`);
    if (f.dtype !== t.dtype) {
      const what = `input '${name}': expected ${t.dtype}, got ${f.dtype}`;
      throw new SwitchyardError('E_FEED', what, 'convert the data to the declared dtype');
    }
    checkFeedShape(name, t.shape, f.shape, bound);
  }
  return bound;
}
