import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { sampleDiffusion } from '../../src/train/diffusion-sample.ts';
import { cli, expectBadInput, expectOk, tmp } from './helpers.ts';

describe('switchyard sample --fid and --snapshot', () => {
  const dir = tmp('sy-fid-');
  const run = join(dir, 'run');

  beforeAll(async () => {
    await trainDiffusion({
      data: 'mnist', out: run, steps: 4, batchSize: 4, limit: 32, classConditional: true, snapshots: [2, 9],
      threads: 1, progress: { enabled: false },
    });
  }, 240_000);

  it('scores the samples with the classifier FID, saying it is not Inception FID', () => {
    const base = ['sample', '--model', run, '--steps', '2', '--count', '12', '--batch', '5', '--fid'];
    const r = expectOk(cli([...base, '--out', join(dir, 'a.png'), '--json']));
    expect(r.fid.kind).toMatch(/classifier FID.*not Inception FID/);
    expect(r.fid.samples).toBe(12);
    expect(r.fid.real.images).toBe(2000);
    expect(r.fid.fid).toBeGreaterThan(0);
    expect(r.fid.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.fid.accuracy).toBeLessThanOrEqual(1);
    const human = cli([...base, '--out', join(dir, 'b.png')]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/classifier FID .*not Inception FID: \d+\.\d\d \(12 samples vs 2000 MNIST test images; /);
    expectBadInput(cli(['sample', '--model', run, '--out', join(dir, 'c.png'), '--count', '1', '--fid']), /--count >= 2/);
  }, 180_000);

  it('keeps EMA snapshots inside the run and samples them on request', () => {
    const manifest = readFileSync(join(run, 'manifest.json'), 'utf8');
    expect(manifest).toContain('ema-2.safetensors');
    expect(manifest).not.toContain('ema-9.safetensors'); // past the run's end: the final EMA is ema.safetensors
    const grid = (name: string, extra: string[]) => {
      expectOk(cli(['sample', '--model', run, '--out', join(dir, name), '--steps', '2', '--count', '4', '--json', ...extra]));
      return readFileSync(join(dir, name));
    };
    expect(grid('s2.png', ['--snapshot', '2']).equals(grid('final.png', []))).toBe(false);
    expect(grid('s2b.png', ['--snapshot', '2']).equals(grid('s2.png', ['--snapshot', '2']))).toBe(true);
    expectBadInput(cli(['sample', '--model', run, '--out', join(dir, 'x.png'), '--snapshot', '3']), /--snapshot 3/);
    expectBadInput(cli(['sample', '--model', run, '--out', join(dir, 'x.png'), '--snapshot', '0']), /--snapshot/);
  }, 180_000);

  it('refuses bad snapshots and batches in the library before writing anything', async () => {
    const out = join(dir, 'never');
    const train = { data: 'mnist', out, steps: 4, progress: { enabled: false } };
    await expect(trainDiffusion({ ...train, snapshots: [0] }))
      .rejects.toMatchObject({ code: 'E_USAGE', message: /--snapshots expects a whole number >= 1, got '0'/ });
    await expect(trainDiffusion({ ...train, snapshots: [1.5] })).rejects.toMatchObject({ code: 'E_USAGE' });
    expect(existsSync(out)).toBe(false);
    await expect(sampleDiffusion(run, { out: join(dir, 'y.png'), batch: 0 })).rejects.toMatchObject({ code: 'E_USAGE', message: /--batch/ });
  });
});
