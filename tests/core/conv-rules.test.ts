import { describe, expect, it } from 'vitest';
import {
  apply1, conv2d, convAttrs, convGeometry, convTranspose2d, type Graph, type Tensor, trace,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectRejects, input, inTrace, typeOf } from './rules.ts';

const POSITIVE = /e\.g\. \{ stride: 2, dilation: 1, groups: 1 \}/;
const NCHW = /convolutions take NCHW tensors: \[batch, channels, height, width\]/;
const BELOW = 'must be below the stride or the dilation';
const FIT_HINT = /use a smaller kernel or dilation, more padding, or a larger input/;

/** conv2dWeightGrad of `x` and `dy` with stride/pads/dilation/groups and kernel [kh, kw]. */
function weightGrad(
  x: Tensor, dy: Tensor, kernel: [number, number], groups = 1, stride: [number, number] = [1, 1],
): Tensor {
  return apply1('conv2dWeightGrad', [x, dy], { stride, pads: [0, 0, 0, 0], dilation: [1, 1], groups, kernel });
}

describe('convAttrs: user options', () => {
  it('every stride, dilation and groups value must be a positive integer (1 is fine)', () => {
    expect(convAttrs({ stride: 1, dilation: 1, groups: 1 }, [3, 3], 'conv2d')).toEqual({
      stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1,
    });
    const bad = [
      { stride: [0, 1] }, { stride: [1, 0] }, { dilation: [0, 1] }, { dilation: [1, 0] }, { groups: 0 },
      { stride: 1.5 }, { dilation: -1 },
    ];
    for (const opts of bad) {
      expectRejects(() => convAttrs(opts as never, [3, 3], 'conv2d'), 'E_CONFIG',
        /^conv2d: stride \[.*\], dilation \[.*\] and groups .* must be positive integers$/, POSITIVE);
    }
    inTrace((g) => {
      expectRejects(() => conv2d(input(g, 'x', [1, 1, 3, 3]), input(g, 'w', [1, 1, 1, 1]), { groups: 0 }), 'E_CONFIG',
        /^conv2d: stride \[1,1\]/, POSITIVE);
    });
    expectRejects(() => convAttrs({ stride: [2, 0], dilation: 3, groups: 4 }, [3, 3], 'convTranspose2d'), 'E_CONFIG',
      /^convTranspose2d: stride \[2,0\], dilation \[3,3\] and groups 4 must be positive integers$/, POSITIVE);
  });

  it("padding: a number, [ph, pw], [top, left, bottom, right] or 'same'", () => {
    expect(convAttrs({ padding: 2 }, [3, 3], 'conv2d').pads).toEqual([2, 2, 2, 2]);
    expect(convAttrs({ padding: [1, 2] }, [3, 3], 'conv2d').pads).toEqual([1, 2, 1, 2]);
    expect(convAttrs({ padding: [1, 2, 3, 0] }, [3, 3], 'conv2d').pads).toEqual([1, 2, 3, 0]);
    expect(convAttrs({}, [3, 3], 'conv2d').pads).toEqual([0, 0, 0, 0]);
    // 'same': total d (k - 1) per axis, the odd one on the bottom/right.
    expect(convAttrs({ padding: 'same', dilation: [2, 1] }, [3, 4], 'conv2d').pads).toEqual([2, 1, 2, 2]);
    expect(convAttrs({ padding: 'same' }, [2, 1], 'conv2d').pads).toEqual([0, 0, 1, 0]);
  });

  it("padding 'same' needs stride 1 along both axes", () => {
    for (const stride of [[2, 1], [1, 2]] as [number, number][]) {
      expectRejects(() => convAttrs({ padding: 'same', stride }, [3, 3], 'conv2d'), 'E_CONFIG',
        new RegExp(`^conv2d: padding 'same' needs stride 1, got \\[${stride}\\]$`),
          /^give explicit padding for strided convolutions$/);
    }
  });

  it('negative or fractional padding is rejected, 0 is fine', () => {
    const hint = /^e\.g\. padding: 1 or 'same'$/;
    expectRejects(() => convAttrs({ padding: -1 }, [3, 3], 'conv2d'), 'E_CONFIG',
      /^conv2d: padding \[-1,-1,-1,-1\] must be non-negative integers$/, hint);
    expectRejects(() => convAttrs({ padding: [0, 0, 0, 0.5] }, [3, 3], 'conv2d'), 'E_CONFIG',
      /padding \[0,0,0,0.5\]/, hint);
    expectRejects(() => convAttrs({ padding: [0, -2] }, [3, 3], 'conv2d'), 'E_CONFIG', /padding \[0,-2,0,-2\]/, hint);
    expect(convAttrs({ padding: [0, 0] }, [3, 3], 'conv2d').pads).toEqual([0, 0, 0, 0]);
  });

  it("convTranspose2d: no 'same' padding; output padding defaults to 0 and a number means both axes", () => {
    inTrace((g) => {
      const x = input(g, 'x', [1, 2, 3, 3]);
      const w = input(g, 'w', [2, 1, 3, 3]);
      expectRejects(() => convTranspose2d(x, w, { padding: 'same' }), 'E_CONFIG',
        /^convTranspose2d: padding 'same' is not defined for a transposed convolution$/, /^give explicit padding$/);
      expect(typeOf(convTranspose2d(x, w))).toEqual({ dtype: 'f32', shape: [1, 1, 5, 5] });
      expect(convTranspose2d(x, w, { stride: 2, outputPadding: 1 }).shape).toEqual([1, 1, 8, 8]);
      expect(convTranspose2d(x, w, { stride: 2, outputPadding: [1, 0] }).shape).toEqual([1, 1, 8, 7]);
      expectRejects(() => convTranspose2d(x, w, { stride: 2, padding: -1 }), 'E_CONFIG', /^convTranspose2d: padding/,
        /padding: 1/);
    });
  });
});

