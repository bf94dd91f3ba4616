import { afterAll, describe, expect, it } from 'vitest';
import { currentGraph, type Tensor } from '../../src/core/graph.ts';
import { constant } from '../../src/core/ops/index.ts';
import { CausalSelfAttention } from '../../src/nn/attention.ts';
import { bind } from '../../src/nn/module.ts';
import { Forward } from '../../src/train/forward.ts';
import { gradCheck } from '../core/gradcheck.ts';
import { expectNear, hostF32, hostI64, rand, ref, refRun, timeSlice } from './lm-helpers.ts';

const C = 8;
const H = 2;
const D = C / H;
const L = 8; // maxLen
const B = 2;
const T = 5;

const iota = (n: number, from = 0) => BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i));
const make = (rotary: boolean, seed = 3) => new CausalSelfAttention(C, { heads: H, maxLen: L, rotary }).named().init(seed);

const forwards: Forward[] = [];
afterAll(async () => {
  for (const f of forwards) await f.release();
});

/**
 * Attention written the obvious way, in float64: per batch row, per head, per query position, a softmax over
 * the keys at positions <= the query's, rotary (GPT-NeoX half rotation) applied to q and k at their positions.
 */
function attentionLoop(attn: CausalSelfAttention, x: ArrayLike<number>, b: number, t: number, positions: number[]): Float64Array {
  const W = attn.qkv.weight.data;
  const bq = attn.qkv.bias!.data;
  const P = attn.proj.weight.data;
  const bp = attn.proj.bias!.data;
  const rotary = attn.opts.rotary ?? false;
  const rot = (v: number[], p: number): number[] => {
    if (!rotary) return v;
    const half = D / 2;
    const out = v.slice();
    for (let i = 0; i < half; i++) {
      const a = p / Math.pow(10000, (2 * i) / D);
      out[i] = v[i] * Math.cos(a) - v[half + i] * Math.sin(a);
      out[half + i] = v[i] * Math.sin(a) + v[half + i] * Math.cos(a);
    }
    return out;
  };
  const y = new Float64Array(b * t * C);
  for (let bi = 0; bi < b; bi++) {
    // qkv[s][h][pos] = vector of D (s: 0 q, 1 k, 2 v)
    const proj = (s: number, h: number, pos: number): number[] =>
      Array.from({ length: D }, (_, d) => {
        const o = s * C + h * D + d;
        let acc = bq[o];
        for (let c = 0; c < C; c++) acc += x[(bi * t + pos) * C + c] * W[o * C + c];
        return acc;
      });
    const merged = new Float64Array(t * C);
    for (let h = 0; h < H; h++) {
      const q = Array.from({ length: t }, (_, i) => rot(proj(0, h, i), positions[i]));
      const k = Array.from({ length: t }, (_, i) => rot(proj(1, h, i), positions[i]));
      const v = Array.from({ length: t }, (_, i) => proj(2, h, i));
      for (let i = 0; i < t; i++) {
        const s = Array.from({ length: i + 1 }, (_, j) => q[i].reduce((a, qd, d) => a + qd * k[j][d], 0) / Math.sqrt(D));
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) merged[i * C + h * D + d] = e.reduce((a, w, j) => a + (w / z) * v[j][d], 0);
      }
    }
    for (let i = 0; i < t; i++) {
      for (let o = 0; o < C; o++) {
        let acc = bp[o];
        for (let c = 0; c < C; c++) acc += merged[i * C + c] * P[o * C + c];
        y[(bi * t + i) * C + o] = acc;
      }
    }
  }
  return y;
}

/** forward in the reference interpreter. */
function refForward(attn: CausalSelfAttention, x: ArrayLike<number>, t = T, positions = iota(t)): Float64Array {
  return refRun(attn, (g) => ({ y: attn.call(g.input('x', 'f32', [B, t, C]), constant(positions, [t])) }), { x: ref([B, t, C], x) }).y.data;
}

/** decode step by step in the reference interpreter, starting from caches full of garbage (they must be masked). */
function refDecode(attn: CausalSelfAttention, x: ArrayLike<number>): Float64Array {
  const cacheShape = [B, H, L, D];
  const n = B * H * L * D;
  let k: Float64Array = Float64Array.from(rand(90, n, 5));
  let v: Float64Array = Float64Array.from(rand(91, n, 5));
  const y = new Float64Array(B * T * C);
  for (let t = 0; t < T; t++) {
    const r = refRun(
      attn,
      (g) => {
        const o = attn.decode(g.input('x', 'f32', [B, 1, C]), g.input('pos', 'i64', [1]), g.input('k', 'f32', cacheShape), g.input('v', 'f32', cacheShape));
        return { y: o.y, k: o.k, v: o.v };
      },
      { x: ref([B, 1, C], timeSlice(x, B, T, C, t, t + 1)), pos: ref([1], [t], 'i64'), k: ref(cacheShape, k), v: ref(cacheShape, v) },
    );
    k = r.k.data;
    v = r.v.data;
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) y[(b * T + t) * C + c] = r.y.data[b * C + c];
  }
  return y;
}

