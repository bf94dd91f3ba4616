import type { DType } from '../../core/dtype.ts';
import type { Graph, Node, TensorData } from '../../core/graph.ts';
import { HASH_MOD, hashRounds } from '../../core/ops/random.ts';
import { isStatic } from '../../core/shape.ts';
import type { GraphEmitter } from './lower.ts';
import { CONV_LOWERINGS } from './lower-conv.ts';
import { lowerScatterNDAdd } from './lower-scatter.ts';
import { opVersionAt } from './opsets.ts';
import { attr } from './proto.ts';

type Lowering = (em: GraphEmitter, n: Node, ins: string[], outs: string[]) => void;

const ONNX_TYPE: Record<DType, number> = { f32: 1, i64: 7, bool: 9 };

const simple = (opType: string): Lowering => (em, _n, ins, outs) => void em.emit(opType, ins, {}, outs);

function fill(dtype: DType, value: number): TensorData {
  return dtype === 'f32' ? Float32Array.of(value) : dtype === 'i64' ? BigInt64Array.of(BigInt(value)) : Uint8Array.of(value ? 1 : 0);
}

/** `Shape(x)` as int64[rank], or a constant when the shape is static. */
function shapeOf(em: GraphEmitter, n: Node, i: number): string {
  const t = n.inputs[i];
  return isStatic(t.shape) ? em.ints([...t.shape]) : em.emit('Shape', [em.name(t)])[0];
}