describe('conv2d shape rules', () => {
  it('operands must be f32 NCHW tensors; only the input batch may be symbolic', () => {
    inTrace((g) => {
      const w = input(g, 'w', [4, 3, 3, 3]);
      const x = input(g, 'x', [2, 3, 8, 8]);
      expectRejects(() => conv2d(input(g, 'xi', [2, 3, 8, 8], 'i64'), w), 'E_DTYPE',
        /^conv2d: input has dtype i64, expected f32$/, /cast/);
      expectRejects(() => conv2d(x, input(g, 'wi', [4, 3, 3, 3], 'i64')), 'E_DTYPE',
        /^conv2d: weight has dtype i64, expected f32$/, /cast/);
      expectRejects(() => conv2d(input(g, 'x3', [3, 8, 8]), w), 'E_SHAPE',
        /^conv2d: input f32\[3, 8, 8\] is not rank 4$/, NCHW);
      expectRejects(() => conv2d(x, input(g, 'w5', [4, 3, 3, 3, 1])), 'E_SHAPE',
        /^conv2d: weight f32\[4, 3, 3, 3, 1\] is not rank 4$/, NCHW);
      const symbolic = /only the batch dimension of an input may be symbolic/;
      expectRejects(() => conv2d(input(g, 'xc', [2, 'c', 8, 8]), w), 'E_SHAPE',
        /^conv2d: input f32\[2, c, 8, 8\] has symbolic channels or spatial sizes$/, symbolic);
      expectRejects(() => conv2d(input(g, 'xw', [2, 3, 8, 'w']), w), 'E_SHAPE',
        /input f32\[2, 3, 8, w\] has symbolic/, symbolic);
      expectRejects(() => conv2d(x, input(g, 'wo', ['o', 3, 3, 3])), 'E_SHAPE',
        /^conv2d: weight f32\[o, 3, 3, 3\] has symbolic/, symbolic);
      expect(typeOf(conv2d(input(g, 'xb',
        ['batch', 3, 8, 8]), w))).toEqual({ dtype: 'f32', shape: ['batch', 4, 6, 6] });
    });
  });

  it('channels and groups', () => {
    inTrace((g) => {
      const x = input(g, 'x', [1, 4, 5, 5]);
      expectRejects(() => conv2d(x, input(g, 'w3', [3, 2, 3, 3]), { groups: 2 }), 'E_SHAPE',
        /^conv2d: output channels 3 are not divisible by groups 2$/,
          /^use a group count that divides both channel counts$/);
      expectRejects(() => conv2d(x, input(g, 'w1', [4, 1, 3, 3]), { groups: 2 }), 'E_SHAPE',
        /^conv2d: weight \[4, 1, 3, 3\] expects 2 input channels \(groups 2\), input f32\[1, 4, 5, 5\] has 4$/,
          /^weight is \[out, in \/ groups, kH, kW\]$/);
      expectRejects(() => conv2d(x, input(g, 'w5', [4, 5, 3, 3])), 'E_SHAPE', /expects 5 input channels \(groups 1\)/,
        /weight is/);
      expect(typeOf(conv2d(x, input(g, 'w2',
        [6, 2, 3, 3]), { groups: 2 }))).toEqual({ dtype: 'f32', shape: [1, 6, 3, 3] });
      expect(typeOf(conv2d(x, input(g, 'wd',
        [4, 1, 1, 1]), { groups: 4 }))).toEqual({ dtype: 'f32', shape: [1, 4, 5, 5] });
    });
  });

  it('the kernel must fit: a 1x1 output is fine, 0 along either axis is not', () => {
    inTrace((g) => {
      const w = input(g, 'w', [1, 1, 3, 3]);
      expect(typeOf(conv2d(input(g, 'x1', [1, 1, 3, 3]), w))).toEqual({ dtype: 'f32', shape: [1, 1, 1, 1] });
      expectRejects(() => conv2d(input(g, 'xh', [1, 1, 2, 5]), w), 'E_SHAPE',
        /^conv2d: kernel 3x3 \(dilation 1,1, padding 0,0,0,0\) does not fit input f32\[1, 1, 2, 5\]$/, FIT_HINT);
      expectRejects(() => conv2d(input(g, 'xw', [1, 1, 5, 2]), w), 'E_SHAPE',
        /does not fit input f32\[1, 1, 5, 2\]/, FIT_HINT);
      expectRejects(() => conv2d(input(g, 'xd', [1, 1, 4, 4]), w, { dilation: [2, 1], padding: [0, 1] }), 'E_SHAPE',
        /kernel 3x3 \(dilation 2,1, padding 0,1,0,1\)/, FIT_HINT);
      expect(typeOf(conv2d(input(g, 'xs',
        [1, 1, 7, 6]), w, { stride: [2, 3], padding: 1 }))).toEqual({ dtype: 'f32', shape: [1, 1, 4, 2] });
    });
  });

  it('computes a cross-correlation with stride, padding and groups (float64 reference)', () => {
    const graph = trace((g) => ({ y: conv2d(g.input('x', 'f32', [1, 2, 3, 3]), g.input('w', 'f32',
      [2, 1, 2, 2]), { groups: 2, stride: [1, 2], padding: [0, 1] }) }));
    const x = Array.from({ length: 18 }, (_, i) => i);
    const w = [1, 0, 0, -1, 2, 1, 0, 0];
    const y = runReference(graph, { x: refTensor(x, [1, 2, 3, 3]), w: refTensor(w, [2, 1, 2, 2]) }).y;
    // Windows start at columns -1 and 1 (padding 1, stride 2);
    // channel 0: x[i][c] - x[i+1][c+1], channel 1: 2 x[i][c] + x[i][c+1].
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect([...y.data]).toEqual([-3, -4, -6, -4, 9, 31, 12, 40]);
  });
});

