/** Every op of the registry has a WebGPU kernel: fails naming each op that has none (needs no GPU). */
import { describe, expect, it } from 'vitest';
import { opNames } from '../../src/core/index.ts';
import { webgpuOps } from '../../src/runtime/webgpu/kernels/index.ts';
import { GPU_NOT_YET } from './helpers.ts';

describe('WebGPU op coverage', () => {
  it('every op of opNames() has a WebGPU kernel (except the explicit allow-list)', () => {
    const have = new Set(webgpuOps());
    const missing = opNames().filter((op) => !have.has(op)).sort();
    expect(missing, 'ops of opNames() without a WebGPU kernel').toEqual(GPU_NOT_YET);
  });

  it('the WebGPU kernel table has no op the registry does not know', () => {
    const known = new Set(opNames());
    expect(webgpuOps().filter((op) => !known.has(op))).toEqual([]);
  });
});
