/**
 * What an adapter says about itself, as plain data: kept apart from device.ts so that the public types
 * (run records, progress lines) never name Dawn's GPU* types, which a consumer without `webgpu` does not have.
 */

/** What the adapter says about itself (shown in progress lines and reports). */
export interface AdapterSummary {
  /** e.g. `nvidia`, `mesa` */
  vendor: string;
  /** e.g. `llvmpipe-llvm-15-0-6-256-bits-` */
  device: string;
  /** e.g. `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)` */
  description: string;
  /** e.g. `software` for a software rasterizer */
  architecture: string;
  /** True for a CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP): correct, but no speed. */
  software: boolean;
  /** The optional features the device was created with (`shader-f16`, `subgroups`, ...). */
  features: string[];
}
