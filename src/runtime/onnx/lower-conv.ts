/**
 * ONNX lowering of the conv ops. conv2d is ONNX Conv (MLAS: im2col + GEMM); convTranspose2d is a Conv with the
 * flipped weight at stride 1, else ONNX ConvTranspose. conv2dWeightGrad has no ONNX op: it is lowered as an explicit
 * im2col (one strided Slice per kernel tap, concatenated) and one batched MatMul against the output gradient, summed
 * over the batch. bench/conv.ts measures every alternative tried.
 */
import type { Node } from '../../core/graph.ts';
import type { ConvAttrs } from '../../core/ops/conv.ts';
import type { GraphEmitter } from './lower.ts';
import { attr } from './proto.ts';

type Lowering = (em: GraphEmitter, n: Node, ins: string[], outs: string[]) => void;

function convAttrs(n: Node) {
  const a = n.attrs as unknown as ConvAttrs;
  const w = n.inputs[1].shape;
  return {
    strides: attr.ints(a.stride), pads: attr.ints(a.pads), dilations: attr.ints(a.dilation), group: attr.int(a.groups),
    kernel_shape: attr.ints([w[2] as number, w[3] as number]),
  };
}

/** Sizes {@link im2col} needs: input channels and spatial sizes, kernel, output spatial sizes. */
export interface Im2colDims {
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
}

/**
 * The im2col matrix of the conv2d input `x` [N, C, H, W] as [N, groups, C/groups * kH * kW, OH * OW]: for every
 * tap (kh, kw) the strided window of the padded input, concatenated along H (the same memory as
 * [N, C, kH * kW, OH, OW]), then reshaped.
 *
 * @example
 * const cols = im2col(em, 'x', attrs, { c: 64, h: 32, w: 32, kh: 3, kw: 3, oh: 32, ow: 32 }); // [N, 1, 576, 1024]
 */
export function im2col(em: GraphEmitter, x: string, a: ConvAttrs, dims: Im2colDims): string {
  const widths = [0, 0, a.pads[0], a.pads[1], 0, 0, a.pads[2], a.pads[3]];
  const padded = a.pads.some((p) => p > 0) ? em.emit('Pad', [x, em.ints(widths)])[0] : x;
  const taps: string[] = [];
  for (let kh = 0; kh < dims.kh; kh++) {
    for (let kw = 0; kw < dims.kw; kw++) {
      const start = [kh * a.dilation[0], kw * a.dilation[1]];
      const end = [start[0] + a.stride[0] * (dims.oh - 1) + 1, start[1] + a.stride[1] * (dims.ow - 1) + 1];
      taps.push(em.emit('Slice', [padded, em.ints(start), em.ints(end), em.ints([2, 3]), em.ints(a.stride)])[0]);
    }
  }
  const [cols] = taps.length === 1 ? taps : em.emit('Concat', taps, { axis: attr.int(2) });
  const rows = (dims.c / a.groups) * dims.kh * dims.kw;
  return em.emit('Reshape', [cols, em.ints([-1, a.groups, rows, dims.oh * dims.ow])])[0];
}

/** Lowerings of the conv ops. */
export const CONV_LOWERINGS: Record<string, Lowering> = {
  conv2d: (em, n, ins, outs) => void em.emit('Conv', ins, convAttrs(n), outs),
  convTranspose2d: (em, n, ins, outs) => {
    const a = n.attrs as unknown as ConvAttrs & { outputPadding: [number, number] };
    const [cin, coutG, kh, kw] = n.inputs[1].shape as number[];
    const k = [kh, kw];
    // At stride 1 a transposed conv is a conv with the flipped, transposed weight and the complementary padding; MLAS
    // runs that ~2x faster than its ConvTranspose (bench/conv.ts). Padding beyond the kernel's reach would crop:
    // ConvTranspose then.
    const pads = [0, 1, 0, 1].map((i, j) => a.dilation[i] * (k[i] - 1) - a.pads[j] + (j >= 2 ? a.outputPadding[i] : 0));
    if (a.stride[0] !== 1 || a.stride[1] !== 1 || pads.some((p) => p < 0)) {
      return void em.emit('ConvTranspose', ins, { ...convAttrs(n), output_padding: attr.ints(a.outputPadding) }, outs);
    }
    const G = a.groups;
    const [grouped] = em.emit('Reshape', [ins[1], em.ints([G, cin / G, coutG, kh, kw])]);
    const [swapped] = em.emit('Transpose', [grouped], { perm: attr.ints([0, 2, 1, 3, 4]) });
    const [weight] = em.emit('Reshape', [swapped, em.ints([G * coutG, cin / G, kh, kw])]);
    const reversed = [em.ints([-1, -1]), em.ints([-kh - 1, -kw - 1]), em.ints([2, 3]), em.ints([-1, -1])];
    const [flipped] = em.emit('Slice', [weight, ...reversed]);
    em.emit('Conv', [ins[0], flipped], { ...convAttrs(n), pads: attr.ints(pads) }, outs);
  },
  conv2dWeightGrad: (em, n, ins, outs) => {
    const a = n.attrs as unknown as ConvAttrs & { kernel: [number, number] };
    const [x, dy] = n.inputs.map((t) => t.shape as number[]);
    const [kh, kw] = a.kernel;
    const cols = im2col(em, ins[0], a, { c: x[1], h: x[2], w: x[3], kh, kw, oh: dy[2], ow: dy[3] });
    const og = dy[1] / a.groups;
    const [g] = em.emit('Reshape', [ins[1], em.ints([-1, a.groups, og, dy[2] * dy[3]])]);
    // Per image: [G, O/G, L] @ [G, L, C/G kH kW]; ORT fuses the Transpose into the MatMul.
    const [colsT] = em.emit('Transpose', [cols], { perm: attr.ints([0, 1, 3, 2]) });
    const [per] = em.emit('MatMul', [g, colsT]);
    const [sum] = em.emit('ReduceSum', [per, em.ints([0])], { keepdims: attr.int(0) });
    em.emit('Reshape', [sum, em.ints([dy[1], x[1] / a.groups, kh, kw])], {}, outs);
  },
};
