import { expect } from 'vitest';
import type { Module } from '../../src/nn/module.ts';
import type { HostTensor } from '../../src/runtime/session.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

/** `n` deterministic values uniform in [-scale, scale). */
export function randArray(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** An f32 host tensor. */
export function f32(shape: number[], data: ArrayLike<number>): HostTensor {
  expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
  return { dtype: 'f32', shape, data: Float32Array.from(data) };
}

/** Asserts |a - e| <= atol + rtol * |e| element-wise, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-7, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) throw new Error(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
}

/** Copies of every parameter of a model by name. */
export function snapshot(model: Module): Map<string, Float32Array> {
  return new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data)]));
}

/** Byte-level equality of two float arrays (distinguishes -0 and NaN payloads). */
export function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Runs `fn` and asserts it throws a SwitchyardError with `code` whose message matches `re`. */
export async function expectSwitchyardError(fn: () => unknown, code: string, re?: RegExp): Promise<SwitchyardError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(SwitchyardError);
  const e = caught as SwitchyardError;
  expect(e.code, e.message).toBe(code);
  if (re) expect(e.message).toMatch(re);
  return e;
}

/**
 * Float64 forward/backward of `y = x W^T + b` with `loss = mean((y - t)^2)` over all N*out elements.
 * W is [out, in] (PyTorch layout); returns the loss and the analytic gradients.
 */
export function linearMseGrad(W: ArrayLike<number>, b: ArrayLike<number>, x: ArrayLike<number>, t: ArrayLike<number>, n: number, inF: number, outF: number): { loss: number; gW: Float64Array; gb: Float64Array } {
  const gW = new Float64Array(outF * inF);
  const gb = new Float64Array(outF);
  let loss = 0;
  const denom = n * outF;
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outF; o++) {
      let y = b[o];
      for (let i = 0; i < inF; i++) y += x[r * inF + i] * W[o * inF + i];
      const d = y - t[r * outF + o];
      loss += (d * d) / denom;
      const dy = (2 * d) / denom;
      gb[o] += dy;
      for (let i = 0; i < inF; i++) gW[o * inF + i] += dy * x[r * inF + i];
    }
  }
  return { loss, gW, gb };
}

/** The micro-batch `s` of a stacked [k, B, ...] array as a view. */
export function slice(stacked: Float32Array, s: number, per: number): Float32Array {
  return stacked.subarray(s * per, (s + 1) * per);
}
