/**
 * Functional ops over NCHW feature maps, composed from the op set (no new IR ops, so every executor, the
 * exporter and autodiff get them for free): group normalisation, average and max pooling, nearest and bilinear
 * upsampling, and the sinusoidal timestep embedding of diffusion models.
 */
import type { Tensor } from '../core/graph.ts';
import {
  add, concat, constant, conv2d, convOutSize, cos, fullLike, greater, layerNorm, matmul, maximum, mul, pad, reshape,
  sin, slice, expand, transpose, unsqueeze, where,
} from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';

/**
 * Channels and spatial sizes of an NCHW tensor (static), or an E_SHAPE error naming `where`.
 *
 * @example
 * const [c, h, w] = featureDims(x, 'groupNorm'); // x [batch, 64, 32, 32] -> [64, 32, 32]
 */
export function featureDims(x: Tensor, where: string): [number, number, number] {
  const [, c, h, w] = x.shape;
  if (x.rank !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw new SwitchyardError(
      'E_SHAPE',
      `${where}: expected an NCHW feature map with static C, H, W, got ${x}`,
      'reshape to [batch, channels, height, width]',
    );
  }
  return [c, h, w];
}

function positiveInt(where: string, name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) {
    throw new SwitchyardError(
      'E_CONFIG',
      `${where}: ${name} must be a positive integer, got ${v}`,
      'e.g. 2',
    );
  }
}

/**
 * Group normalisation: the channels of `x` [N, C, H, W] split into `groups`, each normalised over its channels
 * and pixels, then scaled and shifted per channel by `weight` and `bias` [C]. Lowered as a LayerNormalization
 * over [N, groups, C/groups * H * W] (one fused op in ORT).
 *
 * @example
 * const h = groupNorm(x, 8, gamma, beta); // x [N, 64, 32, 32]
 */
export function groupNorm(x: Tensor, groups: number, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const [c, h, w] = featureDims(x, 'groupNorm');
  positiveInt('groupNorm', 'groups', groups);
  if (c % groups !== 0) {
    throw new SwitchyardError(
      'E_CONFIG',
      `groupNorm: ${c} channels are not divisible by ${groups} groups`,
      'pick a group count that divides the channels',
    );
  }
  const m = (c / groups) * h * w;
  const [one, zero] = [constant(new Float32Array(m).fill(1), [m]), constant(new Float32Array(m), [m])];
  const unit = layerNorm(reshape(x, [x.shape[0], groups, m]), one, zero, eps);
  return add(mul(reshape(unit, [...x.shape]), reshape(weight, [c, 1, 1])), reshape(bias, [c, 1, 1]));
}

/**
 * Average pooling over `kernel` x `kernel` windows (stride defaults to the kernel). Zero padding counts in the
 * average (PyTorch's `count_include_pad=True`). A depthwise conv with a constant 1/k^2 weight.
 *
 * @example
 * avgPool2d(x, 2); // [N, C, 32, 32] -> [N, C, 16, 16]
 */
export function avgPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  const [c] = featureDims(x, 'avgPool2d');
  positiveInt('avgPool2d', 'kernel', kernel);
  const k2 = kernel * kernel;
  const weight = constant(new Float32Array(c * k2).fill(1 / k2), [c, 1, kernel, kernel]);
  return conv2d(x, weight, { stride, padding, groups: c });
}

/** Rows `start, start + stride, ...` (`count` of them) along `axis` of `x`, by a slice and a reshape. */
function strided(x: Tensor, axis: 2 | 3, start: number, stride: number, count: number): Tensor {
  const window = slice(x, axis, start, start + stride * count);
  if (stride === 1) return window;
  const split = [...window.shape];
  split.splice(axis, 1, count, stride);
  const picked = slice(reshape(window, split), axis + 1, 0, 1);
  return reshape(picked, window.shape.map((d, i) => (i === axis ? count : d)));
}

/**
 * Max pooling over `kernel` x `kernel` windows (stride defaults to the kernel); padding never wins a max. The
 * elementwise maximum of the window's strided taps (the gradient goes to the first of tied taps).
 *
 * @example
 * maxPool2d(x, 2); // [N, C, 32, 32] -> [N, C, 16, 16]
 */
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  const [, h, w] = featureDims(x, 'maxPool2d');
  for (const [name, v] of [['kernel', kernel], ['stride', stride]] as const) positiveInt('maxPool2d', name, v);
  if (!(Number.isInteger(padding) && padding >= 0 && 2 * padding <= kernel)) {
    throw new SwitchyardError(
      'E_CONFIG',
      `maxPool2d: padding ${padding} must be an integer in [0, kernel / 2]`,
      'as in PyTorch',
    );
  }
  const [oh, ow] = [h, w].map((size) => convOutSize(size, kernel, stride, padding, padding, 1));
  if (oh < 1 || ow < 1) {
    throw new SwitchyardError(
      'E_SHAPE',
      `maxPool2d: a ${kernel}x${kernel} window does not fit ${x}`,
      'use a smaller kernel',
    );
  }
  // Pad so every tap's strided read has `stride * out` rows; padded cells hold -inf.
  const after = [[oh, h], [ow, w]].map(([out, size]) => Math.max(padding, kernel - 1 + stride * out - size - padding));
  let xp = x;
  if (padding > 0 || after[0] > 0 || after[1] > 0) {
    const widths = [[0, 0, padding, padding], [0, 0, after[0], after[1]]];
    xp = where(greater(pad(fullLike(x, 1), widths[0], widths[1]), 0), pad(x, widths[0], widths[1]), -Infinity);
  }
  let out: Tensor | null = null;
  for (let kh = 0; kh < kernel; kh++) {
    const rows = strided(xp, 2, kh, stride, oh);
    for (let kw = 0; kw < kernel; kw++) {
      const tap = strided(rows, 3, kw, stride, ow);
      out = out ? maximum(out, tap) : tap;
    }
  }
  return out!;
}

