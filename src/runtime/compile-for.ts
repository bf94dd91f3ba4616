/**
 * Choosing the runtime of a traced graph: ONNX Runtime on the CPU or the WebGPU executor. Both are loaded
 * lazily, so a WebGPU-only process (the GPU benchmark, a browser page) never loads onnxruntime-node, and a CPU
 * process never loads Dawn.
 */
import type { Graph } from '../core/graph.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { Executable } from './executor.ts';
import type { SpinPolicy } from './session.ts';
import type { AdapterSummary } from './webgpu/adapter.ts';
import { peekSharedDevice, sharedWebGpuDevice, takeSharedDevice } from './webgpu/shared.ts';

/** Where a graph runs: `cpu` (ONNX Runtime), `webgpu`, or `auto` (WebGPU on a hardware adapter, else the CPU). */
export type DeviceChoice = 'cpu' | 'webgpu' | 'auto';

/** The device choices, for flag specs and messages. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['cpu', 'webgpu', 'auto'];

/** Options of {@link compileFor}. */
export interface CompileForOptions {
  /** Where to run (default `cpu`). */
  device?: DeviceChoice;
  /** ONNX Runtime intra-op threads (CPU only; default: all cores). */
  threads?: number;
  /** When ORT worker threads spin (CPU only). */
  spin?: SpinPolicy;
  /** Graph name in the ONNX model (CPU only). */
  name?: string;
}

/**
 * Resolves `auto` to `webgpu` when an adapter exists that is not a software rasterizer (lavapipe, SwiftShader,
 * WARP), else `cpu`; `cpu` and `webgpu` are returned as they are (a missing adapter for `webgpu` is reported when
 * the graph is compiled).
 *
 * @param choice the user's choice
 * @example
 * await resolveDevice('auto'); // 'webgpu' on a machine with a GPU, 'cpu' on lavapipe or without Dawn
 */
export async function resolveDevice(choice: DeviceChoice = 'cpu'): Promise<'cpu' | 'webgpu'> {
  if (choice !== 'auto') return choice;
  try {
    const { adapter } = await sharedWebGpuDevice();
    return adapter.software ? 'cpu' : 'webgpu';
  } catch (e) {
    if (e instanceof SwitchyardError && (e.code === 'E_NO_WEBGPU' || e.code === 'E_MISSING_PACKAGE')) return 'cpu';
    throw e;
  }
}

/**
 * The adapter a `webgpu` graph runs on, for progress lines and run records (undefined before any WebGPU use).
 *
 * @example
 * const a = await webGpuAdapter(); // { description: 'llvmpipe: Mesa 25.0.7 ...', software: true, ... }
 */
export async function webGpuAdapter(): Promise<AdapterSummary | undefined> {
  const pending = peekSharedDevice();
  return pending ? (await pending).adapter : undefined;
}

/**
 * Makes `graph` runnable on the chosen device: ONNX Runtime's {@link CompiledGraph} on the CPU, or
 * {@link WebGpuGraph} on WebGPU. Callers use the returned {@link Executable} alike.
 *
 * @param graph a traced graph
 * @param opts the device and the runtime's options
 * @example
 * const exe = await compileFor(trace((g) => ({ y: relu(g.input('x', 'f32', [2])) })), { device: 'webgpu' });
 * (await exe.run({ x: { dtype: 'f32', shape: [2], data: Float32Array.of(-1, 2) } })).y.data; // [0, 2]
 */
export async function compileFor(graph: Graph, opts: CompileForOptions = {}): Promise<Executable> {
  const device = await resolveDevice(opts.device);
  if (device === 'webgpu') {
    const { WebGpuGraph } = await import('./webgpu/graph.ts');
    return WebGpuGraph.create(graph, { device: await sharedWebGpuDevice() });
  }
  const { CompiledGraph } = await import('./session.ts');
  return CompiledGraph.create(graph, { threads: opts.threads, spin: opts.spin, name: opts.name });
}

/**
 * Destroys the process's shared WebGPU device, if one was acquired (Dawn crashes at process exit while a device
 * is alive): call it when the process's WebGPU work is done. A later WebGPU graph acquires a new one.
 *
 * @example
 * try { await train(); } finally { await releaseSharedWebGpuDevice(); }
 */
export async function releaseSharedWebGpuDevice(): Promise<void> {
  const pending = takeSharedDevice();
  if (!pending) return;
  try {
    (await pending).device.destroy();
  } catch {
    // It never came up: nothing to destroy.
  }
}
