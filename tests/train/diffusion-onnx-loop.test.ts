/**
 * The sampling loop exported as one ONNX graph (an ONNX Loop around the denoiser) and run by onnxruntime-node
 * alone gives the images `switchyard sample` draws from the same noise: Euler on a class-conditional flow run with
 * guidance, DDIM on an unconditional epsilon run. DDPM (fresh noise every step) is refused. `switchyard export`
 * writes the same graph.
 */
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportSamplingLoop } from '../../src/train/diffusion-onnx.ts';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { loadDiffusionSampler } from '../../src/train/diffusion-sample.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, expectOk, tmp } from '../cli/helpers.ts';

const SIDE = 8;
const COUNT = 4;

/** Runs the exported loop in a bare ORT session on the noise of `seed` (as a draw makes it). */
async function runExported(bytes: Uint8Array, seed: number, labels: number[] | null, guidance: number) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const rng = new Rng(seed);
  const noise = Float32Array.from({ length: COUNT * SIDE * SIDE }, () => rng.normal());
  const feeds: Record<string, ort.Tensor> = { noise: new ort.Tensor('float32', noise, [COUNT, 1, SIDE, SIDE]) };
  if (labels) {
    feeds.label = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [COUNT]);
    feeds.guidance = new ort.Tensor('float32', Float32Array.of(guidance), []);
  }
  const out = await session.run(feeds);
  await session.release();
  return out.images.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('the sampling loop as one ONNX graph', () => {
  const dir = tmp('sy-unet-loop-');
  const flow = join(dir, 'flow');
  const eps = join(dir, 'eps');
  const train = {
    data: 'mnist', imageSize: SIDE, limit: 16, steps: 2, batchSize: 2, threads: 1, progress: { enabled: false },
  };

  beforeAll(async () => {
    await trainDiffusion({ ...train, out: flow, objective: 'flow', classConditional: true });
    await trainDiffusion({ ...train, out: eps, objective: 'ddpm' });
  }, 240_000);

  it('Euler with classifier-free guidance: ORT alone draws what switchyard sample draws', async () => {
    const { bytes, sampler, steps } = await exportSamplingLoop(flow, { steps: 4 });
    expect([sampler, steps]).toEqual(['euler', 4]);
    const s = await loadDiffusionSampler(flow, { threads: 1 });
    const host = await s.draw({ count: COUNT, steps: 4, seed: 7, guidance: 2.5 });
    await s.release();
    const onnx = await runExported(bytes, 7, Array.from(host.labels!), 2.5);
    expect(maxDiff(onnx, host.data)).toBeLessThan(1e-4);
    expect(maxDiff(onnx, await runExported(bytes, 7, Array.from(host.labels!), 1))).toBeGreaterThan(1e-3);
  }, 120_000);

  it('DDIM on an unconditional epsilon run', async () => {
    const { bytes, sampler, steps } = await exportSamplingLoop(eps, { steps: 3 });
    expect([sampler, steps]).toEqual(['ddim', 3]);
    const s = await loadDiffusionSampler(eps, { threads: 1 });
    const host = await s.draw({ count: COUNT, steps: 3, seed: 3 });
    await s.release();
    expect(maxDiff(await runExported(bytes, 3, null, 1), host.data)).toBeLessThan(1e-4);
  }, 120_000);

  it('refuses DDPM and samplers that do not fit the objective', async () => {
    const usage = (message: RegExp) => ({ code: 'E_USAGE', message });
    await expect(exportSamplingLoop(eps, { sampler: 'ddpm' })).rejects.toMatchObject(usage(/ddpm/));
    await expect(exportSamplingLoop(flow, { sampler: 'ddim' })).rejects.toMatchObject(usage(/--sampler ddim/));
    await expect(exportSamplingLoop(flow, { steps: 0 })).rejects.toMatchObject(usage(/--steps/));
  });
});

describe('switchyard export of a diffusion run', () => {
  it('writes the sampling loop, the bytes exportSamplingLoop gives, with --sample-steps', async () => {
    const dir = tmp('sy-unet-export-');
    const run = join(dir, 'run');
    await trainDiffusion({
      data: 'mnist', imageSize: SIDE, limit: 8, steps: 1, batchSize: 2, threads: 1, classConditional: true, out: run,
      progress: { enabled: false },
    });
    const file = join(dir, 'sampler.onnx');
    const r = expectOk(cli(['export', '--model', run, '--out', file, '--sample-steps', '3', '--json']));
    expect(r.inputs).toEqual(['noise', 'label', 'guidance']);
    expect(r.outputs).toEqual(['images']);
    expect(readFileSync(file).equals(Buffer.from((await exportSamplingLoop(run, { steps: 3 })).bytes))).toBe(true);
    expectBadInput(cli(['export', '--model', run, '--out', file, '--sample-steps', '0']), /--sample-steps/);
    expectBadInput(cli(['export', '--model', run, '--out', file, '--inputs', 'raw']), /--inputs is for tabular/);
  }, 180_000);
});
