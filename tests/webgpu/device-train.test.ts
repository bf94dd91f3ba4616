/**
 * `train --device webgpu`: a run trained on WebGPU is the same run — same files, the device and adapter recorded,
 * the adapter's name in the progress lines, losses within fp32 tolerance of the CPU's — and resumes across devices
 * (CPU, then WebGPU, then CPU again) to the uninterrupted CPU run's result. The process never loads
 * onnxruntime-node. Skipped, visibly, where WebGPU cannot run a training step (no adapter, or a runtime without
 * the step's `loop`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/nn/functional.ts';
import { Linear } from '../../src/nn/index.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import { type LossFn, TrainStep } from '../../src/train/step.ts';
import { cli, expectOk, loadedBy, tmp } from '../cli/helpers.ts';
import { expectClose, isOrt, moeOnWebGpu, moeSkipped, tinyTable } from './device-helpers.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

/** Why a training step cannot run on WebGPU here (null when it can): one tiny step, compiled and run. */
async function whyNoGpuTraining(): Promise<string | null> {
  if (!gpu) return 'no WebGPU adapter';
  try {
    const model = new Linear(2, 2).init(1);
    const batch = { x: { dtype: 'f32' as const, shape: ['batch', 2] }, y: { dtype: 'i64' as const, shape: ['batch'] } };
    const loss: LossFn = (m, b) => crossEntropy(m.call(b.x), b.y);
    const step = await TrainStep.compile({ model, optimizer: adamw(), batch, loss, device: 'webgpu' });
    await step.run({
      x: { dtype: 'f32', shape: [1, 2, 2], data: Float32Array.of(1, 0, 0, 1) },
      y: { dtype: 'i64', shape: [1, 2], data: BigInt64Array.of(0n, 1n) },
    }, [0.01]);
    await step.release();
    return null;
  } catch (e) {
    return `a training step does not run on WebGPU yet: ${(e as Error).message}`;
  }
}

const why = await whyNoGpuTraining();
const named = (name: string) => (why ? `${name} — SKIPPED: ${why}` : title(name));
const dir = tmp('sy-device-train-');
const csv = join(dir, 't.csv');
const text = join(dir, 'c.txt');
/** Losses after a few fp32 steps computed in another order. */
const RTOL = 1e-3;
const metrics = (run: string) => JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));


describe.skipIf(why !== null)(named('train --device webgpu'), () => {
  const tabular = (out: string, ...more: string[]) =>
    ['train', '--data', csv, '--target', 'label', '--out', out, '--epochs', '3', '--hidden', '8', '--seed', '2', ...more];
  const gptArgs = (out: string, ...more: string[]) => ['train', '--model', 'gpt', '--data', text, '--out', out, '--steps', '4',
    '--d-model', '16', '--layers', '1', '--heads', '2', '--context', '16', '--batch-size', '2', '--eval-every', '2',
    '--eval-tokens', '64', '--warmup', '1', ...more];

  beforeAll(() => {
    writeFileSync(csv, tinyTable(48, 2));
    writeFileSync(text, 'the cat sat on the mat and the dog ran to the park. '.repeat(12));
  });

  it('a tabular run: same files and losses as on the CPU, device and adapter recorded, no ONNX Runtime loaded', () => {
    const cpuRun = join(dir, 'tab-cpu');
    const webRun = join(dir, 'tab-web');
    expectOk(cli([...tabular(cpuRun), '--json']));
    process.env.SWITCHYARD_PROGRESS = 'lines';
    const web = loadedBy([...tabular(webRun), '--device', 'webgpu']);
    delete process.env.SWITCHYARD_PROGRESS;
    expect(web.code, web.stderr).toBe(0);
    expect(web.loaded.filter(isOrt)).toEqual([]);
    expect(web.stderr).toContain(`train on webgpu: ${gpu!.adapter.description}`);
    expect(readdirSync(webRun).sort()).toEqual(readdirSync(cpuRun).sort());
    const [c, w] = [metrics(cpuRun), metrics(webRun)];
    expect(c.device).toEqual({ name: 'cpu' });
    expect(w.device).toEqual({ name: 'webgpu', adapter: gpu!.adapter.description });
    expectClose(w.valid.loss, c.valid.loss, 'validation loss', RTOL);
    expectClose(w.train.loss, c.train.loss, 'training loss', RTOL);
  }, 300_000);

  it('a tabular run resumes across devices (CPU, WebGPU, CPU) to the uninterrupted CPU result', () => {
    const whole = join(dir, 'tab-whole');
    const hopped = join(dir, 'tab-hopped');
    expectOk(cli([...tabular(whole), '--json']));
    expectOk(cli([...tabular(hopped), '--stop-after', '1', '--json']));
    expectOk(cli([...tabular(hopped), '--resume', '--stop-after', '1', '--device', 'webgpu', '--json']));
    expect(metrics(hopped).device.name).toBe('webgpu');
    expectOk(cli([...tabular(hopped), '--resume', '--json']));
    const [a, b] = [metrics(whole), metrics(hopped)];
    expect(b.epochs).toBe(a.epochs);
    expect(b.device).toEqual({ name: 'cpu' });
    expectClose(b.valid.loss, a.valid.loss, 'validation loss after the hops', RTOL);
  }, 300_000);

  /** A GPT run on WebGPU has the CPU run's losses, and a CPU run resumed on WebGPU ends where the CPU run does. */
  function gptAlike(tag: string, ...arch: string[]): void {
    const cpuRun = join(dir, `gpt-cpu-${tag}`);
    const cpu = expectOk(cli([...gptArgs(cpuRun, ...arch), '--json']));
    const web = loadedBy([...gptArgs(join(dir, `gpt-web-${tag}`), ...arch), '--device', 'webgpu', '--json']);
    expect(web.loaded.filter(isOrt)).toEqual([]);
    expectOk(web).records.forEach((r: { trainLoss: number; validLoss: number }, i: number) => {
      expectClose(r.trainLoss, cpu.records[i].trainLoss, `train loss ${i}`, RTOL);
      expectClose(r.validLoss, cpu.records[i].validLoss, `valid loss ${i}`, RTOL);
    });
    expect(metrics(join(dir, `gpt-web-${tag}`)).device).toEqual({ name: 'webgpu', adapter: gpu!.adapter.description });
    const hopped = join(dir, `gpt-hop-${tag}`);
    expectOk(cli([...gptArgs(hopped, ...arch), '--stop-after', '2', '--json']));
    const resumed = expectOk(cli([...gptArgs(hopped, ...arch), '--resume', '--device', 'webgpu', '--json']));
    expectClose(resumed.last.validLoss, cpu.last.validLoss, 'valid loss after resuming on WebGPU', RTOL);
  }

  it('a dense GPT run: the CPU losses, and a CPU run resumed on WebGPU', () => gptAlike('dense'), 300_000);

  it.skipIf(!moeOnWebGpu)(`an MoE GPT run, the same${moeSkipped}`,
    () => gptAlike('moe', '--experts', '4', '--top-k', '2'), 300_000);
});