describe.each([{ rotary: false }, { rotary: true }])('CausalSelfAttention (rotary: $rotary)', ({ rotary }) => {
  const x = rand(7, B * T * C, 1.5);

  it('equals a per-head, per-position float64 loop implementation', () => {
    const attn = make(rotary);
    const got = refForward(attn, x);
    expectNear(got, attentionLoop(attn, x, B, T, [...iota(T)].map(Number)), 1e-6, 1e-6, 'attention');
    // at the full context length too, and (rotary) at shifted positions: only relative positions matter for q.k
    const x8 = rand(8, B * L * C);
    expectNear(refForward(attn, x8, L), attentionLoop(attn, x8, B, L, [...iota(L)].map(Number)), 1e-6, 1e-6, 'attention at maxLen');
    const shifted = refForward(attn, x, T, iota(T, 2));
    expectNear(shifted, attentionLoop(attn, x, B, T, [2, 3, 4, 5, 6]), 1e-6, 1e-6, 'shifted positions');
    if (rotary) expectNear(shifted, got, 1e-6, 1e-6, 'rotary is relative');
  });

  it('is causal: changing tokens after t leaves the outputs at positions <= t unchanged', () => {
    const attn = make(rotary);
    const base = refForward(attn, x);
    for (let t = 0; t < T - 1; t++) {
      const x2 = Float32Array.from(x);
      const noise = rand(100 + t, B * T * C, 3);
      for (let b = 0; b < B; b++) for (let s = t + 1; s < T; s++) for (let c = 0; c < C; c++) x2[(b * T + s) * C + c] = noise[(b * T + s) * C + c];
      const other = refForward(attn, x2);
      expect(timeSlice(other, B, T, C, 0, t + 1)).toEqual(timeSlice(base, B, T, C, 0, t + 1));
      // and the later positions do see the change
      const later = timeSlice(other, B, T, C, t + 1, T);
      const before = timeSlice(base, B, T, C, t + 1, T);
      expect(later.some((v, i) => Math.abs(v - before[i]) > 1e-3)).toBe(true);
    }
  });

  it('gradients w.r.t. the input and the qkv/proj weights match finite differences', () => {
    const attn = make(rotary, 5);
    const f = (xIn: Tensor, wq: Tensor, bq: Tensor, wp: Tensor, bp: Tensor) => {
      const g = currentGraph();
      bind(g, attn.qkv.weight, wq);
      bind(g, attn.qkv.bias!, bq);
      bind(g, attn.proj.weight, wp);
      bind(g, attn.proj.bias!, bp);
      return attn.call(xIn, constant(iota(4), [4]));
    };
    const spec = (p: { shape: number[]; data: Float32Array }) => ({ shape: p.shape, gen: Array.from(p.data) });
    gradCheck(f, [{ shape: [1, 4, C] }, spec(attn.qkv.weight), spec(attn.qkv.bias!), spec(attn.proj.weight), spec(attn.proj.bias!)], { seed: rotary ? 2 : 1 });
  });

  it('decode with the KV cache reproduces forward at every position (reference interpreter)', () => {
    const attn = make(rotary);
    expectNear(refDecode(attn, x), refForward(attn, x), 1e-9, 1e-9, 'decode');
  });

  it('decode with the KV cache reproduces forward at every position (ORT)', async () => {
    const attn = make(rotary);
    const fwd = await Forward.compile(attn, (m, b) => ({ y: m.call(b.x, b.pos) }), { x: { dtype: 'f32', shape: [B, T, C] }, pos: { dtype: 'i64', shape: [T] } }, { threads: 1 });
    forwards.push(fwd);
    const cacheShape = [B, H, L, D];
    const dec = await Forward.compile(
      attn,
      (m, b) => {
        const o = (m as CausalSelfAttention).decode(b.x, b.pos, b.k, b.v);
        return { y: o.y, newK: o.k, newV: o.v };
      },
      { x: { dtype: 'f32', shape: [B, 1, C] }, pos: { dtype: 'i64', shape: [1] }, k: { dtype: 'f32', shape: cacheShape }, v: { dtype: 'f32', shape: cacheShape } },
      { threads: 1 },
    );
    forwards.push(dec);
    const full = (await fwd.run({ x: hostF32([B, T, C], x), pos: hostI64([T], [0, 1, 2, 3, 4]) })).y.data as Float32Array;
    expectNear(full, refForward(attn, x), 1e-5, 1e-5, 'ORT forward vs reference');
    let k = rand(90, B * H * L * D, 5);
    let v = rand(91, B * H * L * D, 5);
    const stepwise = new Float32Array(B * T * C);
    for (let t = 0; t < T; t++) {
      const r = await dec.run({ x: hostF32([B, 1, C], timeSlice(x, B, T, C, t, t + 1)), pos: hostI64([1], [t]), k: hostF32(cacheShape, k), v: hostF32(cacheShape, v) });
      k = r.newK.data as Float32Array;
      v = r.newV.data as Float32Array;
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) stepwise[(b * T + t) * C + c] = (r.y.data as Float32Array)[b * C + c];
    }
    expectNear(stepwise, full, 1e-5, 1e-5, 'ORT decode vs ORT forward');
  });
});
