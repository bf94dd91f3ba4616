import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { loadModel } from '../../src/serve/model-runner.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { generate } from '../../src/train/generate.ts';
import { expectSwitchyardError } from './helpers.ts';

const CFG: GptConfig = { vocab: 256, dModel: 16, layers: 2, heads: 2, context: 16, mlpHidden: 32, activation: 'gelu', norm: 'layernorm', position: 'rotary', tieWeights: false, dropout: 0, moe: { experts: 4, topK: 2, hidden: 16, layers: 'alternate' } };
const dir = mkdtempSync(join(tmpdir(), 'sy-gen-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a served LM version generates from one loaded session: concurrent requests queue, other work runs between steps, close waits', async () => {
  await writeRun(dir, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: CFG, tokenizer: new ByteTokenizer().toJSON() }, new GPT(CFG).init(4));
  const m = await loadModel(dir, { name: 'lm', version: 1, threads: 1 });
  await m.warm();
  const reqs = [
    { prompt: 'alpha', maxTokens: 40, temperature: 0.9, seed: 1 },
    { prompt: 'beta', maxTokens: 12, temperature: 0 },
    { prompt: 'gamma', maxTokens: 20, temperature: 1.3, topP: 0.8, seed: 3 },
  ];
  const expected = await Promise.all(reqs.map(async (r) => (await generate(dir, r.prompt, r)).text));
  const streamed = ['', '', ''];
  const running = reqs.map((r, i) => m.generate(r, (s) => (streamed[i] += s)));
  // the event loop is free while the first generation runs (each decode step is one awaited ORT call)
  await new Promise((r) => setImmediate(r));
  expect(streamed[0].length).toBeLessThan(40);
  const got = await Promise.all(running);
  expect(got.map((g) => g.text)).toEqual(expected);
  expect(streamed).toEqual(expected);
  expect(got.map((g) => g.tokens)).toEqual([40, 12, 20]);
  // a switch closes the version: queued work finishes first, later calls are refused
  const last = m.generate(reqs[1]);
  await m.close();
  expect((await last).text).toBe(expected[1]);
  await expectSwitchyardError(() => m.generate(reqs[1]), 'E_MODEL_CLOSED');
});
