import type { DType } from '../../core/dtype.ts';
import type { Attrs, Graph, Node } from '../../core/graph.ts';
import type { Dim, Shape } from '../../core/shape.ts';
import { SwitchyardError } from '../../util/errors.ts';

/**
 * A concrete tensor of the reference interpreter. Every dtype is stored as float64 numbers: f32 values are not
 * rounded to float32, i64 values are integral numbers, bool values are 0 or 1. Data is row-major.
 */
export interface RefTensor {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

/** What a kernel returns: the dtype is the one the op's shape rule declared. */
export interface RefValue {
  shape: number[];
  data: Float64Array;
}

/** What a kernel may ask of the interpreter while it runs one node. */
export interface KernelContext {
  /** The node being run. */
  readonly node: Node;
  /** `scope: op`, for error messages. */
  readonly where: string;
  /** The size of a dimension under the current symbol bindings, undefined when a symbol is unbound. */
  dim(d: Dim): number | undefined;
  /** A declared shape resolved under the current bindings (throws when a symbol is unbound). */
  resolve(shape: Shape): number[];
  /** Runs a sub-graph (a loop body) with its inputs; captured tensors come from the enclosing graph. */
  runBody(body: Graph, inputs: RefTensor[]): RefTensor[];
}

/** A reference implementation of one op. Kernels never modify their inputs. */
export type Kernel = (inputs: RefTensor[], attrs: Attrs, ctx: KernelContext) => RefValue[];

/**
 * Builds a {@link RefTensor}, checking that `data` has one value per element.
 *
 * @example
 * const x = refTensor([1, 2, 3, 4], [2, 2]);
 * const labels = refTensor([0, 3], [2], 'i64');
 */
export function refTensor(data: ArrayLike<number>, shape: number[], dtype: DType = 'f32'): RefTensor {
  const n = numel(shape);
  if (data.length !== n) {
    throw new SwitchyardError('E_REF', `refTensor: shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`, 'pass one value per element');
  }
  return { dtype, shape: [...shape], data: Float64Array.from(data) };
}

/** Throws an internal-consistency or bad-value error of the reference interpreter. */
export function refFail(where: string, what: string, hint = '', code = 'E_REF'): never {
  throw new SwitchyardError(code, `${where}: ${what}`, hint);
}

/** Number of elements of a concrete shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a concrete shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Numpy broadcasting of concrete shapes. */
export function broadcastDims(a: readonly number[], b: readonly number[], where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else refFail(where, `shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`, '', 'E_SHAPE');
  }
  return out;
}

/**
 * Calls `fn` for every element of `shape` in row-major order with its multi-index (reused between calls: copy
 * it to keep it) and its flat index.
 */
export function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = numel(shape);
  if (n === 0) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    for (let j = shape.length - 1; j >= 0; j--) {
      if (++idx[j] < shape[j]) break;
      idx[j] = 0;
    }
  }
}

/**
 * For each element of `outShape` (row-major), the flat index of the element of `inShape` that broadcasts to it.
 * `inShape` must broadcast to `outShape`.
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = numel(outShape);
  const out = new Int32Array(n);
  const lead = outShape.length - inShape.length;
  const inStrides = stridesOf(inShape);
  const strides = outShape.map((d, i) => (i < lead || inShape[i - lead] === 1 ? 0 : inStrides[i - lead]));
  forEachIndex(outShape, (idx, flat) => {
    let off = 0;
    for (let j = 0; j < idx.length; j++) off += idx[j] * strides[j];
    out[flat] = off;
  });
  return out;
}

/** Broadcasts `x` to `outShape`, copying. */
export function broadcastTo(x: RefValue, outShape: number[]): RefValue {
  const map = broadcastIndex(x.shape, outShape);
  const data = new Float64Array(map.length);
  for (let i = 0; i < map.length; i++) data[i] = x.data[map[i]];
  return { shape: outShape, data };
}

/** Splits a shape around `axis` into `[outer, size, inner]`: element (o, j, i) is at `(o * size + j) * inner + i`. */
export function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis], numel(shape.slice(axis + 1))];
}

/** Normalises a possibly negative index against `size`; throws naming `where` when it is out of range. */
export function checkIndex(i: number, size: number, where: string): number {
  const k = i < 0 ? i + size : i;
  if (!Number.isInteger(k) || k < 0 || k >= size) {
    refFail(where, `index ${i} is out of range for an axis of size ${size}`, `use indices in [${-size}, ${size - 1}]`, 'E_INDEX');
  }
  return k;
}
