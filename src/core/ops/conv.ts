/**
 * 2-D convolution as three IR ops that are each other's gradients, in NCHW layout (PyTorch's and ONNX's):
 * - `conv2d(x [N, C, H, W], w [O, C/groups, kH, kW]) -> [N, O, OH, OW]`;
 * - `convTranspose2d(x [N, C, H, W], w [C, O/groups, kH, kW]) -> [N, O, OH, OW]`: the adjoint of conv2d in its
 *   input (so d conv2d / dx), and PyTorch's ConvTranspose2d;
 * - `conv2dWeightGrad(x, dy) -> [O, C/groups, kH, kW]`: the adjoint of conv2d in its weight.
 * Each op's gradient is written in the other two, so second-order gradients exist too. The geometry
 * (stride, pads, dilation, groups) is shared by the shape rules, the reference kernels, the ONNX lowering and
 * the WebGPU kernels through {@link convGeometry}.
 */
import type { Attrs, Tensor } from '../graph.ts';
import { type Dim, formatShape } from '../shape.ts';
import { apply1, defineOp, expectDtype, fail } from './registry.ts';

/** Stride, padding (top, left, bottom, right), dilation and groups of one 2-D convolution. */
export interface ConvAttrs {
  stride: [number, number];
  pads: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** User-facing convolution options; a single number means the same along height and width. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: number | [number, number];
  /**
   * Zero padding: one number for every side, `[ph, pw]` for top/bottom and left/right, `[top, left, bottom,
   * right]`, or `'same'` (output size = input size; stride 1 only). Default 0.
   */
  padding?: number | [number, number] | [number, number, number, number] | 'same';
  /** Spacing between kernel taps (default 1). */
  dilation?: number | [number, number];
  /** Channel groups: input and output channels are split into this many independent convolutions (default 1). */
  groups?: number;
}

/** The concrete geometry of one convolution: sizes of input, kernel and output, and the attributes. */
export interface ConvGeometry extends ConvAttrs {
  /** Batch (static at run time), channels and spatial sizes of the conv2d input `x`. */
  n: number;
  c: number;
  h: number;
  w: number;
  /** Output channels and spatial sizes of the conv2d output `y`. */
  o: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
}

/**
 * Output size of a convolution along one axis: `floor((in + before + after - d (k - 1) - 1) / s) + 1`.
 *
 * @example
 * convOutSize(32, 3, 2, 1, 1, 1); // 16
 */
export function convOutSize(
  size: number, k: number, stride: number, before: number, after: number, dilation: number,
): number {
  return Math.floor((size + before + after - dilation * (k - 1) - 1) / stride) + 1;
}

/**
 * The geometry of the conv2d that `op` (one of the three ops) computes or differentiates, from its concrete
 * input shapes; `n` is the batch size. For `convTranspose2d` the conv2d's input is the op's output.
 *
 * @example
 * const attrs = { stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };
 * convGeometry('conv2d', [[2, 3, 8, 8], [4, 3, 3, 3]], attrs).oh; // 8
 */
export function convGeometry(op: string, shapes: number[][], attrs: Attrs): ConvGeometry {
  const a = attrs as unknown as ConvAttrs & { outputPadding?: [number, number]; kernel?: [number, number] };
  const [s, p, d] = [a.stride, a.pads, a.dilation];
  const [x, second] = shapes;
  if (op === 'conv2d') {
    const [kh, kw] = second.slice(2);
    const oh = convOutSize(x[2], kh, s[0], p[0], p[2], d[0]);
    const ow = convOutSize(x[3], kw, s[1], p[1], p[3], d[1]);
    return { ...a, n: x[0], c: x[1], h: x[2], w: x[3], o: second[0], oh, ow, kh, kw };
  }
  if (op === 'convTranspose2d') {
    // The op's input is the conv2d output; its output is the conv2d input.
    const [kh, kw] = second.slice(2);
    const op0 = a.outputPadding ?? [0, 0];
    const h = s[0] * (x[2] - 1) + d[0] * (kh - 1) + 1 - p[0] - p[2] + op0[0];
    const w = s[1] * (x[3] - 1) + d[1] * (kw - 1) + 1 - p[1] - p[3] + op0[1];
    return { ...a, n: x[0], c: second[1] * a.groups, h, w, o: x[1], oh: x[2], ow: x[3], kh, kw };
  }
  // conv2dWeightGrad(x, dy)
  const [kh, kw] = a.kernel!;
  return { ...a, n: x[0], c: x[1], h: x[2], w: x[3], o: second[1], oh: second[2], ow: second[3], kh, kw };
}

