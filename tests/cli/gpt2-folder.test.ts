/**
 * A GPT-2 folder end to end, as a user runs it: `export --format hf-gpt2` writes the run's tokenizer beside the
 * weights (a tokenizer.json that @huggingface/tokenizers encodes to the run's ids), and `train --init-from FOLDER`
 * takes that tokenizer, so the new run continues at the source's loss with strict matching.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLmRun } from '../../src/train/lm-session.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, expectOk as ok, tmp } from './helpers.ts';

const dir = tmp('sy-cli-gpt2-');
const text = join(dir, 'text.txt');
const SIZES = ['--d-model', '16', '--layers', '1', '--heads', '2', '--context', '16', '--mlp-hidden', '32'];
const BPE = ['--tokenizer', 'bpe', '--vocab-size', '300'];
const GPT = ['train', '--model', 'gpt', '--data', text, '--batch-size', '8', '--json'];
/** One update at a learning rate too small to move the loss, evaluated right after it. */
const STILL = ['--steps', '1', '--eval-every', '1', '--warmup', '0', '--lr', '1e-6', '--min-lr', '1e-7'];
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

describe('a GPT run as a Hugging Face GPT-2 folder, tokenizer included, and back', () => {
  const source = join(dir, 'gpt');
  const hf = join(dir, 'hf');
  let sourceLast: { validLoss: number; trainLoss: number };
  beforeAll(() => {
    const rng = new Rng(1);
    const words = 'the quick brown fox jumps over a lazy dog and runs far away from home'.split(' ');
    writeFileSync(text, Array.from({ length: 2500 }, () => words[Math.floor(rng.next() * words.length)]).join(' '));
    const schedule = ['--steps', '60', '--eval-every', '30', '--warmup', '5', '--lr', '0.01'];
    sourceLast = ok(cli([...GPT, ...SIZES, ...BPE, '--activation', 'gelu-tanh', ...schedule, '--out', source])).last;
  }, 120_000);

  it('export --format hf-gpt2 writes a tokenizer.json that @huggingface/tokenizers encodes to our ids', async () => {
    const e = ok(cli(['export', '--model', source, '--format', 'hf-gpt2', '--out', hf, '--json']));
    expect(e.files).toContain(join(hf, 'tokenizer.json'));
    // AutoTokenizer reads tokenizer.json as it is through the generic fast tokenizer.
    expect(readJson(join(hf, 'tokenizer_config.json'))).toMatchObject({
      tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 16, clean_up_tokenization_spaces: false,
    });
    const { tok, cfg } = await loadLmRun(source);
    expect(readJson(join(hf, 'config.json')).vocab_size).toBe(cfg.gpt.vocab);
    const json = readJson(join(hf, 'tokenizer.json'));
    expect(Object.keys(json.model.vocab)).toHaveLength(cfg.gpt.vocab);
    const theirs = new HfTokenizer(json, {});
    const sample = `${readFileSync(text, 'utf8').slice(0, 3000)} The quick fox, 42 times: naïve café! \u{1F98A}\n`;
    expect(theirs.encode(sample).ids).toEqual(Array.from(tok.encode(sample)));
  });

  it('train --init-from FOLDER uses its tokenizer and continues at the source\'s loss, far below a fresh run', () => {
    const out = join(dir, 'from-hf');
    const j = ok(cli([...GPT, '--init-from', hf, ...STILL, '--out', out]));
    expect(j.init).toMatchObject({ tokenizer: join(hf, 'tokenizer.json'), reshaped: [], fresh: [], unused: [] });
    const cfg = readJson(join(out, 'config.json'));
    expect(cfg.initFrom).toMatchObject({ kind: 'hf-gpt2-dir', tokenizer: join(hf, 'tokenizer.json') });
    expect(cfg.gpt).toMatchObject({ vocab: readJson(join(source, 'config.json')).gpt.vocab, activation: 'gelu-tanh' });
    expect(readJson(join(out, 'tokenizer.json')).model).toEqual(readJson(join(hf, 'tokenizer.json')).model);
    expect(Math.abs(j.records[0].validLoss - sourceLast.validLoss)).toBeLessThan(0.01);
    const fresh = ok(cli([...GPT, ...SIZES, ...BPE, ...STILL, '--out', join(dir, 'fresh')]));
    expect(fresh.records[0].validLoss).toBeGreaterThan(2 * j.records[0].validLoss);
  }, 60_000);

  it('a folder without tokenizer.json keeps the default byte tokenizer (strict: the vocabulary does not fit)', () => {
    const bare = join(dir, 'hf-bare');
    cpSync(hf, bare, { recursive: true });
    rmSync(join(bare, 'tokenizer.json'));
    const r = cli([...GPT, '--init-from', bare, ...STILL, '--out', join(dir, 'from-bare')]);
    expectBadInput(r, /does not fit the model: shape wte\.weight \[\d+,16\] vs \[256,16\]/);
    // --tokenizer typed wins over the folder's own
    const typed = cli([...GPT, '--init-from', hf, '--tokenizer', 'byte', ...STILL, '--out', join(dir, 'typed')]);
    expectBadInput(typed, /does not fit the model: shape wte\.weight \[\d+,16\] vs \[256,16\]/);
  });
});
