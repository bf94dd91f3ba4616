import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply1, conv2d, convAttrs, convOutSize, convTranspose2d, type Tensor } from '../../src/core/index.ts';
import { check, checkedOps, GRAD_FAMILIES, gradCheck, seedArb } from './gradcheck.ts';

/** A small conv geometry whose output is at least 1x1: channels per group, groups, sizes, kernel, stride, dilation, pads. */
const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 2, max: 5 }),
    w: fc.integer({ min: 2, max: 5 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pads: fc.tuple(fc.nat(2), fc.nat(1), fc.nat(1), fc.nat(2)),
    seed: seedArb,
  })
  .filter((g) => convOutSize(g.h, g.kh, g.stride[0], g.pads[0], g.pads[2], g.dilation[0]) >= 1
    && convOutSize(g.w, g.kw, g.stride[1], g.pads[1], g.pads[3], g.dilation[1]) >= 1);

describe('gradients of the conv ops', () => {
  it('conv2d w.r.t. input and weight: random stride, padding, dilation, groups', () => {
    check(convArb, (g) => {
      const opts = { stride: g.stride, padding: g.pads, dilation: g.dilation, groups: g.groups };
      gradCheck((x, w) => conv2d(x, w, opts), [{ shape: [g.n, g.cg * g.groups, g.h, g.w] }, { shape: [g.og * g.groups, g.cg, g.kh, g.kw] }], { seed: g.seed });
    }, 12);
  });

  it('convTranspose2d w.r.t. input and weight, with output padding', () => {
    check(convArb, (g) => {
      const outputPadding: [number, number] = [g.stride[0] - 1, 0];
      const opts = { stride: g.stride, padding: g.pads, dilation: g.dilation, groups: g.groups, outputPadding };
      // A transposed conv maps the conv2d output size back to an input size: feed it a conv2d output shape.
      const oh = convOutSize(g.h, g.kh, g.stride[0], g.pads[0], g.pads[2], g.dilation[0]);
      const ow = convOutSize(g.w, g.kw, g.stride[1], g.pads[1], g.pads[3], g.dilation[1]);
      gradCheck((x, w) => convTranspose2d(x, w, opts), [{ shape: [g.n, g.og * g.groups, oh, ow] }, { shape: [g.og * g.groups, g.cg, g.kh, g.kw] }], { seed: g.seed });
    }, 12);
  });

  it('conv2dWeightGrad w.r.t. input and output gradient (the second-order path)', () => {
    check(convArb, (g) => {
      const attrs = { ...convAttrs({ stride: g.stride, padding: g.pads, dilation: g.dilation, groups: g.groups }, [g.kh, g.kw], 'test'), kernel: [g.kh, g.kw] };
      const oh = convOutSize(g.h, g.kh, g.stride[0], g.pads[0], g.pads[2], g.dilation[0]);
      const ow = convOutSize(g.w, g.kw, g.stride[1], g.pads[1], g.pads[3], g.dilation[1]);
      const f = (x: Tensor, dy: Tensor) => apply1('conv2dWeightGrad', [x, dy], attrs);
      gradCheck(f, [{ shape: [g.n, g.cg * g.groups, g.h, g.w] }, { shape: [g.n, g.og * g.groups, oh, ow] }], { seed: g.seed });
    }, 8);
  });

  it("a 'same' 3x3 conv with a symbolic batch", () => {
    gradCheck((x, w) => conv2d(x, w, { padding: 'same' }), [{ shape: [2, 2, 4, 4], declared: ['batch', 2, 4, 4] }, { shape: [3, 2, 3, 3] }]);
  });
});

it('checks every conv op with a gradient rule', () => {
  expect(GRAD_FAMILIES.conv.filter((op) => !checkedOps.has(op))).toEqual([]);
});