/** The dims of an NCHW operand with a 0 for its batch when `batchFree` (only the batch may be symbolic). */
function staticDims(where: string, t: Tensor, role: string, batchFree = true): number[] {
  expectDtype(where, t, ['f32'], role);
  if (t.rank !== 4) {
    fail(
      where,
      `${role} ${t} is not rank 4`,
      'convolutions take NCHW tensors: [batch, channels, height, width]',
    );
  }
  const dims = t.shape.slice(batchFree ? 1 : 0);
  if (!dims.every((v) => typeof v === 'number')) {
    fail(
      where,
      `${role} ${t} has symbolic channels or spatial sizes`,
      'only the batch dimension of an input may be symbolic',
    );
  }
  return batchFree ? [0, ...(dims as number[])] : (dims as number[]);
}

function checkGroups(where: string, channels: number, groups: number, role: string): void {
  if (channels % groups !== 0) {
    fail(
      where,
      `${role} channels ${channels} are not divisible by groups ${groups}`,
      'use a group count that divides both channel counts',
    );
  }
}

function checkOutput(where: string, g: ConvGeometry, x: Tensor): void {
  if (g.oh < 1 || g.ow < 1 || g.h < 1 || g.w < 1) {
    fail(
      where,
      `kernel ${g.kh}x${g.kw} (dilation ${g.dilation}, padding ${g.pads}) does not fit input ${x}`,
      'use a smaller kernel or dilation, more padding, or a larger input',
    );
  }
}

defineOp({
  name: 'conv2d',
  infer([x, w], attrs, where) {
    const [xs, ws] = [staticDims(where, x, 'input'), staticDims(where, w, 'weight', false)];
    const groups = attrs.groups as number;
    checkGroups(where, ws[0], groups, 'output');
    if (ws[1] * groups !== xs[1]) {
      fail(
        where,
        `weight ${formatShape(w.shape)} expects ${ws[1] * groups} input channels (groups ${groups}), ` +
          `input ${x} has ${xs[1]}`,
        'weight is [out, in / groups, kH, kW]',
      );
    }
    const g = convGeometry('conv2d', [xs, ws], attrs);
    checkOutput(where, g, x);
    return [{ dtype: 'f32', shape: [x.shape[0], g.o, g.oh, g.ow] }];
  },
  grad: ({ inputs: [x, w], grads: [g], attrs, needs }) => [
    needs[0] ? convTransposeTo(g!, w, attrs, x) : null,
    needs[1] ? apply1('conv2dWeightGrad', [x, g!], { ...attrs, kernel: w.shape.slice(2) }) : null,
  ],
});

defineOp({
  name: 'convTranspose2d',
  infer([x, w], attrs, where) {
    const [xs, ws] = [staticDims(where, x, 'input'), staticDims(where, w, 'weight', false)];
    if (ws[0] !== xs[1]) {
      fail(
        where,
        `weight ${formatShape(w.shape)} expects ${ws[0]} input channels, input ${x} has ${xs[1]}`,
        'a transposed-conv weight is [in, out / groups, kH, kW]',
      );
    }
    checkGroups(where, xs[1], attrs.groups as number, 'input');
    const op = attrs.outputPadding as [number, number];
    const [sh, sw] = attrs.stride as [number, number];
    const [dh, dw] = attrs.dilation as [number, number];
    if (!(op[0] >= 0 && op[1] >= 0 && (op[0] < sh || op[0] < dh) && (op[1] < sw || op[1] < dw))) {
      fail(
        where,
        `output padding [${op}] must be below the stride or the dilation`,
        'output padding only picks among the input sizes a stride maps to one output size',
      );
    }
    const g = convGeometry('convTranspose2d', [xs, ws], attrs);
    checkOutput(where, g, x);
    return [{ dtype: 'f32', shape: [x.shape[0], g.c, g.h, g.w] }];
  },
  grad: ({ inputs: [x, w], grads: [g], attrs, needs }) => {
    const conv = { stride: attrs.stride, pads: attrs.pads, dilation: attrs.dilation, groups: attrs.groups };
    return [
      needs[0] ? apply1('conv2d', [g!, w], conv) : null,
      needs[1] ? apply1('conv2dWeightGrad', [g!, x], { ...conv, kernel: w.shape.slice(2) }) : null,
    ];
  },
});

defineOp({
  name: 'conv2dWeightGrad',
  infer([x, dy], attrs, where) {
    const xs = staticDims(where, x, 'input');
    const ys = staticDims(where, dy, 'output gradient');
    const groups = attrs.groups as number;
    checkGroups(where, xs[1], groups, 'input');
    checkGroups(where, ys[1], groups, 'output');
    if (x.shape[0] !== dy.shape[0]) {
      fail(
        where,
        `batch of input ${x} and output gradient ${dy} differ`,
        'pass the conv2d input and the gradient of its output',
      );
    }
    const g = convGeometry('conv2dWeightGrad', [xs, ys], attrs);
    const want = [
      convOutSize(g.h, g.kh, g.stride[0], g.pads[0], g.pads[2], g.dilation[0]),
      convOutSize(g.w, g.kw, g.stride[1], g.pads[1], g.pads[3], g.dilation[1]),
    ];
    if (want[0] !== g.oh || want[1] !== g.ow) {
      fail(
        where,
        `output gradient ${dy} does not match a conv2d output of input ${x} (${want.join('x')})`,
        'pass the gradient of the conv2d output',
      );
    }
    return [{ dtype: 'f32', shape: [g.o, g.c / groups, g.kh, g.kw] }];
  },
  grad: ({ inputs: [x, dy], grads: [g], attrs, needs }) => {
    const conv = { stride: attrs.stride, pads: attrs.pads, dilation: attrs.dilation, groups: attrs.groups };
    return [needs[0] ? convTransposeTo(dy, g!, conv, x) : null, needs[1] ? apply1('conv2d', [x, g!], conv) : null];
  },
});

