/**
 * Helpers of the `--device` tests: closeness of fp32 results computed in another order, the name test of ONNX
 * Runtime's packages in an import graph, and whether the WebGPU runtime can dispatch MoE yet.
 */
import { expect } from 'vitest';
import { webgpuOps } from '../../src/runtime/webgpu/kernels/index.ts';

/** True for the packages of ONNX Runtime (as {@link loadedBy} names them). */
export const isOrt = (name: string): boolean => name.startsWith('onnxruntime');

/** `got` within `rtol` of `want` (relative above 1, absolute below). */
export function expectClose(got: number, want: number, what: string, rtol: number): void {
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(want)));
}

/** MoE dispatch needs the run-time row-count kernels (splitRows/concatRows) of the WebGPU runtime. */
export const moeOnWebGpu = ['splitRows', 'concatRows'].every((op) => webgpuOps().includes(op));

/** The title suffix of an MoE test that the runtime cannot run yet. */
export const moeSkipped = moeOnWebGpu ? '' : ' — SKIPPED, no splitRows/concatRows kernels yet';

/**
 * A tiny two-feature, two-class table (`x1,x2,label`) of `n` rows; `freq` varies the second feature's period.
 *
 * @example
 * writeFileSync('t.csv', tinyTable(48, 2));
 */
export function tinyTable(n: number, freq: number): string {
  const row = (i: number) => `${Math.sin(i).toFixed(2)},${Math.cos(freq * i).toFixed(2)},${'ab'[i % 3 && 1]}`;
  const rows = Array.from({ length: n }, (_, i) => row(i));
  return ['x1,x2,label', ...rows].join('\n') + '\n';
}
