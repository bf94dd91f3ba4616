import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuiltinImages } from '../../src/data/images/builtin.ts';
import { encodePng } from '../../src/data/images/image.ts';
import { readCsv } from '../../src/data/csv.ts';
import { cli, expectBadInput, expectOk, tmp } from './helpers.ts';

describe('switchyard train / predict / eval on the built-in MNIST digits', () => {
  const dir = tmp('sy-mnist-');
  const run = join(dir, 'run');

  it('train --data mnist fits an MLP on the flattened, normalised pixels (no --target needed) and records the split', () => {
    const r = expectOk(cli(['train', '--data', 'mnist', '--out', run, '--epochs', '2', '--hidden', '32', '--json', '--quiet']));
    expect(r.features).toBe(784);
    expect(r.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(r.rows.train + r.rows.valid).toBe(8000);
    expect(r.valid.accuracy).toBeGreaterThan(0.85);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.train.data).toBe('mnist');
    expect(cfg.train.dataset).toEqual({
      name: 'mnist', split: 'train', seed: 0, sizes: { train: 8000, test: 2000 },
      fingerprint: 'bbcaebd25510bd715b142fc87c522ea0efcf29044837178e37e81d99d1b7cafa',
    });
  });

  it('predict, eval and compare on the held-out split (mnist:test) agree and are far above chance', async () => {
    const out = join(dir, 'pred.csv');
    expectOk(cli(['predict', '--model', run, '--data', 'mnist:test', '--out', out, '--json']));
    const truth = readBuiltinImages('mnist', 'test').rows.map((row) => row[1]);
    const p = await readCsv(out);
    expect(p.rows).toHaveLength(2000);
    const accuracy = p.rows.filter((row, i) => row[1] === truth[i]).length / 2000;
    expect(accuracy).toBeGreaterThan(0.85);
    const e = expectOk(cli(['eval', '--model', run, '--data', 'mnist:test', '--resamples', '50', '--no-corruptions', '--json', '--quiet']));
    expect(e.scores.overall.accuracy.estimate).toBeCloseTo(accuracy, 6);
    expect(e.data.dataset).toMatchObject({ name: 'mnist', split: 'test', sizes: { train: 8000, test: 2000 } });
    const c = cli(['compare', '--baseline', run, '--candidate', run, '--data', 'mnist:test', '--resamples', '100', '--json']);
    expect(c.code, c.stderr).toBe(0);
  });
});

describe('switchyard train / predict on a folder of images (a small MNIST subset written as PNG files)', () => {
  const dir = tmp('sy-digits-');
  const train = join(dir, 'train');
  const unlabelled = join(dir, 'new');
  const run = join(dir, 'run');
  const digits = readBuiltinImages('mnist', 'train');
  const test = readBuiltinImages('mnist', 'test');

  it('trains from label sub-folders well above chance', () => {
    const per = new Map<string, number>();
    digits.rows.forEach((row, i) => {
      const n = per.get(row[1]) ?? 0;
      if (n >= 40) return;
      per.set(row[1], n + 1);
      mkdirSync(join(train, row[1]), { recursive: true });
      writeFileSync(join(train, row[1], `${n}.png`), encodePng(digits.images[i]));
    });
    const r = expectOk(cli(['train', '--data', train, '--out', run, '--epochs', '15', '--patience', '0', '--json', '--quiet']));
    expect(r.rows.train + r.rows.valid).toBe(400);
    expect(r.features).toBe(784);
    expect(r.valid.accuracy).toBeGreaterThan(0.5);
  });

  it('predicts a folder of unlabelled images', async () => {
    mkdirSync(unlabelled);
    const picks = Array.from({ length: 100 }, (_, k) => k * 20);
    picks.forEach((i, k) => writeFileSync(join(unlabelled, `${String(k).padStart(3, '0')}.png`), encodePng(test.images[i])));
    const out = join(dir, 'pred.csv');
    expectOk(cli(['predict', '--model', run, '--data', unlabelled, '--out', out, '--json']));
    const p = await readCsv(out);
    const right = p.rows.filter((row, k) => row[1] === test.rows[picks[k]][1]).length;
    expect(right).toBeGreaterThan(50);
  });

  it('a broken or too big image is a one-line error naming the file (exit 2); a table without --target too', () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, '3'), { recursive: true });
    writeFileSync(join(bad, '3', 'ok.png'), encodePng(digits.images[0]));
    writeFileSync(join(bad, '3', 'cut.png'), encodePng(digits.images[1]).slice(0, 50));
    expectBadInput(cli(['train', '--data', bad, '--out', join(dir, 'r2')]), /3[/\\]cut\.png: a damaged PNG image \(the file ends early\)/);
    const big = join(dir, 'big');
    mkdirSync(join(big, '3'), { recursive: true });
    writeFileSync(join(big, '3', 'a.png'), encodePng(digits.images[0]));
    expectBadInput(cli(['train', '--data', big, '--out', join(dir, 'r4'), '--max-image-pixels', '700']), /3[/\\]a\.png: 28x28 pixels is over the limit of 700/);
    expectBadInput(cli(['predict', '--model', run, '--data', big, '--max-image-pixels', '0']), /--max-image-pixels/);
    const csv = join(dir, 't.csv');
    writeFileSync(csv, 'a,b\n1,x\n2,y\n');
    expectBadInput(cli(['train', '--data', csv, '--out', join(dir, 'r3')]), /missing required option --target/);
  });
});
