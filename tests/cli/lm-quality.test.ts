import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTextCorpus, sotuPath, splitDocuments } from '../../src/data/text/corpus.ts';
import { writeManifest } from '../../src/util/fs.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, tmp } from './helpers.ts';

/** Cross-entropy (nats/byte) of the validation bytes under the training bytes' unigram distribution. */
async function unigramBaseline(seed: number, validFraction: number): Promise<number> {
  const corpus = await loadTextCorpus([sotuPath()!]);
  const { train, valid } = splitDocuments(corpus, validFraction, new Rng(seed));
  const counts = new Float64Array(256).fill(1); // add-one smoothing
  const enc = new TextEncoder();
  for (const d of train.documents) for (const b of enc.encode(d.text)) counts[b]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let nll = 0;
  let n = 0;
  for (const d of valid.documents) for (const b of enc.encode(d.text)) {
    nll -= Math.log(counts[b] / total);
    n++;
  }
  return nll / n;
}

describe('a tiny GPT trained by the CLI on the State of the Union corpus', () => {
  const dir = tmp();
  const run = join(dir, 'lm');

  it('lowers validation loss well below the unigram baseline, and generate produces text from it', async () => {
    const r = cli(['train', '--model', 'gpt', '--data', 'sotu', '--out', run, '--d-model', '64', '--layers', '2', '--heads', '4', '--context', '64', '--mlp-hidden', '256',
      '--batch-size', '16', '--steps', '150', '--lr', '0.003', '--warmup', '10', '--eval-every', '150', '--eval-tokens', '32768', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const baseline = await unigramBaseline(0, 0.1);
    expect(baseline).toBeGreaterThan(2.5); // English bytes: about 4.4 bits
    expect(r.json.last.validLoss).toBeLessThan(baseline - 0.5);
    const g = cli(['generate', '--model', run, '--prompt', 'The Congress', '--max-tokens', '60', '--seed', '2', '--json']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.json.tokens).toBe(60);
    expect(g.json.text.length).toBeGreaterThan(20);
    // Mostly letters and spaces: it has learned English-looking byte statistics.
    const letters = [...g.json.text].filter((c: string) => /[a-zA-Z ]/.test(c)).length;
    expect(letters / g.json.text.length).toBeGreaterThan(0.7);
  });

  it('bad input: empty or binary corpus, too-long prompt, checkpoint of another config, existing run', async () => {
    const bad = (res: ReturnType<typeof cli>, re: RegExp) => {
      expect(res.code).toBe(2);
      expect(res.stderr.split('\n')[0]).toMatch(re);
      expect(res.stderr).toMatch(/\nhint: /);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    };
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'a.txt'), '');
    bad(cli(['train', '--model', 'gpt', '--data', join(dir, 'empty'), '--out', join(dir, 'r1')]), /holds no text/);
    expect(existsSync(join(dir, 'r1'))).toBe(false);
    writeFileSync(join(dir, 'bin.txt'), Uint8Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256 | 0x80));
    bad(cli(['train', '--model', 'gpt', '--data', join(dir, 'bin.txt'), '--out', join(dir, 'r2')]), /bin\.txt:\d+: byte \d+ \(0x[0-9a-f]{2}\) is not valid UTF-8/);
    bad(cli(['generate', '--model', run, '--prompt', 'x'.repeat(100)]), /the prompt is 100 tokens; the model's context is 64/);
    // A fresh run refuses to overwrite an existing one.
    const before = readFileSync(join(run, 'model.safetensors'));
    bad(cli(['train', '--model', 'gpt', '--data', 'sotu', '--out', run]), /already holds a run/);
    expect(readFileSync(join(run, 'model.safetensors'))).toEqual(before);
    // Weights of a different configuration.
    const other = join(dir, 'other');
    expect(cli(['train', '--model', 'gpt', '--data', 'sotu', '--out', other, '--d-model', '32', '--layers', '1', '--heads', '2', '--context', '64', '--steps', '2', '--eval-every', '2', '--eval-tokens', '1024', '--quiet']).code).toBe(0);
    copyFileSync(join(other, 'model.safetensors'), join(run, 'model.safetensors'));
    bad(cli(['generate', '--model', run, '--prompt', 'The']), /manifest\.json: model\.safetensors: size is \d+ bytes/); // the manifest notices first
    await writeManifest(run); // and with a manifest that vouches for them, the shapes are still checked
    bad(cli(['generate', '--model', run, '--prompt', 'The']), /model\.safetensors: (missing parameter|parameter '.*' has shape)/);
  });
});
