/**
 * CausalSelfAttention's settings: bad head counts and sequence lengths (code, message, hint), bias-free
 * projections, `causal: false` seeing later positions, and the rotary tables against GPT-NeoX's inverse
 * frequencies 1 / base^(2i / d).
 */
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/core/ops/index.ts';
import { CausalSelfAttention, rotaryTables } from '../../src/nn/attention.ts';
import { expectCode } from '../expect-error.ts';
import { rand, ref, refRun, timeSlice } from './lm-helpers.ts';

const [B, T, C] = [1, 4, 8];
const forwardOf = (attn: CausalSelfAttention, x: ArrayLike<number>) =>
  refRun(attn, (g) => ({ y: attn.call(g.input('x', 'f32', [B, T, C]), constant(BigInt64Array.of(0n, 1n, 2n, 3n), [T])) }), { x: ref([B, T, C], x) }).y.data;

describe('attention settings', () => {
  it('rejects a width the heads do not divide, an odd rotary head size, a missing position, a too long sequence', () => {
    expectCode(() => new CausalSelfAttention(10, { heads: 3, maxLen: 4 }), 'E_CONFIG', /^model width 10 is not divisible by 3 heads$/, /divides the width/);
    expectCode(() => new CausalSelfAttention(6, { heads: 2, maxLen: 4, rotary: true }), 'E_CONFIG', /^rotary embeddings need an even head size, got 3$/, /width or head count/);
    expect(new CausalSelfAttention(6, { heads: 3, maxLen: 4, rotary: true }).headDim).toBe(2);
    const rotary = new CausalSelfAttention(C, { heads: 2, maxLen: T, rotary: true }).named().init(1);
    expectCode(() => refRun(rotary, (g) => ({ y: rotary.call(g.input('x', 'f32', [B, T, C])) }), { x: ref([B, T, C], rand(1, B * T * C)) }),
      'E_SHAPE', /rotary embeddings need token positions/, /pass positions \(i64 \[T\]\)/);
    const plain = new CausalSelfAttention(C, { heads: 2, maxLen: T - 1 }).named().init(1);
    expectCode(() => forwardOf(plain, rand(1, B * T * C)), 'E_SHAPE', /^attention: sequence length 4 must be static and <= 3$/, /fixed context length/);
  });

  it('has biased projections unless bias: false', () => {
    const biased = new CausalSelfAttention(C, { heads: 2, maxLen: T });
    expect([biased.qkv.bias?.shape, biased.proj.bias?.shape]).toEqual([[3 * C], [C]]);
    const bare = new CausalSelfAttention(C, { heads: 2, maxLen: T, bias: false });
    expect([bare.qkv.bias, bare.proj.bias]).toEqual([undefined, undefined]);
  });

  it('causal: false lets position 0 see the later positions; the default does not', () => {
    const x = rand(3, B * T * C, 1.5);
    const changed = Float32Array.from(x, (v, i) => (i >= 2 * C ? v + 1 : v)); // positions 2 and 3
    for (const causal of [true, false]) {
      const attn = new CausalSelfAttention(C, { heads: 2, maxLen: T, ...(causal ? {} : { causal }) }).named().init(2);
      const [a, b] = [forwardOf(attn, x), forwardOf(attn, changed)];
      const first = (y: ArrayLike<number>) => timeSlice(y, B, T, C, 0, 1);
      const moved = Math.max(...first(a).map((v, i) => Math.abs(v - first(b)[i])));
      if (causal) expect(moved).toBe(0);
      else expect(moved).toBeGreaterThan(1e-3);
    }
  });

  it('rotary tables are cos / sin of p / base^(2i / headDim) (GPT-NeoX inv_freq)', () => {
    const { cos, sin } = rotaryTables(3, 4);
    // half = 2 frequencies: 1 and 1 / 10000^(2/4) = 0.01.
    const want = [0, 1, 2].flatMap((p) => [p, p * 0.01]);
    want.forEach((a, k) => {
      expect(cos[k]).toBeCloseTo(Math.cos(a), 7);
      expect(sin[k]).toBeCloseTo(Math.sin(a), 7);
    });
    const b = rotaryTables(2, 4, 100); // 1 / 100^(1/2) = 0.1
    expect(sin[3]).toBeCloseTo(Math.sin(0.01), 9);
    expect(b.sin[3]).toBeCloseTo(Math.sin(0.1), 7);
  });
});