/**
 * Nearest-neighbour upsampling by an integer `scale`: every pixel becomes a `scale` x `scale` block.
 *
 * @example
 * upsampleNearest2d(x, 2); // [N, C, 16, 16] -> [N, C, 32, 32]
 */
export function upsampleNearest2d(x: Tensor, scale = 2): Tensor {
  const [c, h, w] = featureDims(x, 'upsampleNearest2d');
  positiveInt('upsampleNearest2d', 'scale', scale);
  if (h * scale <= NEAREST_MATMUL_MAX_SIDE && w * scale <= NEAREST_MATMUL_MAX_SIDE) {
    // Small maps: two products with 0/1 matrices, exact (each output is one input times 1). ONNX Runtime's Expand
    // over the size-1 axes of the reshape below broadcasts element by element: forward + backward of the tiny U-Net's
    // [32, 32, 14, 14] upsampling took 18 ms that way and 2.2 ms as MatMuls. Their cost grows with the side.
    return matmul(nearestRepeat(h * scale, h, scale), matmul(x, transpose(nearestRepeat(w * scale, w, scale))));
  }
  const blocks = expand(reshape(x, [x.shape[0], c, h, 1, w, 1]), [1, c, h, scale, w, scale]);
  return reshape(blocks, [x.shape[0], c, h * scale, w * scale]);
}

/** Largest upsampled side {@link upsampleNearest2d} computes with 0/1 matrix products. */
const NEAREST_MATMUL_MAX_SIDE = 64;

/** The [outer, inner] 0/1 matrix whose row i picks element floor(i / scale): nearest repetition along one axis. */
function nearestRepeat(outer: number, inner: number, scale: number): Tensor {
  const m = new Float32Array(outer * inner);
  for (let i = 0; i < outer; i++) m[i * inner + Math.floor(i / scale)] = 1;
  return constant(m, [outer, inner]);
}

/**
 * Upsamples an NCHW feature map by an integer `scale` with bilinear interpolation, pixel centres aligned (PyTorch's
 * `interpolate(mode='bilinear', align_corners=False)`, ONNX `Resize` linear with `half_pixel`; edges repeat). Each
 * axis in turn: output pixel `scale * i + k` mixes pixel i with its previous or next neighbour, by the offset
 * `(k + 0.5) / scale - 0.5` of its centre; the `scale` phases are then interleaved.
 *
 * @example
 * upsampleBilinear2d(x, 2); // [N, C, 16, 16] -> [N, C, 32, 32]
 */
export function upsampleBilinear2d(x: Tensor, scale = 2): Tensor {
  featureDims(x, 'upsampleBilinear2d');
  positiveInt('upsampleBilinear2d', 'scale', scale);
  return upsampleLinearAxis(upsampleLinearAxis(x, 2, scale), 3, scale);
}

/** Linear upsampling of one spatial axis (2: H, 3: W) of an NCHW map; see {@link upsampleBilinear2d}. */
function upsampleLinearAxis(x: Tensor, axis: 2 | 3, scale: number): Tensor {
  const n = x.shape[axis] as number;
  // The neighbours before and after each pixel, the edge pixel repeated past the border.
  const prev = n === 1 ? x : concat([slice(x, axis, 0, 1), slice(x, axis, 0, n - 1)], axis);
  const next = n === 1 ? x : concat([slice(x, axis, 1, n), slice(x, axis, n - 1, n)], axis);
  const phases = Array.from({ length: scale }, (_, k) => {
    const d = (k + 0.5) / scale - 0.5;
    const mixed = d === 0 ? x : d < 0 ? add(mul(prev, -d), mul(x, 1 + d)) : add(mul(x, 1 - d), mul(next, d));
    return unsqueeze(mixed, axis + 1);
  });
  const shape = [...x.shape];
  shape[axis] = n * scale;
  return reshape(concat(phases, axis + 1), shape);
}

/**
 * Sinusoidal embedding of diffusion timesteps `t` (f32 [N]) as [N, dim]: `[cos(t f_i), sin(t f_i)]` with
 * frequencies `f_i = maxPeriod^(-i / half)` (the DDPM / guided-diffusion layout; an odd `dim` ends with a zero).
 *
 * @example
 * timestepEmbedding(t, 128); // [N] -> [N, 128]
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  positiveInt('timestepEmbedding', 'dim', dim);
  if (t.rank !== 1 || t.dtype !== 'f32') {
    throw new SwitchyardError(
      'E_SHAPE',
      `timestepEmbedding: timesteps must be f32 [N], got ${t}`,
      'cast integer steps to f32 first',
    );
  }
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / Math.max(1, half)));
  const args = mul(reshape(t, [t.shape[0], 1]), constant(freqs, [1, half]));
  const emb = concat([cos(args), sin(args)], 1);
  return dim % 2 === 1 ? pad(emb, [0, 0], [0, 1]) : emb;
}
