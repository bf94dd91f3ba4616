/**
 * `switchyard train --model gpt` and Hugging Face tokenizer.json files: every run writes one (listed in its
 * manifest) that @huggingface/tokenizers reproduces, and `--tokenizer path/to/tokenizer.json` trains with a given one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { loadTextCorpus, sotuPath } from '../../src/data/text/corpus.ts';
import { loadLmRun } from '../../src/train/generate.ts';
import { cli, expectBadInput, expectOk, tmp } from './helpers.ts';

const TRAIN = [
  'train', '--model', 'gpt', '--data', 'sotu', '--steps', '4', '--eval-every', '4', '--preset', 'tiny', '--d-model', '16',
  '--layers', '1', '--heads', '2', '--context', '16', '--batch-size', '4', '--eval-tokens', '256', '--json', '--quiet',
];
const dir = tmp('sy-lm-hf-');

const ok = expectOk;

describe('GPT runs and tokenizer.json', () => {
  const bpe = join(dir, 'bpe');
  const given = join(dir, 'given');

  it('a BPE run writes tokenizer.json, in its manifest, that @huggingface/tokenizers encodes to the run\'s ids', async () => {
    ok(cli([...TRAIN, '--tokenizer', 'bpe', '--vocab-size', '320', '--out', bpe]));
    const manifest = JSON.parse(readFileSync(join(bpe, 'manifest.json'), 'utf8'));
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain('tokenizer.json');
    const theirs = new HfTokenizer(JSON.parse(readFileSync(join(bpe, 'tokenizer.json'), 'utf8')), {});
    const { tok } = await loadLmRun(bpe);
    const speech = (await loadTextCorpus([sotuPath()!])).documents[200].text.slice(0, 20_000);
    expect(theirs.encode(speech).ids).toEqual(Array.from(tok.encode(speech)));
  });

  it('--tokenizer path/to/tokenizer.json trains and generates with that tokenizer', async () => {
    const file = join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(join(bpe, 'tokenizer.json'), 'utf8'));
    // give it a special token, as GPT-2's file has
    json.model.vocab['<|endoftext|>'] = 320;
    const eot = { id: 320, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false };
    json.added_tokens = [{ ...eot, special: true }];
    writeFileSync(file, JSON.stringify(json));
    ok(cli([...TRAIN, '--tokenizer', file, '--out', given]));
    const { cfg, tok } = await loadLmRun(given);
    expect(cfg.gpt.vocab).toBe(321);
    expect(Array.from(tok.encode('a<|endoftext|>b')).includes(320)).toBe(true);
    const generate = (model: string) =>
      ok(cli(['generate', '--model', model, '--prompt', 'The ', '--max-tokens', '5', '--seed', '1', '--json']));
    const g = generate(given);
    expect(g.tokens).toBe(5);
    // the exported decode step carries the tokenizer too, and generates the same text
    ok(cli(['export', '--model', given, '--out', join(dir, 'given.onnx'), '--json']));
    expect(generate(join(dir, 'given.onnx')).text).toBe(g.text);
    // the run's own tokenizer.json is the given one, written back canonically
    expect(JSON.parse(readFileSync(join(given, 'tokenizer.json'), 'utf8')).model.vocab).toEqual(json.model.vocab);
  });

  it('bad --tokenizer values: exit 2 with one line naming the flag, or the file and the field', () => {
    const typo = cli([...TRAIN, '--tokenizer', 'bpee', '--out', join(dir, 'x')]);
    expectBadInput(typo, /--tokenizer bpee: neither byte, bpe nor an existing file/);
    const wordpiece = join(dir, 'wordpiece.json');
    writeFileSync(wordpiece, JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }));
    const r = cli([...TRAIN, '--tokenizer', wordpiece, '--out', join(dir, 'y')]);
    expectBadInput(r, new RegExp(`${wordpiece}: model\\.type: "WordPiece" is not supported`));
  });
});
