/**
 * WGSL kernels of the conv ops: direct loops, one invocation per output element (no atomics: the transposed conv
 * and the weight gradient gather what they sum instead of scattering it). The correctness baseline a tiled
 * implicit-GEMM version would be checked against.
 */
import { type ConvGeometry, convGeometry } from '../../../core/ops/conv.ts';
import { type GpuKernel, perElement } from './wgsl.ts';

/** WGSL constants of a geometry (i32, so padding arithmetic can go negative). */
function consts(g: ConvGeometry): string {
  const v = {
    N: g.n, C: g.c, H: g.h, W: g.w, O: g.o, OH: g.oh, OW: g.ow, KH: g.kh, KW: g.kw,
    CG: g.c / g.groups, OG: g.o / g.groups,
    SH: g.stride[0], SW: g.stride[1], PT: g.pads[0], PL: g.pads[1], DH: g.dilation[0], DW: g.dilation[1],
  };
  return Object.entries(v).map(([k, n]) => `const ${k}: i32 = ${n};`).join('\n');
}

/** `let name = ...` lines splitting the flat index `i` over `dims` (row-major). */
function unflatten(names: string[], dims: string[]): string {
  const lines = ['  var rest = i32(i);'];
  for (let j = names.length - 1; j >= 0; j--) {
    lines.push(`  let ${names[j]} = rest % ${dims[j]}; rest = rest / ${dims[j]};`);
  }
  return lines.join('\n');
}

const X = '((n * C + c) * H + ih) * W + iw';
const WT = '((o * CG + c % CG) * KH + kh) * KW + kw';
const Y = '((n * O + o) * OH + oh) * OW + ow';

/** Kernels of conv2d, convTranspose2d and conv2dWeightGrad. */
export const convGpuKernels: Record<string, GpuKernel> = {
  conv2d: ([x, w], attrs) => {
    const g = convGeometry('conv2d', [x.shape, w.shape], attrs);
    const body = `${unflatten(['n', 'o', 'oh', 'ow'], ['N', 'O', 'OH', 'OW'])}
  var acc = 0.0;
  for (var c = (o / OG) * CG; c < (o / OG + 1) * CG; c++) {
    for (var kh = 0; kh < KH; kh++) {
      let ih = oh * SH - PT + kh * DH;
      if (ih < 0 || ih >= H) { continue; }
      for (var kw = 0; kw < KW; kw++) {
        let iw = ow * SW - PL + kw * DW;
        if (iw < 0 || iw >= W) { continue; }
        acc = acc + in0[${X}] * in1[${WT}];
      }
    }
  }
  out0[i] = acc;`;
    return perElement([x, w], 'f32', [g.n, g.o, g.oh, g.ow], body, consts(g));
  },
  convTranspose2d: ([dy, w], attrs) => {
    const g = convGeometry('convTranspose2d', [dy.shape, w.shape], attrs);
    // Output element (n, c, ih, iw) sums dy[n, o, oh, ow] * w[o, c, kh, kw] over the taps with oh SH - PT + kh DH = ih.
    const body = `${unflatten(['n', 'c', 'ih', 'iw'], ['N', 'C', 'H', 'W'])}
  var acc = 0.0;
  for (var o = (c / CG) * OG; o < (c / CG + 1) * OG; o++) {
    for (var kh = 0; kh < KH; kh++) {
      let th = ih + PT - kh * DH;
      if (th < 0 || th % SH != 0 || th / SH >= OH) { continue; }
      let oh = th / SH;
      for (var kw = 0; kw < KW; kw++) {
        let tw = iw + PL - kw * DW;
        if (tw < 0 || tw % SW != 0 || tw / SW >= OW) { continue; }
        let ow = tw / SW;
        acc = acc + in0[${Y}] * in1[${WT}];
      }
    }
  }
  out0[i] = acc;`;
    return perElement([dy, w], 'f32', [g.n, g.c, g.h, g.w], body, consts(g));
  },
  conv2dWeightGrad: ([x, dy], attrs) => {
    const g = convGeometry('conv2dWeightGrad', [x.shape, dy.shape], attrs);
    const body = `${unflatten(['o', 'cg', 'kh', 'kw'], ['O', 'CG', 'KH', 'KW'])}
  let c = (o / OG) * CG + cg;
  var acc = 0.0;
  for (var n = 0; n < N; n++) {
    for (var oh = 0; oh < OH; oh++) {
      let ih = oh * SH - PT + kh * DH;
      if (ih < 0 || ih >= H) { continue; }
      for (var ow = 0; ow < OW; ow++) {
        let iw = ow * SW - PL + kw * DW;
        if (iw < 0 || iw >= W) { continue; }
        acc = acc + in0[${X}] * in1[${Y}];
      }
    }
  }
  out0[i] = acc;`;
    return perElement([x, dy], 'f32', [g.o, g.c / g.groups, g.kh, g.kw], body, consts(g));
  },
};
