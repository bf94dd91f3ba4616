/**
 * Getting a `GPUDevice`: from the page's `navigator.gpu` in a browser, from Dawn's Node binding (the optional
 * `webgpu` package) under Node. Nothing here imports onnxruntime-node or a Node built-in, so the WebGPU runtime
 * loads in a browser page as it is.
 */
// Type-only (erased): the WebGPU DOM types that Dawn's binding implements.
import type {} from 'webgpu';
import { SwitchyardError } from '../../util/errors.ts';
import { importOptional } from '../../util/optional.ts';
import type { AdapterSummary } from './adapter.ts';

export type { AdapterSummary } from './adapter.ts';

/** A device and its adapter's summary. */
export interface WebGpuDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
}

/** Features used when the adapter has them. */
const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

const NO_ADAPTER_HINT =
  'install a GPU driver with Vulkan/Metal/D3D12 support; without a GPU, Mesa lavapipe works for tests ' +
  '(Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1)';

/**
 * Dawn's instance, kept for the life of the process: when it is garbage-collected, devices made from it run on
 * freed memory (crashes in Dawn's threads, at random).
 */
let dawnInstance: GPU | undefined;

/** The `GPU` entry point: the page's `navigator.gpu`, else Dawn's Node binding from the `webgpu` package. */
async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawnInstance) return dawnInstance;
  const dawn = await importOptional<{ create(options: string[]): GPU; globals: object }>('webgpu');
  // The binding's classes (GPUBufferUsage, GPUMapMode, ...) are what WebGPU code names as globals.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  dawnInstance = dawn.create([]);
  return dawnInstance;
}

function isSoftware(info: GPUAdapterInfo): boolean {
  const text = `${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|warp|basic render/.test(text);
}

/**
 * Acquires a WebGPU device with the adapter's highest limits and the optional features it has among
 * `shader-f16`, `subgroups` and `timestamp-query`. Throws `E_NO_WEBGPU` (with a hint) when no adapter exists,
 * and `E_MISSING_PACKAGE` under Node when the `webgpu` package is not installed.
 *
 * @example
 * const { device, adapter } = await acquireDevice();
 * console.log(adapter.description); // "llvmpipe: Mesa 25.0.7 ..." on lavapipe
 */
export async function acquireDevice(): Promise<WebGpuDevice> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new SwitchyardError('E_NO_WEBGPU', 'no WebGPU adapter was found', NO_ADAPTER_HINT);
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    },
  });
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info.vendor,
    device: info.device,
    description: info.description,
    architecture: info.architecture,
    software: isSoftware(info),
    features,
  };
  return { device, adapter: summary };
}
