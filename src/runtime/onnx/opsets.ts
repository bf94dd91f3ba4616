/**
 * The ONNX operator interfaces Switchyard emits, per opset version: formal inputs and outputs,
 * attributes (type, required, allowed string values). Used by {@link ./validate.ts}.
 *
 * Each operator lists the versions at which its *interface* changed (a type-only revision such as
 * Add-14 adding bfloat16 is folded into the previous entry). The entry that applies at opset `N` is
 * the one with the greatest `since <= N`. The table is exact for opsets 17..21 (the range
 * {@link MIN_OPSET}..{@link MAX_OPSET} the validator accepts); older `since` values are given so that
 * messages can say which form an older opset had.
 *
 * Formal parameter syntax: space-separated names; `name?` optional (may be `''` or omitted when
 * trailing), `name*` variadic with min arity 0, `name+` variadic with min arity 1 (last only).
 * Attribute syntax: `'int'|'float'|'string'|'ints'|'floats'|'strings'|'tensor'|'graph'`, with a
 * trailing `!` when required.
 *
 * @module
 */

/** Lowest default-domain opset the validator checks. */
export const MIN_OPSET = 17;
/** Highest default-domain opset the validator checks. */
export const MAX_OPSET = 21;

/** Attribute value kind, `!` suffix = required. */
export type AttrRule = `${'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings' | 'tensor' | 'graph'}${'' | '!'}`;

/** One interface version of an operator. */
export interface OpVersion {
  /** First opset with this interface. */
  since: number;
  /** Formal inputs, e.g. `'data axes?'`. */
  inputs: string;
  /** Formal outputs, e.g. `'Y Mean? InvStdDev?'`. */
  outputs: string;
  /** Allowed attributes. */
  attrs?: Readonly<Record<string, AttrRule>>;
  /** Allowed values of string attributes. */
  values?: Readonly<Record<string, readonly string[]>>;
}

const V = (since: number, inputs: string, outputs: string, attrs?: Record<string, AttrRule>, values?: Record<string, readonly string[]>): OpVersion =>
  ({ since, inputs, outputs, attrs, values });

const unary = (since: number, attrs?: Record<string, AttrRule>): OpVersion[] => [V(since, 'X', 'Y', attrs)];
const binary = (since: number): OpVersion[] => [V(since, 'A B', 'C')];
const variadic = (since: number): OpVersion[] => [V(since, 'data_0+', 'result')];
const reduceAttrAxes = { axes: 'ints', keepdims: 'int' } as const;
const reduceInputAxes = { keepdims: 'int', noop_with_empty_axes: 'int' } as const;
/** Reduce ops that moved `axes` from an attribute to an input at opset 18. */
const reduce18 = (): OpVersion[] => [V(1, 'data', 'reduced', reduceAttrAxes), V(18, 'data axes?', 'reduced', reduceInputAxes)];
const REDUCTION_16 = ['none', 'add', 'mul'] as const;
const REDUCTION_18 = ['none', 'add', 'mul', 'max', 'min'] as const;
const CONSTANT_ATTRS = {
  value: 'tensor', value_float: 'float', value_floats: 'floats', value_int: 'int', value_ints: 'ints',
  value_string: 'string', value_strings: 'strings', sparse_value: 'tensor',
} as const;

const CONV_ATTRS = { auto_pad: 'string', dilations: 'ints', group: 'int', kernel_shape: 'ints', pads: 'ints', strides: 'ints' } as const;
const AUTO_PAD = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const;