const LOWERINGS: Record<string, Lowering> = {
  const: (em, n, _ins, outs) => {
    const data = n.attrs.data as TensorData;
    em.emit('Constant', [], { value: attr.tensor({ name: '', dtype: n.attrs.dtype === 'f32' ? 'float32' : n.attrs.dtype === 'i64' ? 'int64' : 'bool', dims: n.attrs.shape as number[], data }) }, outs);
  },
  fullLike: (em, n, _ins, outs) => {
    const dtype = n.attrs.dtype as DType;
    const value = attr.tensor({ name: '', dtype: dtype === 'f32' ? 'float32' : dtype === 'i64' ? 'int64' : 'bool', dims: [1], data: fill(dtype, n.attrs.value as number) });
    em.emit('ConstantOfShape', [shapeOf(em, n, 0)], { value }, outs);
  },
  numel: (em, n, ins, outs) => {
    const [shape] = em.emit('Shape', [ins[0]]);
    const [dims] = em.emit('Gather', [shape, em.ints(n.attrs.axes as number[])], { axis: attr.int(0) });
    const [prod] = em.emit('ReduceProd', [dims], { keepdims: attr.int(0) });
    em.emit('Cast', [prod], { to: attr.int(1) }, outs);
  },
  add: simple('Add'),
  sub: simple('Sub'),
  mul: simple('Mul'),
  div: simple('Div'),
  pow: simple('Pow'),
  maximum: simple('Max'),
  minimum: simple('Min'),
  equal: simple('Equal'),
  less: simple('Less'),
  greater: simple('Greater'),
  lessEqual: simple('LessOrEqual'),
  greaterEqual: simple('GreaterOrEqual'),
  and: simple('And'),
  or: simple('Or'),
  where: simple('Where'),
  neg: simple('Neg'),
  exp: simple('Exp'),
  log: simple('Log'),
  sqrt: simple('Sqrt'),
  tanh: simple('Tanh'),
  sigmoid: simple('Sigmoid'),
  relu: simple('Relu'),
  abs: simple('Abs'),
  erf: simple('Erf'),
  sin: simple('Sin'),
  cos: simple('Cos'),
  sign: simple('Sign'),
  not: simple('Not'),
  isNaN: simple('IsNaN'),
  isInf: simple('IsInf'),
  identity: simple('Identity'),
  stopGradient: simple('Identity'),
  matmul: simple('MatMul'),
  cast: (em, n, ins, outs) => void em.emit('Cast', ins, { to: attr.int(ONNX_TYPE[n.attrs.dtype as DType]) }, outs),
  reduceSum: reduce('ReduceSum'),
  reduceMean: reduce('ReduceMean'),
  reduceMax: reduce('ReduceMax'),
  argmax: (em, n, ins, outs) => void em.emit('ArgMax', ins, { axis: attr.int(n.attrs.axis as number), keepdims: attr.int(n.attrs.keepdims ? 1 : 0) }, outs),
  reshape: (em, n, ins, outs) => {
    const hole = (n.attrs.shape as unknown[]).indexOf(-1);
    const dims = n.outputs[0].shape;
    if (!dims.includes(0) && dims.filter((d, i) => typeof d !== 'number' || i === hole).length <= 1) {
      // At most one unknown dim and the others static and non-zero: ONNX infers the unknown one from -1.
      return void em.emit('Reshape', [ins[0], em.ints(dims.map((d, i) => (typeof d === 'number' && i !== hole ? d : -1)))], {}, outs);
    }
    // ONNX Reshape reads a 0 in the shape as "keep the input's dim" unless allowzero=1 (which forbids -1), but an IR
    // dim that is 0 (static, or a symbol that is 0 at run time: an expert with no tokens, an empty batch) means size 0.
    // So spell out every dim: symbols from the values that carry them, the hole as numel(x) / max(1, other dims).
    let shape = em.shapeTensor(dims.map((d, i) => (i === hole ? 1 : d)), true);
    if (hole >= 0) {
      const [rest] = em.emit('ReduceProd', [shape], { keepdims: attr.int(1) });
      const [size] = em.emit('Reshape', [em.emit('Size', [ins[0]])[0], em.ints([1])]);
      const [h] = em.emit('Div', [size, em.emit('Max', [rest, em.ints([1])])[0]]);
      const at = em.ints(dims.map((_, i) => (i === hole ? 1 : 0)));
      [shape] = em.emit('Add', [shape, em.emit('Mul', [em.emit('Sub', [h, em.ints([1])])[0], at])[0]]);
    }
    em.emit('Reshape', [ins[0], shape], { allowzero: attr.int(1) }, outs);
  },
  transpose: (em, n, ins, outs) => void em.emit('Transpose', ins, { perm: attr.ints(n.attrs.perm as number[]) }, outs),
  slice: (em, n, ins, outs) => {
    const a = n.attrs as { axes: number[]; starts: number[]; ends: number[] };
    em.emit('Slice', [ins[0], em.ints(a.starts), em.ints(a.ends), em.ints(a.axes)], {}, outs);
  },
  pad: (em, n, ins, outs) => {
    const a = n.attrs as { before: number[]; after: number[] };
    em.emit('Pad', [ins[0], em.ints([...a.before, ...a.after])], {}, outs);
  },
  split: (em, n, ins, outs) => void em.emit('Split', [ins[0], em.ints(n.attrs.sizes as number[])], { axis: attr.int(n.attrs.axis as number) }, outs),
  concat: (em, n, ins, outs) => void em.emit('Concat', ins, { axis: attr.int(n.attrs.axis as number) }, outs),
  splitRows: (em, _n, ins, outs) => void em.emit('Split', ins, { axis: attr.int(0) }, outs),
  concatRows: (em, _n, ins, outs) => void em.emit('Concat', ins.slice(1), { axis: attr.int(0) }, outs),
  broadcastLike: (em, n, ins, outs) => void em.emit('Expand', [ins[0], shapeOf(em, n, 1)], {}, outs),
  expand: (em, n, ins, outs) => void em.emit('Expand', [ins[0], em.ints(n.attrs.shape as number[])], {}, outs),
  softmax: (em, n, ins, outs) => void em.emit('Softmax', ins, { axis: attr.int(n.attrs.axis as number) }, outs),
  logSoftmax: (em, n, ins, outs) => void em.emit('LogSoftmax', ins, { axis: attr.int(n.attrs.axis as number) }, outs),
  layerNorm: (em, n, ins, outs) => void em.emit('LayerNormalization', ins, { axis: attr.int(-1), epsilon: attr.float(n.attrs.eps as number) }, outs),
  gather: (em, n, ins, outs) => void em.emit('Gather', ins, { axis: attr.int(n.attrs.axis as number) }, outs),
  gatherElements: (em, n, ins, outs) => void em.emit('GatherElements', ins, { axis: attr.int(n.attrs.axis as number) }, outs),
  gatherND: simple('GatherND'),
  // ORT's ScatterElements 'add' adds in index order: exact and bit-identical run after run at 2 and 4 threads
  // (tests/runtime/ort-threads.test.ts holds it to that). ScatterND 'add' is neither: see lower-scatter.ts.
  scatterElementsAdd: (em, n, ins, outs) => void em.emit('ScatterElements', ins, { axis: attr.int(n.attrs.axis as number), reduction: attr.string('add') }, outs),
  scatterNDAdd: lowerScatterNDAdd,
  topk: (em, n, ins, outs) =>
    void em.emit('TopK', [ins[0], em.ints([n.attrs.k as number])], { axis: attr.int(n.attrs.axis as number), largest: attr.int(n.attrs.largest ? 1 : 0), sorted: attr.int(1) }, outs),
  oneHot: (em, n, ins, outs) =>
    void em.emit('OneHot', [ins[0], em.ints([n.attrs.depth as number]), em.constant(Float32Array.of(0, 1), [2])], { axis: attr.int(-1) }, outs),
  cumsum: (em, n, ins, outs) =>
    void em.emit('CumSum', [ins[0], em.int(n.attrs.axis as number)], { exclusive: attr.int(n.attrs.exclusive ? 1 : 0), reverse: attr.int(n.attrs.reverse ? 1 : 0) }, outs),
  randomUniformLike: (em, n, ins, outs) => {
    // Mirrors hashUniform in core/ops/random.ts element by element (int64 arithmetic, exact).
    const mod = em.int(Number(HASH_MOD));
    const modOf = (x: string) => em.emit('Mod', [x, mod], { fmod: attr.int(0) })[0];
    const s0 = modOf(ins[1]);
    const s1 = modOf(em.emit('Add', [em.emit('Add', [em.emit('Mul', [s0, s0])[0], em.emit('Mul', [s0, em.int(69621)])[0]])[0], em.int(1)])[0]);
    const s2 = modOf(em.emit('Add', [em.emit('Mul', [s1, s1])[0], em.int(48271)])[0]);
    const [size] = em.emit('Size', [ins[0]]);
    const [flat] = em.emit('Range', [em.int(0), size, em.int(1)]);
    let h = modOf(em.emit('Reshape', [flat, shapeOf(em, n, 0)])[0]);
    for (const r of hashRounds) {
      const [m] = em.emit('Mul', [h, r.mul === 'self' ? h : em.int(Number(r.mul))]);
      const add = r.add === 's1' ? s1 : r.add === 's2' ? s2 : em.int(Number(r.add));
      h = modOf(em.emit('Add', [m, add])[0]);
    }
    const [hf] = em.emit('Cast', [h], { to: attr.int(1) });
    em.emit('Div', [hf, em.constant(Float32Array.of(Number(HASH_MOD)), [])], {}, outs);
  },
  nonzero: (em, _n, ins, outs) => {
    const [nz] = em.emit('NonZero', ins);
    em.emit('Reshape', [nz, em.ints([-1])], {}, outs);
  },
  loop: (em, n, ins, outs) => {
    const body = em.lowerBody(n.attrs.body as Graph);
    const trips = n.attrs.trips as number | string;
    const count = typeof trips === 'number' ? em.int(trips) : em.emit('Reshape', [em.symbol(trips), em.ints([])])[0];
    em.emit('Loop', [count, '', ...ins], { body: attr.graph(body) }, outs);
  },
  ...CONV_LOWERINGS,
};

function reduce(opType: string): Lowering {
  return (em, n, ins, outs) => {
    const axes = n.attrs.axes as number[];
    // An empty axes list reduces over nothing in the IR, but over every axis in ONNX (noop_with_empty_axes=0).
    if (axes.length === 0) return void em.emit('Identity', ins, {}, outs);
    const keepdims = attr.int(n.attrs.keepdims ? 1 : 0);
    // Most Reduce ops took `axes` as an attribute before opset 18 (ReduceSum before 13): emit the form of the target.
    if (opVersionAt(opType, em.opset)?.inputs.includes('axes')) em.emit(opType, [ins[0], em.ints(axes)], { keepdims }, outs);
    else em.emit(opType, ins, { axes: attr.ints(axes), keepdims }, outs);
  };
}

/** Emits the ONNX nodes for one IR node. */
export function lowerNode(em: GraphEmitter, n: Node): void {
  const f = LOWERINGS[n.op];
  if (!f) throw new Error(`internal: no ONNX lowering for op '${n.op}'`);
  f(em, n, n.inputs.map((t) => em.name(t)), n.outputs.map((t) => em.name(t)));
}

/** Ops with a lowering (for coverage tests). */
export const loweredOps = Object.keys(LOWERINGS);
