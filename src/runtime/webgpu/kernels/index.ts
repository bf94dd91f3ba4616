/** The WebGPU kernel table: op name -> WGSL kernel generator. `const` is uploaded by the executor itself. */
import { convGpuKernels } from './conv.ts';
import { elementwiseGpuKernels } from './elementwise.ts';
import { indexingGpuKernels } from './indexing.ts';
import { layoutGpuKernels } from './layout.ts';
import { matmulGpuKernel } from './matmul.ts';
import { randomGpuKernels } from './random.ts';
import { reduceGpuKernels } from './reduce.ts';
import { rowGpuKernels } from './rows.ts';
import type { GpuKernel } from './wgsl.ts';

/** Every op with a WebGPU kernel, except `const` (see {@link webgpuOps}). */
export const GPU_KERNELS: Record<string, GpuKernel> = {
  ...elementwiseGpuKernels,
  ...reduceGpuKernels,
  ...layoutGpuKernels,
  ...indexingGpuKernels,
  matmul: matmulGpuKernel,
  ...rowGpuKernels,
  ...randomGpuKernels,
  ...convGpuKernels,
};

/**
 * Names of the ops the WebGPU executor runs (for coverage against `opNames()`).
 *
 * @example
 * const missing = opNames().filter((op) => !webgpuOps().includes(op));
 */
export function webgpuOps(): string[] {
  // `loop` is encoded by the executor itself (loop.ts): its body's nodes are dispatched once per iteration.
  return ['const', 'loop', ...Object.keys(GPU_KERNELS)];
}
