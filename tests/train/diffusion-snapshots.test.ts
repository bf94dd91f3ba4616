/**
 * EMA snapshots of a diffusion run together with `resume`: a snapshot reached after a resume is written, equal
 * byte for byte to the one of an uninterrupted run, listed in the manifest, kept in the config, and sampled
 * through the one-load-many-draws sampler (in batches). An interrupted run holding snapshots is still a run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { loadDiffusionSampler } from '../../src/train/diffusion-sample.ts';
import { isRunDir, openRun } from '../../src/train/run-dir.ts';
import { tmp } from '../cli/helpers.ts';

const same = (a: string, b: string, file: string) => readFileSync(join(a, file)).equals(readFileSync(join(b, file)));

describe('diffusion EMA snapshots with resume', () => {
  const dir = tmp('sy-unet-snap-');
  const straight = join(dir, 'straight');
  const split = join(dir, 'split');
  const train = {
    data: 'mnist', imageSize: 8, limit: 16, steps: 6, batchSize: 2, stepsPerCall: 4, classConditional: true,
    snapshots: [5, 3], threads: 1, progress: { enabled: false },
  };

  beforeAll(async () => {
    await trainDiffusion({ ...train, out: straight });
    await trainDiffusion({ ...train, out: split, stopAfter: 2 });
  }, 180_000);

  it('writes the snapshots a resumed invocation reaches, equal to an uninterrupted run\'s, and lists them', async () => {
    expect(existsSync(join(split, 'ema-3.safetensors'))).toBe(false);
    const cfg = JSON.parse(readFileSync(join(split, 'config.json'), 'utf8'));
    expect(cfg.train.snapshots).toEqual([3, 5]);
    // An interrupted resume (the manifest is removed when a resume starts) holding snapshots is still a run.
    await trainDiffusion({ data: 'mnist', out: split, resume: true, stopAfter: 2, threads: 1, progress: { enabled: false } });
    expect(existsSync(join(split, 'ema-3.safetensors'))).toBe(true);
    rmSync(join(split, 'manifest.json'));
    expect(await isRunDir(split)).toBe(true);
    await trainDiffusion({ data: 'mnist', out: split, resume: true, threads: 1, progress: { enabled: false } });
    for (const f of ['ema-3.safetensors', 'ema-5.safetensors', 'ema.safetensors', 'model.safetensors']) {
      expect(same(split, straight, f), f).toBe(true);
    }
    const run = await openRun(split, { kinds: ['unet'], files: ['ema-3.safetensors', 'ema-5.safetensors'] });
    expect(run.lists('ema-5.safetensors')).toBe(true);
  }, 180_000);

  it('samples a snapshot in batches, many draws from one load', async () => {
    const s = await loadDiffusionSampler(straight, { snapshot: 3, threads: 1 });
    try {
      const whole = await s.draw({ count: 3, steps: 2, seed: 4 });
      const batched = await s.draw({ count: 3, steps: 2, seed: 4, batch: 2 });
      expect(Array.from(whole.labels ?? [])).toEqual([0, 0, 0]); // the first 16 MNIST images are all zeros
      // The first batch's noise is the seed's own stream: its images are the same whatever the batch.
      expect(batched.data.subarray(0, 2 * 64)).toEqual(whole.data.subarray(0, 2 * 64));
      expect(batched.data.subarray(2 * 64)).not.toEqual(whole.data.subarray(2 * 64));
      await expect(s.draw({ count: 2, batch: 0 })).rejects.toMatchObject({ code: 'E_USAGE', message: /--batch/ });
    } finally {
      await s.release();
    }
    const final = await loadDiffusionSampler(straight, { threads: 1 });
    try {
      const a = await final.draw({ count: 2, steps: 2, seed: 4 });
      const snap = await loadDiffusionSampler(straight, { snapshot: 3, threads: 1 });
      const b = await snap.draw({ count: 2, steps: 2, seed: 4 }).finally(() => snap.release());
      expect(a.data).not.toEqual(b.data);
    } finally {
      await final.release();
    }
  }, 120_000);
});
