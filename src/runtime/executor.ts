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
export function checkFeeds(declared: Map<string, Tensor>, feeds: Record<string, HostTensor>): Map<string, number> {
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