describe('convTranspose2d shape rules', () => {
  it('weight channels, groups and rank', () => {
    inTrace((g) => {
      const x = input(g, 'x', [1, 4, 3, 3]);
      expectRejects(() => convTranspose2d(x, input(g, 'w3', [3, 1, 3, 3])), 'E_SHAPE',
        /^convTranspose2d: weight \[3, 1, 3, 3\] expects 3 input channels, input f32\[1, 4, 3, 3\] has 4$/,
        /^a transposed-conv weight is \[in, out \/ groups, kH, kW\]$/);
      expectRejects(() => convTranspose2d(input(g, 'x3', [1, 3, 3, 3]), input(g, 'w', [3, 1, 3, 3]), { groups: 2 }),
        'E_SHAPE',
        /^convTranspose2d: input channels 3 are not divisible by groups 2$/, /divides both channel counts/);
      expectRejects(() => convTranspose2d(x, input(g, 'wi', [4, 1, 3, 3], 'i64')), 'E_DTYPE',
        /^convTranspose2d: weight has dtype i64, expected f32$/, /cast/);
      expectRejects(() => convTranspose2d(input(g, 'xr', [4, 3, 3]), input(g, 'w4', [4, 1, 3, 3])), 'E_SHAPE',
        /^convTranspose2d: input f32\[4, 3, 3\] is not rank 4$/, NCHW);
      expect(typeOf(convTranspose2d(x, input(g, 'wg',
        [4, 3, 2, 1]), { groups: 2 }))).toEqual({ dtype: 'f32', shape: [1, 6, 4, 3] });
      expect(typeOf(convTranspose2d(input(g, 'xb', ['b', 4, 3, 3]), input(g, 'wb',
        [4, 2, 1, 1])))).toEqual({ dtype: 'f32', shape: ['b', 2, 3, 3] });
    });
  });

  it('output padding must be non-negative and below the stride or the dilation, per axis', () => {
    const ok: [number, number, number, number, number, number][] = [
      // [opH, opW, strideH, strideW, dilationH, dilationW]
      [1, 0, 2, 1, 1, 1], [0, 1, 1, 2, 1, 1], [1, 0, 1, 1, 2, 1], [0, 1, 1, 1, 1, 2], [1, 1, 2, 1, 1, 2],
        [1, 1, 1, 2, 2, 1], [0, 0, 1, 1, 1, 1],
    ];
    const bad: typeof ok = [
      [-1, 0, 1, 1, 1, 1], [0, -1, 1, 1, 1, 1], [1, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1], [2, 0, 2, 1, 2, 1],
        [0, 2, 1, 2, 1, 2],
      [1, 0, 1, 2, 1, 2], [0, 1, 2, 1, 2, 1], [1, 1, 2, 1, 1, 1], [1, 1, 1, 1, 2, 1], [1, 1, 1, 2, 1, 1],
        [1, 1, 1, 1, 1, 2],
    ];
    inTrace((g) => {
      const x = input(g, 'x', [1, 1, 3, 3]);
      const w = input(g, 'w', [1, 1, 2, 2]);
      const run = ([a, b, sh, sw, dh, dw]: (typeof ok)[number]) =>
        convTranspose2d(x, w, { outputPadding: [a, b], stride: [sh, sw], dilation: [dh, dw] });
      for (const c of ok) {
        const [a, b, sh, sw, dh, dw] = c;
        expect(run(c).shape, String(c)).toEqual([1, 1, 2 * sh + dh + 1 + a, 2 * sw + dw + 1 + b]);
      }
      for (const c of bad) {
        expectRejects(() => run(c), 'E_SHAPE',
          new RegExp(`^convTranspose2d: output padding \\[${c[0]},${c[1]}\\] ${BELOW}$`),
          /^output padding only picks among the input sizes a stride maps to one output size$/);
      }
    });
  });

  it('the output must not be empty: 1x1 is fine, padding that eats it is not', () => {
    inTrace((g) => {
      const one = input(g, 'x', [1, 1, 1, 1]);
      const w = input(g, 'w', [1, 1, 1, 1]);
      expect(typeOf(convTranspose2d(one, w))).toEqual({ dtype: 'f32', shape: [1, 1, 1, 1] });
      const w3 = input(g, 'w3', [1, 1, 3, 3]);
      expectRejects(() => convTranspose2d(one, w3, { padding: [2, 0] }), 'E_SHAPE',
        /^convTranspose2d: kernel 3x3 \(dilation 1,1, padding 2,0,2,0\) does not fit input f32\[1, 1, 1, 1\]$/,
        FIT_HINT);
      expectRejects(() => convTranspose2d(one, w3, { padding: [0, 2] }), 'E_SHAPE',
        /padding 0,2,0,2\) does not fit/, FIT_HINT);
      expect(typeOf(convTranspose2d(one, w3, { padding: [1, 0] }))).toEqual({ dtype: 'f32', shape: [1, 1, 1, 3] });
    });
  });

  it('is the adjoint of conv2d in its input (float64 reference)', () => {
    const graph = trace((g) => ({ y: convTranspose2d(g.input('x', 'f32', [1, 1, 2, 2]), g.input('w', 'f32',
      [1, 1, 2, 2]), { stride: 2, outputPadding: [1, 0] }) }));
    const y = runReference(graph, { x: refTensor([1, 2, 3, 4], [1, 1, 2, 2]), w: refTensor([1, 10, 100, 1000],
      [1, 1, 2, 2]) }).y;
    expect(y.shape).toEqual([1, 1, 5, 4]);
    expect([...y.data]).toEqual([1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000, 0, 0, 0, 0]);
  });
});

