import { type DType, isFloat } from '../dtype.ts';
import type { Tensor } from '../graph.ts';
import { broadcastShapes, type Shape } from '../shape.ts';
import { lift, scalar, zerosLike } from './constant.ts';
import { reduceSum } from './reduce.ts';
import { reshape } from './shape.ts';
import { apply1, defineOp, expectDtype, type GradRule } from './registry.ts';

type Operand = Tensor | number;

/** Sums a broadcast gradient back to `shape` (the undoing of numpy broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return g;
  const s = reduceSum(g, axes, true);
  return lead > 0 || s.rank !== shape.length ? reshape(s, [...shape]) : s;
}

function binary(name: string, dtypes: DType[], outBool: boolean, grad?: GradRule): void {
  defineOp({
    name,
    infer([a, b], _attrs, where) {
      expectDtype(where, a, dtypes, 'left operand');
      if (a.dtype !== b.dtype) expectDtype(where, b, [a.dtype], 'right operand');
      return [{ dtype: outBool ? 'bool' : a.dtype, shape: broadcastShapes(a.shape, b.shape, where) }];
    },
    grad,
  });
}

function pair(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') return [scalar(a), scalar(b)];
  if (typeof a === 'number') return [lift(a, b as Tensor), b as Tensor];
  return [a, lift(b, a)];
}

const NUM: DType[] = ['f32', 'i64'];
binary('add', NUM, false, ({ inputs: [a, b], grads: [g] }) => [sumTo(g!, a.shape), sumTo(g!, b.shape)]);
binary('sub', NUM, false, ({ inputs: [a, b], grads: [g] }) => [sumTo(g!, a.shape), sumTo(neg(g!), b.shape)]);
binary('mul', NUM, false, ({ inputs: [a, b], grads: [g], needs }) => [
  needs[0] ? sumTo(mul(g!, b), a.shape) : null,
  needs[1] ? sumTo(mul(g!, a), b.shape) : null,
]);
binary('div', NUM, false, ({ inputs: [a, b], outputs: [y], grads: [g], needs }) => [
  needs[0] ? sumTo(div(g!, b), a.shape) : null,
  needs[1] ? sumTo(neg(div(mul(g!, y), b)), b.shape) : null,
]);
binary('pow', ['f32'], false, ({ inputs: [a, b], outputs: [y], grads: [g], needs }) => [
  needs[0] ? sumTo(mul(g!, mul(b, pow(a, sub(b, 1)))), a.shape) : null,
  needs[1] ? sumTo(mul(g!, mul(y, log(a))), b.shape) : null,
]);
binary('maximum', NUM, false, ({ inputs: [a, b], grads: [g] }) => {
  const takeA = greaterEqual(a, b);
  return [sumTo(where(takeA, g!, 0), a.shape), sumTo(where(takeA, 0, g!), b.shape)];
});
binary('minimum', NUM, false, ({ inputs: [a, b], grads: [g] }) => {
  const takeA = lessEqual(a, b);
  return [sumTo(where(takeA, g!, 0), a.shape), sumTo(where(takeA, 0, g!), b.shape)];
});
for (const n of ['equal', 'less', 'greater', 'lessEqual', 'greaterEqual']) binary(n, NUM, true);
binary('and', ['bool'], true);
binary('or', ['bool'], true);

/** Elementwise `a + b` with numpy broadcasting. */
export const add = (a: Operand, b: Operand): Tensor => apply1('add', pair(a, b));
/** Elementwise `a - b`. */
export const sub = (a: Operand, b: Operand): Tensor => apply1('sub', pair(a, b));
/** Elementwise `a * b`. */
export const mul = (a: Operand, b: Operand): Tensor => apply1('mul', pair(a, b));
/** Elementwise `a / b` (integer division truncates for i64). */
export const div = (a: Operand, b: Operand): Tensor => apply1('div', pair(a, b));
/** Elementwise `a ** b` (f32). */
export const pow = (a: Operand, b: Operand): Tensor => apply1('pow', pair(a, b));
/** Elementwise maximum; ties send the gradient to `a`. */
export const maximum = (a: Operand, b: Operand): Tensor => apply1('maximum', pair(a, b));
/** Elementwise minimum; ties send the gradient to `a`. */
export const minimum = (a: Operand, b: Operand): Tensor => apply1('minimum', pair(a, b));
/** `a == b` as bool. */
export const equal = (a: Operand, b: Operand): Tensor => apply1('equal', pair(a, b));
/** `a < b` as bool. */
export const less = (a: Operand, b: Operand): Tensor => apply1('less', pair(a, b));
/** `a > b` as bool. */
export const greater = (a: Operand, b: Operand): Tensor => apply1('greater', pair(a, b));
/** `a <= b` as bool. */
export const lessEqual = (a: Operand, b: Operand): Tensor => apply1('lessEqual', pair(a, b));
/** `a >= b` as bool. */
export const greaterEqual = (a: Operand, b: Operand): Tensor => apply1('greaterEqual', pair(a, b));
/** Logical and of two bool tensors. */
export const logicalAnd = (a: Tensor, b: Tensor): Tensor => apply1('and', [a, b]);
/** Logical or of two bool tensors. */
export const logicalOr = (a: Tensor, b: Tensor): Tensor => apply1('or', [a, b]);

