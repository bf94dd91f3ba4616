import { type ConvGeometry, convGeometry } from '../../core/ops/conv.ts';
import type { Kernel } from './tensor.ts';

/**
 * Calls `fn(xi, wi, yi)` for every multiply of a conv2d: the flat offsets of the input element, the weight
 * element and the output element it adds to (taps that fall in the padding are skipped). The three conv ops
 * are this one loop with a different pair of operands and a different accumulator.
 */
function forEachTap(g: ConvGeometry, fn: (xi: number, wi: number, yi: number) => void): void {
  const cg = g.c / g.groups;
  const og = g.o / g.groups;
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const c0 = Math.floor(o / og) * cg;
      for (let oh = 0; oh < g.oh; oh++) {
        for (let ow = 0; ow < g.ow; ow++) {
          const yi = ((n * g.o + o) * g.oh + oh) * g.ow + ow;
          for (let c = 0; c < cg; c++) {
            for (let kh = 0; kh < g.kh; kh++) {
              const ih = oh * g.stride[0] - g.pads[0] + kh * g.dilation[0];
              if (ih < 0 || ih >= g.h) continue;
              for (let kw = 0; kw < g.kw; kw++) {
                const iw = ow * g.stride[1] - g.pads[1] + kw * g.dilation[1];
                if (iw < 0 || iw >= g.w) continue;
                fn(((n * g.c + c0 + c) * g.h + ih) * g.w + iw, ((o * cg + c) * g.kh + kh) * g.kw + kw, yi);
              }
            }
          }
        }
      }
    }
  }
}

/** Kernels of conv2d, its transpose and its weight gradient. */
export const convKernels: Record<string, Kernel> = {
  conv2d: ([x, w], attrs) => {
    const g = convGeometry('conv2d', [x.shape, w.shape], attrs);
    const data = new Float64Array(g.n * g.o * g.oh * g.ow);
    forEachTap(g, (xi, wi, yi) => (data[yi] += x.data[xi] * w.data[wi]));
    return [{ shape: [g.n, g.o, g.oh, g.ow], data }];
  },
  convTranspose2d: ([dy, w], attrs) => {
    const g = convGeometry('convTranspose2d', [dy.shape, w.shape], attrs);
    const data = new Float64Array(g.n * g.c * g.h * g.w);
    forEachTap(g, (xi, wi, yi) => (data[xi] += dy.data[yi] * w.data[wi]));
    return [{ shape: [g.n, g.c, g.h, g.w], data }];
  },
  conv2dWeightGrad: ([x, dy], attrs) => {
    const g = convGeometry('conv2dWeightGrad', [x.shape, dy.shape], attrs);
    const data = new Float64Array(g.o * (g.c / g.groups) * g.kh * g.kw);
    forEachTap(g, (xi, wi, yi) => (data[wi] += x.data[xi] * dy.data[yi]));
    return [{ shape: [g.o, g.c / g.groups, g.kh, g.kw], data }];
  },
};
