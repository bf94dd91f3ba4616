import type { DType } from '../dtype.ts';
import { currentGraph, type Tensor, type TensorData } from '../graph.ts';
import { isStatic, normAxis, sizeOf, type Shape } from '../shape.ts';
import { apply1, defineOp, fail } from './registry.ts';

defineOp({
  name: 'const',
  infer(_inputs, attrs, where) {
    const shape = attrs.shape as number[];
    const data = attrs.data as TensorData;
    const dtype = attrs.dtype as DType;
    if (data.length !== sizeOf(shape)) fail(where, `constant has ${data.length} values for shape [${shape}]`, 'pass data matching the shape');
    return [{ dtype, shape }];
  },
});

/** A constant tensor from data (Float32Array -> f32, BigInt64Array -> i64, Uint8Array -> bool). */
export function constant(data: TensorData, shape: number[]): Tensor {
  const dtype: DType = data instanceof Float32Array ? 'f32' : data instanceof BigInt64Array ? 'i64' : 'bool';
  return apply1('const', [], { data, shape: [...shape], dtype });
}

/** A scalar constant, shared within the current graph. */
export function scalar(value: number, dtype: DType = 'f32'): Tensor {
  return currentGraph().cachedScalar(`${dtype}:${Object.is(value, -0) ? '-0' : value}`, () =>
    constant(
      dtype === 'f32' ? Float32Array.of(value) : dtype === 'i64' ? BigInt64Array.of(BigInt(value)) : Uint8Array.of(value ? 1 : 0),
      [],
    ),
  );
}

/** Lifts a JS number to a scalar constant of `like`'s dtype. */
export function lift(x: Tensor | number, like: Tensor | DType): Tensor {
  if (typeof x !== 'number') return x;
  return scalar(x, typeof like === 'string' ? like : like.dtype);
}

defineOp({
  name: 'fullLike',
  infer(inputs, attrs) {
    return [{ dtype: (attrs.dtype as DType | undefined) ?? inputs[0].dtype, shape: inputs[0].shape }];
  },
  grad: () => [null],
});

/** A tensor shaped like `x` filled with `value` (symbolic dims allowed). */
export function fullLike(x: Tensor, value: number, dtype?: DType): Tensor {
  return apply1('fullLike', [x], { value, dtype: dtype ?? x.dtype });
}

/** Zeros shaped like `x`. */
export function zerosLike(x: Tensor): Tensor {
  return fullLike(x, 0);
}

defineOp({
  name: 'numel',
  infer(inputs, attrs, where) {
    (attrs.axes as number[]).forEach((a) => normAxis(a, inputs[0].rank, where));
    return [{ dtype: 'f32', shape: [] }];
  },
  grad: () => [null],
});

/** Number of elements of `x` along `axes` (all when omitted) as an f32 scalar; works with symbolic dims. */
export function numel(x: Tensor, axes?: number[]): Tensor {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, x.rank, 'numel'));
  const dims: Shape = ax.map((a) => x.shape[a]);
  if (isStatic(dims)) return scalar(sizeOf(dims));
  return apply1('numel', [x], { axes: ax });
}
