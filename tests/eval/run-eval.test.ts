import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEval } from '../../src/eval/run.ts';
import { renderEvalHtml } from '../../src/report/eval-report.ts';
import { trainLm } from '../../src/train/lm.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { GPT_PRESETS } from '../../src/models/gpt.ts';
import { Rng } from '../../src/util/rng.ts';
import { tmp } from '../cli/helpers.ts';

const quiet = { enabled: false };

describe('runEval', () => {
  it('regression runs: MAE/RMSE/R² with intervals, RMSE under corruptions, OOD and attacks skipped with notes', async () => {
    const dir = tmp('sy-evalreg-');
    const rng = new Rng(3);
    const csv = (n: number) => ['x1,x2,kind,y', ...Array.from({ length: n }, () => {
      const a = rng.normal(), b = rng.normal(), k = rng.int(2);
      return `${a.toFixed(3)},${b.toFixed(3)},${k ? 'p' : 'q'},${(3 * a - b + (k ? 2 : 0) + 0.1 * rng.normal()).toFixed(3)}`;
    })].join('\n') + '\n';
    writeFileSync(join(dir, 'train.csv'), csv(400));
    writeFileSync(join(dir, 'test.csv'), csv(150));
    await trainTabular({ data: join(dir, 'train.csv'), target: 'y', out: join(dir, 'run'), epochs: 60, hidden: [32], lr: 1e-2, progress: quiet });
    const r = await runEval({ model: join(dir, 'run'), data: join(dir, 'test.csv'), adversarial: true, slice: ['kind'], bootstrap: 100, progress: quiet });
    expect(r.model.task).toBe('regression');
    const { mae, rmse, r2 } = r.scores!.overall;
    expect(r2.estimate).toBeGreaterThan(0.8);
    expect(rmse.estimate).toBeGreaterThanOrEqual(mae.estimate);
    expect(rmse.low).toBeLessThanOrEqual(rmse.estimate);
    const noise = r.robustness!.corruptions.filter((c) => c.kind === 'gaussian-noise');
    expect(noise.map((c) => c.metric)).toEqual(['rmse', 'rmse', 'rmse']);
    expect(noise[2].value).toBeGreaterThan(noise[0].value);
    expect(r.ood).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/adversarial attacks need a Switchyard classifier/);
    expect(r.scores!.slices![0].slices.length).toBe(2);
    expect(renderEvalHtml(r)).toContain('mae by kind');
  });

  it('language-model runs: loss, perplexity, bits per byte, and loss rising under text corruptions', async () => {
    const dir = tmp('sy-evallm-');
    const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'it'];
    const rng = new Rng(5);
    const text = (n: number) => Array.from({ length: n }, () => words[rng.int(words.length)]).join(' ') + '.\n';
    writeFileSync(join(dir, 'train.txt'), text(3000));
    writeFileSync(join(dir, 'test.txt'), text(600));
    await trainLm({ data: [join(dir, 'train.txt')], out: join(dir, 'lm'), model: { ...GPT_PRESETS.tiny, dModel: 32, layers: 1, heads: 2, context: 32, mlpHidden: 64 }, steps: 60, batchSize: 8, evalEvery: 60, warmup: 5, lr: 3e-3, progress: quiet });
    const r = await runEval({ model: join(dir, 'lm'), data: join(dir, 'test.txt'), adversarial: true, progress: quiet });
    const lm = r.lm!;
    expect(r.model).toMatchObject({ kind: 'lm', task: 'language-model' });
    expect(lm.clean.perplexity).toBeCloseTo(Math.exp(lm.clean.loss), 9);
    // Byte tokenizer: bits per byte is the loss in bits.
    expect(lm.clean.bitsPerByte).toBeCloseTo(lm.clean.loss / Math.LN2, 6);
    expect(lm.clean.loss).toBeLessThan(Math.log(256) * 0.6);
    const typo = lm.corruptions.filter((c) => c.kind === 'typos');
    expect(typo[1].lossIncrease).toBeGreaterThan(0);
    expect(typo[1].scores.loss).toBeGreaterThan(typo[0].scores.loss);
    // PGD on the token embeddings: no change at eps 0, the loss rises with the budget.
    const adv = lm.adversarial!.points;
    expect(adv.map((p) => p.eps)).toEqual([0, 0.05, 0.1, 0.2]);
    expect(adv[0].lossIncrease).toBe(0);
    for (let i = 1; i < adv.length; i++) expect(adv[i].loss).toBeGreaterThan(adv[i - 1].loss);
    expect(renderEvalHtml(r)).toContain('loss under text corruptions');
  });
});
