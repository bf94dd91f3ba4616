/**
 * The issue's "done when" for diffusion: a short, seeded run with the default trainer and sampler settings makes
 * digits the shipped reference classifier (98% on the MNIST test split) reads as the digit asked for, far above
 * chance. Kept quick: three digits (0, 1, 7), 64 training images of each, downsized to 14 x 14 and upsized back to
 * 28 x 28 for the classifier. The run is `train --model unet --class-conditional` with its defaults (rectified flow,
 * lr 3e-3, EMA with warm-up) but for the size, the updates and the batch; sampling uses `sample`'s defaults
 * (Euler, classifier-free guidance 3) but for the steps.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng, readBuiltinImages, resizeBilinear } from '../../src/data/images/index.ts';
import { classifierFid } from '../../src/eval/classifier-fid.ts';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { loadDiffusionSampler } from '../../src/train/diffusion-sample.ts';
import { tmp } from '../cli/helpers.ts';

const DIGITS = ['0', '1', '7'];
const PER_DIGIT = 64;

/** A folder of MNIST training digits, one sub-folder per digit (the labels of a class-conditional run). */
function writeDigitFolder(dir: string): void {
  const table = readBuiltinImages('mnist', 'train');
  const seen = new Map<string, number>();
  table.rows.forEach((row, i) => {
    const digit = String(row[1]);
    const k = seen.get(digit) ?? 0;
    if (!DIGITS.includes(digit) || k >= PER_DIGIT) return;
    seen.set(digit, k + 1);
    mkdirSync(join(dir, digit), { recursive: true });
    writeFileSync(join(dir, digit, `${k}.png`), encodePng(table.images[i]));
  });
}

describe('a short class-conditional diffusion run makes recognisable digits', () => {
  const dir = tmp('sy-unet-digits-');
  const out = join(dir, 'run');

  beforeAll(async () => {
    writeDigitFolder(join(dir, 'digits'));
    await trainDiffusion({
      data: join(dir, 'digits'), out, classConditional: true, imageSize: 14, steps: 150, batchSize: 16, seed: 0,
      threads: 1, progress: { enabled: false },
    });
  }, 300_000);

  it('trains rectified flow by default', () => {
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.diffusion.objective).toBe('flow');
    expect(cfg.classNames).toEqual(DIGITS);
  });

  it('draws digits the reference classifier reads as the one asked for, far above chance', async () => {
    const sampler = await loadDiffusionSampler(out, { threads: 1 });
    try {
      const drawn = await sampler.draw({ count: 30, steps: 10, seed: 1 }); // digits 0, 1, 7 in turn
      const labels = Array.from(drawn.labels!, (id) => Number(DIGITS[id]));
      const scored = await classifierFid(resizeBilinear(drawn, 28, 28), { labels, range: [-1, 1], threads: 1 });
      // Chance is 10% over ten digits (a third over the three trained); a run that has not learnt digits scores
      // 30-60% here (the epsilon objective, or no guidance, at these 150 updates).
      expect(scored.accuracy).toBeGreaterThanOrEqual(0.8);
      // Every digit asked for is drawn: no collapse onto the easiest one.
      for (const d of DIGITS.map(Number)) expect(scored.classShares[d]).toBeGreaterThanOrEqual(0.2);
    } finally {
      await sampler.release();
    }
  }, 120_000);
});
