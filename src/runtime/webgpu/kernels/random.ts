/**
 * WGSL kernel of `randomUniformLike`: the counter-based generator of core/ops/random.ts (`hashUniform`), the same
 * one the ONNX lowering and the reference interpreter run. Element i with seed s is a fixed function of (i, s):
 * no state, no sequence, any element computable alone, so every invocation computes its own and the K steps of a
 * call need no generator state on the GPU. The hash works modulo the Mersenne prime M = 2^31 - 1 with products
 * below 2^62; WGSL has no 64-bit integers, so a product is formed from 16-bit halves into two u32 words and
 * reduced with 2^31 = 1 (mod M). The integer hash is exact, hence the noise equals the CPU's up to the last
 * float32 rounding of h / M (equal in distribution by construction; masks differ only where a value lands within
 * one rounding of the dropout threshold). A negative seed (the reference rejects it) is read as its u32 bits.
 */
import { HASH_MOD, hashRounds } from '../../../core/ops/random.ts';
import { type GpuKernel, perElement } from './wgsl.ts';

const M = `${HASH_MOD}u`;

/** Arithmetic modulo M on u32 values below M. */
const MOD_HELPERS = `
fn sy_reduce(x: u32) -> u32 { var r = (x >> 31u) + (x & ${M}); if (r >= ${M}) { r = r - ${M}; } return r; }
fn sy_addmod(a: u32, b: u32) -> u32 { return sy_reduce(a + b); }
fn sy_mulmod(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let mid = a0 * b1 + a1 * b0;
  let lo = a0 * b0 + (mid << 16u);
  let hi = a1 * b1 + (mid >> 16u) + select(0u, 1u, lo < a0 * b0);
  // a * b = hi * 2^32 + lo < 2^62, and 2^31 = 1 (mod M): a * b = (a * b >> 31) + (a * b & M) (mod M).
  return sy_addmod((hi << 1u) | (lo >> 31u), lo & ${M});
}`;

/** WGSL statements computing `h` = the hash of element `i` (mirrors `hashSeeds` and `hashRounds`). */
function hashBody(seed: string): string {
  const lines = [
    `  let s0 = sy_reduce(bitcast<u32>(${seed}));`,
    '  let s1 = sy_addmod(sy_addmod(sy_mulmod(s0, s0), sy_mulmod(69621u, s0)), 1u);',
    '  let s2 = sy_addmod(sy_mulmod(s1, s1), 48271u);',
    '  var h = sy_reduce(i);',
  ];
  for (const r of hashRounds) {
    const factor = r.mul === 'self' ? 'h' : `${r.mul}u`;
    const add = typeof r.add === 'bigint' ? `${r.add}u` : r.add;
    lines.push(`  h = sy_addmod(sy_mulmod(h, ${factor}), ${add});`);
  }
  return lines.join('\n');
}

/** The kernel of `randomUniformLike`. */
export const randomGpuKernels: Record<string, GpuKernel> = {
  randomUniformLike: ([x, seed]) => {
    // As the ONNX lowering: h cast to float32, then divided by float32(M) = 2^31 (exact).
    const body = `${hashBody('in1[0]')}\n  out0[i] = f32(h) / 2147483648.0;`;
    return perElement([x, seed], 'f32', [...x.shape], body, MOD_HELPERS);
  },
};
