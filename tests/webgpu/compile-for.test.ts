/**
 * The device option of the compile/step API: a Forward pass compiled for `webgpu` gives the CPU's (ONNX Runtime)
 * answers on the same weights, `auto` never picks a software adapter, and the shared device is released.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Act, Linear, type Module, Sequential } from '../../src/nn/index.ts';
import { compileFor, releaseSharedWebGpuDevice, resolveDevice } from '../../src/runtime/compile-for.ts';
import { sharedWebGpuDevice } from '../../src/runtime/webgpu/shared.ts';
import { CompiledGraph } from '../../src/runtime/session.ts';
import { Forward } from '../../src/train/forward.ts';
import { relu, softmax, type Tensor, trace } from '../../src/core/index.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

describe.skipIf(!gpu)(title('compileFor and the device option'), () => {
  it('runs a Forward pass on WebGPU with the CPU answers', async () => {
    const model = new Sequential(new Linear(4, 8), new Act('relu'), new Linear(8, 3)).init(7);
    const spec = { x: { dtype: 'f32' as const, shape: ['batch', 4] } };
    const fn = (m: Module, b: Record<string, Tensor>) => ({ p: softmax(m.call(b.x)) });
    const x = { dtype: 'f32' as const, shape: [5, 4], data: Float32Array.from({ length: 20 }, (_, i) => Math.sin(i)) };
    const cpu = await Forward.compile(model, fn, spec);
    const web = await Forward.compile(model, fn, spec, { device: 'webgpu' });
    const want = (await cpu.run({ x })).p.data as Float32Array;
    const got = (await web.run({ x })).p.data as Float32Array;
    expect(got.length).toBe(15);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    await Promise.all([cpu.release(), web.release()]);
  });

  it('picks ONNX Runtime for cpu, and auto never picks a software adapter', async () => {
    const graph = trace((g) => ({ y: relu(g.input('x', 'f32', [2])) }));
    const exe = await compileFor(graph, { device: 'cpu' });
    expect(exe).toBeInstanceOf(CompiledGraph);
    await exe.release();
    const { adapter } = await sharedWebGpuDevice();
    expect(await resolveDevice('auto')).toBe(adapter.software ? 'cpu' : 'webgpu');
    expect(await resolveDevice('webgpu')).toBe('webgpu');
  });
});
