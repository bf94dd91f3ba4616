import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, expectBadInput, expectOk, tmp } from './helpers.ts';

/** Width and height of a PNG file, read by pngjs. */
const pngSize = (file: string) => {
  const png = PNG.sync.read(readFileSync(file));
  return [png.width, png.height];
};

describe('switchyard train --model unet, then sample', () => {
  const dir = tmp('sy-unet-');
  const run = join(dir, 'run');
  const flowRun = join(dir, 'flow');
  const tiny = ['--data', 'mnist', '--preset', 'tiny', '--steps', '4', '--batch-size', '4', '--limit', '32', '--json'];

  beforeAll(() => {
    expectOk(cli(['train', '--model', 'unet', '--out', run, '--objective', 'ddpm', '--class-conditional', ...tiny]));
    expectOk(cli(['train', '--model', 'unet', '--out', flowRun, '--objective', 'flow', ...tiny]));
  }, 240_000);

  it('writes a run with raw and EMA weights and one metrics record per call', () => {
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.kind).toBe('unet');
    expect(cfg.diffusion).toEqual({ objective: 'ddpm', schedule: 'cosine', timesteps: 1000 });
    const manifest = readFileSync(join(run, 'manifest.json'), 'utf8');
    for (const f of ['model.safetensors', 'ema.safetensors', 'metrics.jsonl']) expect(manifest).toContain(f);
    const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.at(-1).step).toBe(4);
    expect(Number.isFinite(records.at(-1).loss)).toBe(true);
  });

  it('samples a PNG grid of the asked size, the same for the same seed and different for another', () => {
    const grid = (name: string, seed: string, extra: string[] = []) => {
      const out = join(dir, name);
      expectOk(cli(['sample', '--model', run, '--out', out, '--steps', '3', '--count', '4', '--seed', seed, '--json', ...extra]));
      return out;
    };
    const [a, b, c] = [grid('a.png', '1'), grid('b.png', '1'), grid('c.png', '2')];
    expect(pngSize(a)).toEqual([2 * 28 + 3 * 2, 2 * 28 + 3 * 2]);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
    const guided = grid('g.png', '1', ['--sampler', 'ddpm', '--class', '0', '--guidance', '3']);
    expect(readFileSync(guided).equals(readFileSync(a))).toBe(false);
    const flow = join(dir, 'flow.png');
    expectOk(cli(['sample', '--model', flowRun, '--out', flow, '--steps', '3', '--count', '9', '--json']));
    expect(pngSize(flow)).toEqual([3 * 28 + 4 * 2, 3 * 28 + 4 * 2]);
  }, 120_000);

  it('refuses bad flags with exit 2 and a hint', () => {
    expectBadInput(cli(['train', '--model', 'unet', '--out', join(dir, 'x'), '--objective', 'score', ...tiny]), /--objective score/);
    expectBadInput(cli(['train', '--model', 'unet', '--out', join(dir, 'x'), '--data', 'cifar']), /cifar/);
    const flowSnr = ['--objective', 'flow', '--min-snr-gamma', '5'];
    expectBadInput(cli(['train', '--model', 'unet', '--out', join(dir, 'x'), ...flowSnr, ...tiny]), /min-SNR/);
    expectBadInput(cli(['sample', '--model', flowRun, '--out', join(dir, 'x.png'), '--sampler', 'ddim']), /--sampler ddim/);
    expectBadInput(cli(['sample', '--model', flowRun, '--out', join(dir, 'x.png'), '--class', '1']), /--class 1/);
    expectBadInput(cli(['sample', '--model', run, '--out', join(dir, 'x.png'), '--steps', '0']), /--steps/);
    expectBadInput(cli(['sample', '--model', run, '--out', join(dir, 'x.png'), '--guidance', '-1']), /--guidance/);
  }, 120_000);
});
