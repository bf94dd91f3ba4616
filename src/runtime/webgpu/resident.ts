/**
 * What stays on the GPU between runs: {@link GpuTensor} (a pooled buffer that a run kept or the caller
 * uploaded, fed to later runs as it is), the read-back of several buffers through one staging buffer (one map
 * per call), and the on-device finiteness check whose flags come back with the fetched outputs.
 */
import type { DType } from '../../core/dtype.ts';
import type { DeviceTensor, HostTensor } from '../executor.ts';
import { numel } from '../reference/tensor.ts';
import { type BufferPool, fromDeviceWords, type GpuBuf } from './buffers.ts';
import { u } from './kernels/wgsl.ts';

/** Buffers copied into one staging buffer by the encoder of a run, to be read after its submit. */
export interface Staged {
  staging: GPUBuffer | null;
  offsets: number[];
  sizes: number[];
}

/**
 * Encodes copies of `bufs` into one mappable buffer (their byte sizes are multiples of 16, so every offset is
 * aligned); read them with {@link readStaged} after the submit.
 *
 * @example
 * const staged = stageCopies(device, encoder, [loss.buf]); device.queue.submit([encoder.finish()]);
 * const [words] = await readStaged(staged);
 */
export function stageCopies(device: GPUDevice, encoder: GPUCommandEncoder, bufs: GpuBuf[]): Staged {
  const offsets: number[] = [];
  let total = 0;
  for (const b of bufs) {
    offsets.push(total);
    total += b.bytes;
  }
  if (total === 0) return { staging: null, offsets, sizes: [] };
  const staging = device.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  bufs.forEach((b, k) => encoder.copyBufferToBuffer(b.buffer, 0, staging, offsets[k], b.bytes));
  return { staging, offsets, sizes: bufs.map((b) => b.bytes) };
}

/**
 * Maps the staging buffer once and returns a copy of each staged buffer's bytes.
 *
 * @example
 * const [losses, flags] = await readStaged(staged);
 */
export async function readStaged(staged: Staged): Promise<ArrayBuffer[]> {
  if (!staged.staging) return [];
  await staged.staging.mapAsync(GPUMapMode.READ);
  const all = staged.staging.getMappedRange();
  const out = staged.offsets.map((o, k) => all.slice(o, o + staged.sizes[k]));
  staged.staging.destroy();
  return out;
}

/**
 * WGSL setting word `slot` of the flags (bound as atomics) when any of the `n` f32 values of `in0` is NaN or
 * infinite. The test is on the bits (exponent all ones): WGSL lets compilers assume floats are finite, so
 * `x != x` or `x - x` could be folded away.
 *
 * @example
 * exe.dispatch(pass, finiteCheck(param.numel, 0), [param.buf], [flags], param.numel);
 */
export function finiteCheck(n: number, slot: number): string {
  return `@group(0) @binding(0) var<storage, read> in0: array<u32>;
@group(0) @binding(1) var<storage, read_write> out0: array<atomic<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * 64u;
  if (i >= ${u(n)}) { return; }
  if ((in0[i] & 0x7f800000u) == 0x7f800000u) { atomicOr(&out0[${u(slot)}], 1u); }
}
`;
}

/** A tensor in a pooled GPU buffer of one executable, kept between runs. */
export class GpuTensor implements DeviceTensor {
  private released = false;

  constructor(
    readonly dtype: DType,
    readonly shape: number[],
    /** The buffer (this tensor holds one reference to it). */
    readonly buf: GpuBuf,
    /** The pool the buffer goes back to. */
    private readonly pool: BufferPool,
    /** The device the buffer belongs to. */
    readonly device: GPUDevice,
  ) {}

  /** Copies the values to the host (one staging buffer, one map). */
  async read(): Promise<HostTensor> {
    const encoder = this.device.createCommandEncoder();
    const staged = stageCopies(this.device, encoder, [this.buf]);
    this.device.queue.submit([encoder.finish()]);
    const [words] = await readStaged(staged);
    const n = numel(this.shape);
    const data = fromDeviceWords(words ?? new ArrayBuffer(0), n, this.dtype);
    return { dtype: this.dtype, shape: [...this.shape], data };
  }

  /** Returns the buffer to its pool (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.release(this.buf);
  }
}