describe('convGeometry', () => {
  it('a transposed conv without output padding attributes adds none', () => {
    const attrs = { stride: [2, 1], pads: [1, 0, 0, 0], dilation: [1, 2], groups: 2 };
    const g = convGeometry('convTranspose2d', [[1, 4, 3, 3], [4, 1, 2, 2]], attrs);
    expect([g.c, g.h, g.w, g.o, g.oh, g.ow, g.kh, g.kw]).toEqual([2, 5, 5, 4, 3, 3, 2, 2]);
    expect(convGeometry('convTranspose2d', [[1, 4, 3, 3],
      [4, 1, 2, 2]], { ...attrs, outputPadding: [1, 0] }).h).toBe(6);
  });
});

describe('conv2dWeightGrad shape rules', () => {
  function withInputs(fn: (g: Graph) => void): void {
    inTrace(fn);
  }
  it('infers [O, C / groups, kH, kW]', () => {
    withInputs((g) => {
      const x = input(g, 'x', ['b', 4, 5, 5]);
      expect(typeOf(weightGrad(x, input(g, 'dy', ['b', 6, 3, 4]),
        [3, 2], 2))).toEqual({ dtype: 'f32', shape: [6, 2, 3, 2] });
      expect(typeOf(weightGrad(x, input(g, 'dy2', ['b', 1, 2, 2]), [3, 3], 1,
        [2, 2]))).toEqual({ dtype: 'f32', shape: [1, 4, 3, 3] });
    });
  });
  it('rejects groups that do not divide, batches that differ and gradients of the wrong size', () => {
    withInputs((g) => {
      const x = input(g, 'x', [2, 3, 5, 5]);
      const divides = /^use a group count that divides both channel counts$/;
      expectRejects(() => weightGrad(x, input(g, 'dy', [2, 4, 3, 3]), [3, 3], 2), 'E_SHAPE',
        /^conv2dWeightGrad: input channels 3 are not divisible by groups 2$/, divides);
      expectRejects(() => weightGrad(input(g, 'x4', [2, 4, 5, 5]), input(g, 'dy3', [2, 3, 3, 3]), [3, 3], 2), 'E_SHAPE',
        /^conv2dWeightGrad: output channels 3 are not divisible by groups 2$/, divides);
      expectRejects(() => weightGrad(x, input(g, 'dyb', [1, 4, 3, 3]), [3, 3]), 'E_SHAPE',
        /^conv2dWeightGrad: batch of input f32\[2, 3, 5, 5\] and output gradient f32\[1, 4, 3, 3\] differ$/,
          /^pass the conv2d input and the gradient of its output$/);
      const size = /^pass the gradient of the conv2d output$/;
      expectRejects(() => weightGrad(x, input(g, 'dyh', [2, 4, 4, 3]), [3, 3]), 'E_SHAPE',
        /^conv2dWeightGrad: output gradient f32\[2, 4, 4, 3\] does not match a conv2d output of input f32\[2, 3, 5, 5/,
        size);
      expectRejects(() => weightGrad(x, input(g, 'dyw', [2, 4, 3, 2]), [3, 3]), 'E_SHAPE',
        /f32\[2, 4, 3, 2\] does not match a conv2d output of input f32\[2, 3, 5, 5\] \(3x3\)$/, size);
      expectRejects(() => weightGrad(x, input(g, 'dys', [2, 4, 'h', 3]), [3, 3]), 'E_SHAPE',
        /^conv2dWeightGrad: output gradient f32\[2, 4, h, 3\] has symbolic/, /batch dimension/);
      expectRejects(() => weightGrad(input(g, 'xi', [2, 3, 5, 5], 'i64'), input(g, 'dyi', [2, 4, 3, 3]), [3, 3]),
        'E_DTYPE', /input has dtype i64/, /cast/);
    });
  });
});