/** `convTranspose2d(dy, w)` sized back to the conv2d input `x` (the output padding a stride loses). */
function convTransposeTo(dy: Tensor, w: Tensor, attrs: Attrs, x: Tensor): Tensor {
  const a = attrs as unknown as ConvAttrs;
  const [h, wd] = [x.shape[2] as number, x.shape[3] as number];
  // The size a transposed conv reaches without output padding; the stride's rounding lost the rest.
  const reach = (out: Dim, k: Dim, i: 0 | 1) =>
    a.stride[i] * ((out as number) - 1) + a.dilation[i] * ((k as number) - 1) + 1 - a.pads[i] - a.pads[i + 2];
  const outputPadding = [h - reach(dy.shape[2], w.shape[2], 0), wd - reach(dy.shape[3], w.shape[3], 1)];
  const { stride, pads, dilation, groups } = a;
  return apply1('convTranspose2d', [dy, w], { stride, pads, dilation, groups, outputPadding });
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/**
 * Checks user options (E_CONFIG naming `where`) and turns them into op attributes; `kernel` is [kH, kW] (for
 * `'same'` padding).
 *
 * @example
 * convAttrs({ padding: 'same' }, [3, 3], 'conv2d').pads; // [1, 1, 1, 1]
 */
export function convAttrs(opts: Conv2dOptions, kernel: [number, number], where: string): ConvAttrs {
  const stride = pair(opts.stride ?? 1);
  const dilation = pair(opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  if (![...stride, ...dilation, groups].every(positive)) {
    fail(
      where,
      `stride [${stride}], dilation [${dilation}] and groups ${groups} must be positive integers`,
      'e.g. { stride: 2, dilation: 1, groups: 1 }',
      'E_CONFIG',
    );
  }
  const p = opts.padding ?? 0;
  let pads: [number, number, number, number];
  if (p === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      fail(
        where,
        `padding 'same' needs stride 1, got [${stride}]`,
        'give explicit padding for strided convolutions',
        'E_CONFIG',
      );
    }
    const total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    pads = [Math.floor(total[0] / 2), Math.floor(total[1] / 2), Math.ceil(total[0] / 2), Math.ceil(total[1] / 2)];
  } else if (typeof p === 'number') pads = [p, p, p, p];
  else if (p.length === 2) pads = [p[0], p[1], p[0], p[1]];
  else pads = [p[0], p[1], p[2], p[3]];
  if (!pads.every((v) => Number.isInteger(v) && v >= 0)) {
    fail(
      where,
      `padding [${pads}] must be non-negative integers`,
      "e.g. padding: 1 or 'same'",
      'E_CONFIG',
    );
  }
  return { stride, pads, dilation, groups };
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch) of `x` [N, C, H, W] with `weight` [O, C/groups, kH, kW];
 * add a bias with `add(y, reshape(bias, [O, 1, 1]))`.
 *
 * @example
 * const y = conv2d(x, w, { padding: 1 }); // [N, C, 32, 32] * [64, C, 3, 3] -> [N, 64, 32, 32]
 */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dOptions = {}): Tensor {
  const kernel = weight.shape.slice(2) as [number, number];
  return apply1('conv2d', [x, weight], { ...convAttrs(opts, kernel, 'conv2d') });
}

/**
 * Transposed 2-D convolution (PyTorch's ConvTranspose2d) of `x` [N, C, H, W] with `weight` [C, O/groups, kH, kW]:
 * output size `stride (H - 1) + dilation (kH - 1) + 1 - padTop - padBottom + outputPadding`.
 *
 * @example
 * const up = convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }); // 3x3 kernel: 16x16 -> 32x32
 */
export function convTranspose2d(
  x: Tensor, weight: Tensor, opts: Conv2dOptions & { outputPadding?: number | [number, number] } = {},
): Tensor {
  if (opts.padding === 'same') {
    fail(
      'convTranspose2d',
      "padding 'same' is not defined for a transposed convolution",
      'give explicit padding',
      'E_CONFIG',
    );
  }
  const kernel = weight.shape.slice(2) as [number, number];
  const outputPadding = pair(opts.outputPadding ?? 0);
  return apply1('convTranspose2d', [x, weight], { ...convAttrs(opts, kernel, 'convTranspose2d'), outputPadding });
}
