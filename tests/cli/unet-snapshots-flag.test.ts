/**
 * `switchyard train --model unet --snapshots 2,3`: the CLI flag for the library's `snapshots` option. The EMA
 * weights kept after those updates are listed in the run and sampled with `sample --snapshot`; every entry is
 * range-checked before anything is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, expectBadInput, expectOk, tmp } from './helpers.ts';

describe('train --model unet --snapshots', () => {
  const dir = tmp('sy-unet-snapflag-');
  const train = (out: string, ...extra: string[]) => cli([
    'train', '--model', 'unet', '--data', 'mnist', '--image-size', '8', '--limit', '16', '--steps', '4',
    '--batch-size', '2', '--steps-per-call', '4', '--threads', '1', '--quiet', '--out', out, ...extra,
  ]);

  it('keeps the EMA after each listed update (a list given twice adds up) and samples it', () => {
    const out = join(dir, 'run');
    const r = train(out, '--snapshots', '3', '--snapshots', '1,9', '--json');
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.train.snapshots).toEqual([1, 3]); // 9 is past the end: the final EMA is ema.safetensors
    const manifest = readFileSync(join(out, 'manifest.json'), 'utf8');
    for (const f of ['ema-1.safetensors', 'ema-3.safetensors']) expect(manifest).toContain(f);
    expect(existsSync(join(out, 'ema-9.safetensors'))).toBe(false);
    const sampled = expectOk(cli(['sample', '--model', out, '--snapshot', '3', '--steps', '2', '--count', '2',
      '--out', join(dir, 's3.png'), '--json']));
    expect(sampled.ok).toBe(true);
  }, 180_000);

  it('refuses entries that are not whole numbers >= 1, naming the flag, before writing anything', () => {
    for (const bad of ['0', '2,x', '1.5', '-3']) {
      const out = join(dir, `bad${bad.replace(/\W/g, '_')}`);
      expectBadInput(train(out, `--snapshots=${bad}`), /--snapshots expects entries that are each a whole number >= 1/);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('documents the flag and its range in --help', () => {
    const r = cli(['train', '--model', 'unet', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--snapshots <updates,…>\s+also keep the EMA weights .* \(each a whole number >= 1\)/);
  });
});
