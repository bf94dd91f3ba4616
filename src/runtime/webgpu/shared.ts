/**
 * The process's one shared WebGPU device (a module of its own: its types name Dawn's GPUDevice, so the public
 * compile API in compile-for.ts, whose declarations a consumer type-checks without `webgpu`, never exports them).
 */
import type { WebGpuDevice } from './device.ts';

let shared: Promise<WebGpuDevice> | undefined;

/**
 * One WebGPU device per process, acquired at first use and shared by every graph compiled for `webgpu` (graphs of
 * one training — the step, eval, the decode step — then share one device, and parameters stay on it).
 *
 * @example
 * const { adapter } = await sharedWebGpuDevice();
 * console.log(adapter.description);
 */
export function sharedWebGpuDevice(): Promise<WebGpuDevice> {
  if (!shared) {
    shared = import('./device.ts').then((m) => m.acquireDevice());
    shared.catch(() => (shared = undefined));
  }
  return shared;
}

/**
 * The shared device if one was asked for, without acquiring one.
 *
 * @example
 * const pending = peekSharedDevice(); // undefined before any WebGPU use
 */
export function peekSharedDevice(): Promise<WebGpuDevice> | undefined {
  return shared;
}

/**
 * Hands over the shared device (to be destroyed) and forgets it: the next {@link sharedWebGpuDevice} acquires anew.
 *
 * @example
 * const pending = takeSharedDevice(); if (pending) (await pending).device.destroy();
 */
export function takeSharedDevice(): Promise<WebGpuDevice> | undefined {
  const pending = shared;
  shared = undefined;
  return pending;
}