/** Operator table: op type -> interface versions, ascending by `since`. */
export const OPS: Readonly<Record<string, readonly OpVersion[]>> = {
  // Elementwise arithmetic and math
  Add: binary(7), Sub: binary(7), Mul: binary(7), Div: binary(7), Pow: [V(7, 'X Y', 'Z')],
  Mod: [V(10, 'A B', 'C', { fmod: 'int' })],
  Neg: unary(6), Abs: unary(6), Exp: unary(6), Log: unary(6), Sqrt: unary(6), Reciprocal: unary(6),
  Floor: unary(6), Ceil: unary(6), Tanh: unary(6), Sigmoid: unary(6), Relu: unary(6), Erf: unary(9),
  Sin: unary(7), Cos: unary(7), Round: unary(11), Sign: unary(9), Softplus: unary(1),
  LeakyRelu: unary(6, { alpha: 'float' }), Elu: unary(6, { alpha: 'float' }),
  Gelu: [V(20, 'X', 'Y', { approximate: 'string' }, { approximate: ['none', 'tanh'] })],
  IsNaN: unary(9), IsInf: unary(10, { detect_negative: 'int', detect_positive: 'int' }),
  Clip: [V(11, 'input min? max?', 'output')],
  Max: variadic(8), Min: variadic(8), Sum: variadic(8), Mean: variadic(8),
  // Comparison and logic
  Equal: binary(7), Less: binary(7), Greater: binary(7), LessOrEqual: binary(12), GreaterOrEqual: binary(12),
  Not: unary(1), And: binary(7), Or: binary(7), Xor: binary(7),
  Where: [V(9, 'condition X Y', 'output')],
  // Types
  Cast: [V(6, 'input', 'output', { to: 'int!' }), V(19, 'input', 'output', { to: 'int!', saturate: 'int' })],
  CastLike: [V(15, 'input target_type', 'output'), V(19, 'input target_type', 'output', { saturate: 'int' })],
  // Linear algebra
  MatMul: [V(1, 'A B', 'Y')],
  Gemm: [V(11, 'A B C?', 'Y', { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' })],
  MatMulInteger: [V(10, 'A B a_zero_point? b_zero_point?', 'Y')],
  // Quantization
  DynamicQuantizeLinear: [V(11, 'x', 'y y_scale y_zero_point')],
  DequantizeLinear: [V(10, 'x x_scale x_zero_point?', 'y'), V(13, 'x x_scale x_zero_point?', 'y', { axis: 'int' }), V(21, 'x x_scale x_zero_point?', 'y', { axis: 'int', block_size: 'int' })],
  Einsum: [V(12, 'Inputs+', 'Output', { equation: 'string!' })],
  // Reductions
  ReduceSum: [V(1, 'data', 'reduced', reduceAttrAxes), V(13, 'data axes?', 'reduced', reduceInputAxes)],
  ReduceMean: reduce18(), ReduceMax: reduce18(), ReduceMin: reduce18(), ReduceProd: reduce18(),
  ReduceSumSquare: reduce18(), ReduceL1: reduce18(), ReduceL2: reduce18(), ReduceLogSum: reduce18(),
  ReduceLogSumExp: reduce18(),
  ArgMax: [V(12, 'data', 'reduced', { axis: 'int', keepdims: 'int', select_last_index: 'int' })],
  ArgMin: [V(12, 'data', 'reduced', { axis: 'int', keepdims: 'int', select_last_index: 'int' })],
  CumSum: [V(11, 'x axis', 'y', { exclusive: 'int', reverse: 'int' })],
  TopK: [V(11, 'X K', 'Values Indices', { axis: 'int', largest: 'int', sorted: 'int' })],
  // Shape manipulation
  Reshape: [V(5, 'data shape', 'reshaped'), V(14, 'data shape', 'reshaped', { allowzero: 'int' })],
  Transpose: [V(1, 'data', 'transposed', { perm: 'ints' })],
  Flatten: [V(1, 'input', 'output', { axis: 'int' })],
  Squeeze: [V(1, 'data', 'squeezed', { axes: 'ints' }), V(13, 'data axes?', 'squeezed')],
  Unsqueeze: [V(1, 'data', 'expanded', { axes: 'ints!' }), V(13, 'data axes', 'expanded')],
  Expand: [V(8, 'input shape', 'output')],
  Tile: [V(6, 'input repeats', 'output')],
  Concat: [V(4, 'inputs+', 'concat_result', { axis: 'int!' })],
  Split: [V(13, 'input split?', 'outputs+', { axis: 'int' }), V(18, 'input split?', 'outputs+', { axis: 'int', num_outputs: 'int' })],
  Slice: [V(10, 'data starts ends axes? steps?', 'output')],
  Pad: [
    V(11, 'data pads constant_value?', 'output', { mode: 'string' }, { mode: ['constant', 'reflect', 'edge'] }),
    V(18, 'data pads constant_value? axes?', 'output', { mode: 'string' }, { mode: ['constant', 'reflect', 'edge'] }),
    V(19, 'data pads constant_value? axes?', 'output', { mode: 'string' }, { mode: ['constant', 'reflect', 'edge', 'wrap'] }),
  ],
  Shape: [V(1, 'data', 'shape'), V(15, 'data', 'shape', { start: 'int', end: 'int' })],
  Size: [V(1, 'data', 'size')],
  Trilu: [V(14, 'input k?', 'output', { upper: 'int' })],
  // Indexing
  Gather: [V(1, 'data indices', 'output', { axis: 'int' })],
  GatherElements: [V(11, 'data indices', 'output', { axis: 'int' })],
  GatherND: [V(11, 'data indices', 'output'), V(12, 'data indices', 'output', { batch_dims: 'int' })],
  ScatterElements: [
    V(11, 'data indices updates', 'output', { axis: 'int' }),
    V(16, 'data indices updates', 'output', { axis: 'int', reduction: 'string' }, { reduction: REDUCTION_16 }),
    V(18, 'data indices updates', 'output', { axis: 'int', reduction: 'string' }, { reduction: REDUCTION_18 }),
  ],
  ScatterND: [
    V(11, 'data indices updates', 'output'),
    V(16, 'data indices updates', 'output', { reduction: 'string' }, { reduction: REDUCTION_16 }),
    V(18, 'data indices updates', 'output', { reduction: 'string' }, { reduction: REDUCTION_18 }),
  ],
  OneHot: [V(9, 'indices depth values', 'output', { axis: 'int' })],
  NonZero: [V(9, 'X', 'Y')],
  Compress: [V(9, 'input condition', 'output', { axis: 'int' })],
  // Constants and generators
  Constant: [V(12, '', 'output', CONSTANT_ATTRS)],
  ConstantOfShape: [V(9, 'input', 'output', { value: 'tensor' })],
  Identity: [V(1, 'input', 'output')],
  Range: [V(11, 'start limit delta', 'output')],
  RandomUniformLike: [V(1, 'input', 'output', { dtype: 'int', high: 'float', low: 'float', seed: 'float' })],
  RandomNormalLike: [V(1, 'input', 'output', { dtype: 'int', mean: 'float', scale: 'float', seed: 'float' })],
  Dropout: [V(12, 'data ratio? training_mode?', 'output mask?', { seed: 'int' })],
  // Normalization and activations over an axis
  Softmax: [V(1, 'input', 'output', { axis: 'int' })],
  LogSoftmax: [V(1, 'input', 'output', { axis: 'int' })],
  LayerNormalization: [V(17, 'X Scale B?', 'Y Mean? InvStdDev?', { axis: 'int', epsilon: 'float', stash_type: 'int' })],
  // Convolution
  Conv: [V(11, 'X W B?', 'Y', CONV_ATTRS, { auto_pad: AUTO_PAD })],
  ConvTranspose: [V(11, 'X W B?', 'Y', { ...CONV_ATTRS, output_padding: 'ints', output_shape: 'ints' }, { auto_pad: AUTO_PAD })],
  // Control flow
  Loop: [V(1, 'M? cond? v_initial*', 'v_final_and_scan_outputs+', { body: 'graph!' })],
  If: [V(1, 'cond', 'outputs+', { then_branch: 'graph!', else_branch: 'graph!' })],
};

/** The ONNX-ML operator domain (classical ML operators: encoders, scalers, tree ensembles). */
export const ML_DOMAIN = 'ai.onnx.ml';
/** Lowest and highest `ai.onnx.ml` opset the validator checks (LabelEncoder took typed keys at 2, tensors at 4). */
export const MIN_ML_OPSET = 2;
/** Highest `ai.onnx.ml` opset the validator checks (onnx 1.12, Debian 12's python3-onnx, knows up to 3). */
export const MAX_ML_OPSET = 3;

/** `ai.onnx.ml` operators Switchyard emits (the feature encoding of tabular exports), exact for ML opsets 2..3. */
export const ML_OPS: Readonly<Record<string, readonly OpVersion[]>> = {
  LabelEncoder: [V(2, 'X', 'Y', {
    default_float: 'float', default_int64: 'int', default_string: 'string',
    keys_floats: 'floats', keys_int64s: 'ints', keys_strings: 'strings',
    values_floats: 'floats', values_int64s: 'ints', values_strings: 'strings',
  })],
};

/** A parsed formal parameter list. */
export interface Formals {
  /** Names in order (the variadic one last). */
  names: string[];
  /** True at positions that may be `''`. */
  optional: boolean[];
  /** Minimum and maximum actual count (`Infinity` when variadic). */
  min: number;
  max: number;
}

const formalsCache = new Map<string, Formals>();

/** Parses a formal parameter list such as `'data axes?'` or `'M? cond? v_initial*'`. */
export function parseFormals(spec: string): Formals {
  const hit = formalsCache.get(spec);
  if (hit) return hit;
  const f: Formals = { names: [], optional: [], min: 0, max: 0 };
  for (const tok of spec.split(' ').filter(Boolean)) {
    const last = tok[tok.length - 1];
    if (last === '*' || last === '+') {
      f.names.push(tok.slice(0, -1));
      f.optional.push(false);
      f.min = f.max + (last === '+' ? 1 : 0);
      f.max = Infinity;
    } else if (last === '?') {
      f.names.push(tok.slice(0, -1));
      f.optional.push(true);
      f.max++;
    } else {
      f.names.push(tok);
      f.optional.push(false);
      f.max++;
      f.min = f.max;
    }
  }
  formalsCache.set(spec, f);
  return f;
}

/**
 * The interface of `opType` at `opset` of its domain (`''` = the default ONNX domain, or {@link ML_DOMAIN}), or
 * `undefined` when the op does not exist there (yet).
 */
export function opVersionAt(opType: string, opset: number, domain = ''): OpVersion | undefined {
  const versions = (domain === ML_DOMAIN ? ML_OPS : OPS)[opType];
  if (!versions) return undefined;
  let found: OpVersion | undefined;
  for (const v of versions) if (v.since <= opset) found = v;
  return found;
}
