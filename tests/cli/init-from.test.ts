/**
 * The CLI of `--init-from` and `export --format hf-gpt2`, as a user runs it: a GPT run exported as a GPT-2 folder
 * and trained again from it, a tabular run's hidden layers reused for new labels, and one-line errors (exit 2).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, expectOk as ok, tmp } from './helpers.ts';

const dir = tmp('sy-cli-init-');
const text = join(dir, 'text.txt');
const SIZES = ['--d-model', '16', '--layers', '1', '--heads', '2', '--context', '8', '--mlp-hidden', '32'];
const GPT = ['train', '--model', 'gpt', '--data', text, ...SIZES, '--batch-size', '4', '--eval-every', '5', '--json'];

describe('switchyard train --init-from / export --format hf-gpt2', () => {
  const source = join(dir, 'gpt');
  beforeAll(() => {
    const rng = new Rng(1);
    const words = Array.from({ length: 800 }, () => ['to', 'be', 'or', 'not'][Math.floor(rng.next() * 4)]);
    writeFileSync(text, words.join(' '));
    ok(cli([...GPT, '--activation', 'gelu-tanh', '--tie', '--steps', '10', '--out', source]));
  }, 60_000);

  it('a GPT run exported as a GPT-2 folder trains again from it: every tensor loaded, config from config.json', () => {
    const hf = join(dir, 'hf');
    const e = ok(cli(['export', '--model', source, '--format', 'hf-gpt2', '--out', hf, '--json']));
    expect(e.tensors).toBe(2 + 12 + 2);
    const hfConfig = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8'));
    expect(hfConfig).toMatchObject({ model_type: 'gpt2', n_embd: 16, n_head: 2, activation_function: 'gelu_new' });
    const out = join(dir, 'from-hf');
    const steps = ['--steps', '2', '--batch-size', '4', '--eval-every', '1'];
    const r = cli(['train', '--model', 'gpt', '--data', text, '--init-from', hf, ...steps, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // the folder's tokenizer.json (the run's byte tokenizer) is the new run's
    const counts = 'loaded 16, reshaped 0, fresh 0, unused 0; tokenizer .*hf/tokenizer\\.json';
    const line = new RegExp(`^init-from .*hf \\(hf-gpt2, sha256 [0-9a-f]{12}\\): ${counts}$`, 'm');
    expect(r.stderr).toMatch(line);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.initFrom).toMatchObject({ layout: 'hf-gpt2', kind: 'hf-gpt2-dir', fresh: [], unused: [], reshaped: [] });
    expect(cfg.gpt).toMatchObject({ dModel: 16, heads: 2, context: 8, activation: 'gelu-tanh', tieWeights: true });
  }, 60_000);

  it('bad input is one line and exit 2: a mismatch, init flags alone, with --resume, a rotary export', () => {
    const longer = cli([...GPT, '--steps', '1', '--init-from', source, '--context', '12', '--out', join(dir, 'x1')]);
    expectBadInput(longer, /--init-from does not fit the model: shape wpe\.weight \[8,16\] vs \[12,16\]/);
    const alone = cli([...GPT, '--steps', '1', '--init-partial', '--out', join(dir, 'x2')]);
    expectBadInput(alone, /--init-partial needs --init-from/);
    const resume = cli([...GPT, '--steps', '1', '--init-from', source, '--resume', '--out', source]);
    expectBadInput(resume, /--init-from.*--resume|--resume.*--init-from/);
    const rotary = join(dir, 'rotary');
    ok(cli([...GPT, '--position', 'rotary', '--steps', '1', '--out', rotary]));
    const exported = cli(['export', '--model', rotary, '--format', 'hf-gpt2', '--out', join(dir, 'rotary-hf')]);
    expectBadInput(exported, /not a GPT-2: rotary positions/);
  }, 60_000);

  it('tabular: new labels reuse the hidden layers and sizes, with a fresh head (--init-partial)', () => {
    const csv = (labels: string[], seed: number) => {
      const rng = new Rng(seed);
      const row = (i: number) => `${rng.normal().toFixed(3)},${rng.normal().toFixed(3)},${labels[i % labels.length]}`;
      const f = join(dir, `t${seed}.csv`);
      writeFileSync(f, ['a,b,label', ...Array.from({ length: 60 }, (_, i) => row(i))].join('\n') + '\n');
      return f;
    };
    const base = join(dir, 'tab');
    const quiet = ['--target', 'label', '--json', '--quiet'];
    ok(cli(['train', '--data', csv(['yes', 'no'], 1), ...quiet, '--hidden', '6', '--epochs', '2', '--out', base]));
    const init = ['--init-from', base, '--init-partial'];
    const newLabels = csv(['lo', 'mid', 'hi'], 2);
    const j = ok(cli(['train', '--data', newLabels, ...quiet, '--epochs', '1', ...init, '--out', join(dir, 'tab2')]));
    expect(j.init).toMatchObject({ loaded: ['layers.0.weight', 'layers.0.bias'] });
    expect(j.init).toMatchObject({ fresh: ['layers.1.weight', 'layers.1.bias'] });
    expect(j.classes).toEqual(['hi', 'lo', 'mid']);
  }, 60_000);
});
