/**
 * GPU buffers of one executable: a pool keyed by size (kept across calls, so a graph run again at the same
 * shapes allocates nothing), and the host <-> GPU conversions (i64 narrowed to i32 with a range check, bool as
 * i32 0/1).
 */
import type { DType } from '../../core/dtype.ts';
import { SwitchyardError } from '../../util/errors.ts';
import type { HostTensor } from '../executor.ts';

/** A buffer holding one or more values (aliases share it); back to the pool when `refs` reaches 0. */
export interface GpuBuf {
  buffer: GPUBuffer;
  bytes: number;
  refs: number;
  /** Constants and buffers the caller keeps: never returned to the pool during a run. */
  pinned: boolean;
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Byte size of a buffer for `n` elements: 4 bytes each, at least 4, rounded to 16 for reuse. */
export function bufferBytes(n: number): number {
  return Math.max(16, Math.ceil((n * 4) / 16) * 16);
}

/** A size-keyed pool of storage buffers. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** A buffer for `n` four-byte elements (one reference), reused when one of that size is free. */
  acquire(n: number): GpuBuf {
    const bytes = bufferBytes(n);
    let buffer = this.free.get(bytes)?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size: bytes, usage: STORAGE() });
      this.all.push(buffer);
    }
    return { buffer, bytes, refs: 1, pinned: false };
  }

  /** Drops one reference; at zero (and not pinned) the buffer is free for the next acquire. */
  release(b: GpuBuf): void {
    if (b.pinned || --b.refs > 0) return;
    const list = this.free.get(b.bytes) ?? [];
    list.push(b.buffer);
    this.free.set(b.bytes, list);
  }

  /** Destroys every buffer the pool made. */
  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.length = 0;
    this.free.clear();
  }
}

/** Host data as the 32-bit words the kernels read (i64 -> i32 with a range check, bool -> i32). */
export function toDeviceWords(data: HostTensor['data'], dtype: DType, name: string): Float32Array | Int32Array {
  if (dtype === 'f32') return data as Float32Array;
  if (data instanceof BigInt64Array) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new SwitchyardError('E_WEBGPU_RANGE', `${name}: the i64 value ${v} does not fit in 32 bits`,
          'WGSL has no 64-bit integers: WebGPU runs need indices and labels in [-2^31, 2^31)');
      }
      out[i] = Number(v);
    }
    return out;
  }
  return Int32Array.from(data as ArrayLike<number>);
}

/** Words read back from the GPU as host data of `dtype`. */
export function fromDeviceWords(words: ArrayBuffer, n: number, dtype: DType): HostTensor['data'] {
  if (dtype === 'f32') return new Float32Array(words, 0, n).slice();
  const ints = new Int32Array(words, 0, n);
  return dtype === 'i64' ? BigInt64Array.from(ints, (v) => BigInt(v)) : Uint8Array.from(ints, (v) => (v ? 1 : 0));
}