defineOp({
  name: 'where',
  infer([c, a, b], _attrs, where) {
    expectDtype(where, c, ['bool'], 'condition');
    if (a.dtype !== b.dtype) expectDtype(where, b, [a.dtype], 'else branch');
    return [{ dtype: a.dtype, shape: broadcastShapes(broadcastShapes(c.shape, a.shape, where), b.shape, where) }];
  },
  grad: ({ inputs: [c, a, b], grads: [g], needs }) => [
    null,
    needs[1] ? sumTo(where(c, g!, 0), a.shape) : null,
    needs[2] ? sumTo(where(c, 0, g!), b.shape) : null,
  ],
});

/** `cond ? a : b` elementwise with broadcasting. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [x, y] = pair(a, b);
  return apply1('where', [cond, x, y]);
}

function unary(name: string, dtypes: DType[], grad?: GradRule, outDtype?: DType): void {
  defineOp({
    name,
    infer([x], _attrs, where) {
      expectDtype(where, x, dtypes);
      return [{ dtype: outDtype ?? x.dtype, shape: x.shape }];
    },
    grad,
  });
}

unary('neg', NUM, ({ grads: [g] }) => [neg(g!)]);
unary('exp', ['f32'], ({ outputs: [y], grads: [g] }) => [mul(g!, y)]);
unary('log', ['f32'], ({ inputs: [x], grads: [g] }) => [div(g!, x)]);
unary('sqrt', ['f32'], ({ outputs: [y], grads: [g] }) => [div(mul(g!, 0.5), y)]);
unary('tanh', ['f32'], ({ outputs: [y], grads: [g] }) => [mul(g!, sub(1, mul(y, y)))]);
unary('sigmoid', ['f32'], ({ outputs: [y], grads: [g] }) => [mul(g!, mul(y, sub(1, y)))]);
unary('relu', ['f32'], ({ inputs: [x], grads: [g] }) => [where(greater(x, 0), g!, 0)]);
unary('abs', NUM, ({ inputs: [x], grads: [g] }) => [mul(g!, sign(x))]);
unary('erf', ['f32'], ({ inputs: [x], grads: [g] }) => [mul(g!, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
unary('sin', ['f32'], ({ inputs: [x], grads: [g] }) => [mul(g!, cos(x))]);
unary('cos', ['f32'], ({ inputs: [x], grads: [g] }) => [neg(mul(g!, sin(x)))]);
unary('sign', NUM, ({ inputs: [x] }) => [zerosLike(x)]);
unary('not', ['bool']);
unary('isNaN', ['f32'], undefined, 'bool');
unary('isInf', ['f32'], undefined, 'bool');

/** `-x` */
export const neg = (x: Tensor): Tensor => apply1('neg', [x]);
/** `e^x` */
export const exp = (x: Tensor): Tensor => apply1('exp', [x]);
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => apply1('log', [x]);
/** Square root. */
export const sqrt = (x: Tensor): Tensor => apply1('sqrt', [x]);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => apply1('tanh', [x]);
/** Logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => apply1('sigmoid', [x]);
/** `max(x, 0)`; the gradient at 0 is 0. */
export const relu = (x: Tensor): Tensor => apply1('relu', [x]);
/** `|x|` */
export const abs = (x: Tensor): Tensor => apply1('abs', [x]);
/** Gauss error function. */
export const erf = (x: Tensor): Tensor => apply1('erf', [x]);
/** Sine. */
export const sin = (x: Tensor): Tensor => apply1('sin', [x]);
/** Cosine. */
export const cos = (x: Tensor): Tensor => apply1('cos', [x]);
/** -1, 0 or 1. */
export const sign = (x: Tensor): Tensor => apply1('sign', [x]);
/** Logical not of a bool tensor. */
export const logicalNot = (x: Tensor): Tensor => apply1('not', [x]);
/** True where x is NaN. */
export const isNaN = (x: Tensor): Tensor => apply1('isNaN', [x]);
/** True where x is +-Infinity. */
export const isInf = (x: Tensor): Tensor => apply1('isInf', [x]);
/** `x * x` */
export const square = (x: Tensor): Tensor => mul(x, x);

defineOp({
  name: 'cast',
  infer([x], attrs) {
    return [{ dtype: attrs.dtype as DType, shape: x.shape }];
  },
  grad: ({ inputs: [x], outputs: [y], grads: [g] }) => [isFloat(x.dtype) && isFloat(y.dtype) ? cast(g!, x.dtype) : null],
});

/** Converts to another dtype (bool -> 0/1, float -> i64 truncates). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply1('cast', [x], { dtype });
}
