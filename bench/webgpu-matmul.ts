/**
 * GFLOP/s of each WebGPU matmul kernel on the local adapter: every kernel dispatched `reps` times in one
 * submit on square fp32 products (and a matrix-vector product for the split-K kernel). On lavapipe this is a
 * sanity check of the relative cost of kernels, not a speed claim.
 *
 * Usage: node bin/run-ts.js bench/webgpu-matmul.ts [size=256] [reps=4]
 */
import { acquireDevice } from '../src/runtime/webgpu/device.ts';
import { type MatmulKernel, matmulPlan } from '../src/runtime/webgpu/kernels/matmul.ts';
import { WORKGROUP } from '../src/runtime/webgpu/kernels/wgsl.ts';

const size = Number(process.argv[2] ?? 256);
const reps = Number(process.argv[3] ?? 4);
const gpu = await acquireDevice();
const { device } = gpu;
console.log(`adapter: ${gpu.adapter.description}; features: ${gpu.adapter.features.join(', ')}`);

async function time(m: number, k: number, n: number, kernel: MatmulKernel, subgroups: boolean): Promise<number> {
  const features = subgroups ? gpu.adapter.features : gpu.adapter.features.filter((f) => f !== 'subgroups');
  const plan = matmulPlan([{ dtype: 'f32', shape: [m, k] }, { dtype: 'f32', shape: [k, n] }],
    { where: 'bench', features }, undefined, undefined, kernel);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const bufs = [m * k, k * n, m * n].map((len) => device.createBuffer({ size: len * 4, usage }));
  device.queue.writeBuffer(bufs[0], 0, new Float32Array(m * k).fill(0.5));
  device.queue.writeBuffer(bufs[1], 0, new Float32Array(k * n).fill(0.25));
  const module = device.createShaderModule({ code: plan.wgsl });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const entries = bufs.map((buffer, binding) => ({ binding, resource: { buffer } }));
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const grid = Array.isArray(plan.workgroups) ? plan.workgroups
    : [plan.workgroups ?? Math.ceil(plan.invocations / WORKGROUP), 1, 1] as const;
  const run = async (count: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    for (let r = 0; r < count; r++) pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(1); // compile and warm up
  const t0 = performance.now();
  await run(reps);
  const seconds = (performance.now() - t0) / 1000;
  bufs.forEach((b) => b.destroy());
  return (2 * m * k * n * reps) / seconds / 1e9;
}

const rows: [string, number, number, number, MatmulKernel, boolean][] = [
  [`${size}^3`, size, size, size, 'simple', false],
  [`${size}^3`, size, size, size, 'tiled32', false],
  [`${size}^3`, size, size, size, 'tiled64', false],
  [`1x${4 * size} @ ${4 * size}x${size}`, 1, 4 * size, size, 'simple', false],
  [`1x${4 * size} @ ${4 * size}x${size}`, 1, 4 * size, size, 'dot', false],
  [`1x${4 * size} @ ${4 * size}x${size}`, 1, 4 * size, size, 'dot', true],
];
for (const [shape, m, k, n, kernel, subgroups] of rows) {
  const gflops = await time(m, k, n, kernel, subgroups);
  const name = kernel + (subgroups ? '+subgroups' : '');
  console.log(`${shape.padEnd(22)} ${name.padEnd(18)} ${gflops.toFixed(2)} GFLOP/s`);
}
device.destroy();
