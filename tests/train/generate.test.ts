import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { generate, loadLm, type LmSession } from '../../src/train/generate.ts';
import { expectClose, expectSwitchyardError } from './helpers.ts';

const BASE: GptConfig = { vocab: 256, dModel: 16, layers: 2, heads: 2, context: 12, mlpHidden: 32, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 };
const CONFIGS: Record<string, GptConfig> = {
  dense: BASE,
  moe: { ...BASE, position: 'rotary', norm: 'rmsnorm', tieWeights: true, moe: { experts: 4, topK: 2, hidden: 16, layers: 'alternate' } },
};

const dirs: string[] = [];
const sessions: LmSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function runDir(cfg: GptConfig, seed: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-gen-'));
  dirs.push(dir);
  await writeRun(dir, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: cfg, tokenizer: new ByteTokenizer().toJSON() }, new GPT(cfg).init(seed));
  return dir;
}

async function open(dir: string, batchedPrefill = true): Promise<LmSession> {
  const lm = await loadLm(dir, { threads: 1, batchedPrefill });
  sessions.push(lm);
  return lm;
}

describe.each(Object.keys(CONFIGS))('%s model', (name) => {
  it('batched prefill (one decode call over the prompt) gives the logits and KV caches of token-by-token decoding, at every prompt length', async () => {
    const cfg = CONFIGS[name];
    const lm = await open(await runDir(cfg, 3));
    expect(lm.batchedPrefill).toBe(true);
    const ids = Array.from({ length: cfg.context }, (_, i) => (i * 37 + 11) % cfg.vocab);
    // 1 and 8 fill the 8-bucket exactly, 5 is padded, 9 and 12 use the context-sized graph (12 = a full cache)
    for (const n of [1, 5, 8, 9, 12]) {
      const batched = await lm.prefill(ids.slice(0, n), true);
      const stepwise = await lm.prefill(ids.slice(0, n), false);
      expect(batched.pos).toBe(n);
      expect(stepwise.pos).toBe(n);
      expect(batched.logits).toHaveLength(cfg.vocab);
      expectClose(batched.logits, stepwise.logits, 1e-4, 1e-5, `${name} logits after ${n}`);
      expectClose(batched.cacheK, stepwise.cacheK, 1e-4, 1e-5, `${name} keys after ${n}`);
      expectClose(batched.cacheV, stepwise.cacheV, 1e-4, 1e-5, `${name} values after ${n}`);
      // decoding on from either state agrees too
      if (n < cfg.context) expectClose((await lm.step(batched, 42)).logits, (await lm.step(stepwise, 42)).logits, 1e-4, 1e-5, `${name} step after ${n}`);
    }
  });

  it('sampled text is the same with batched and token-by-token prefill (greedy, top-k/top-p, window slides)', async () => {
    const cfg = CONFIGS[name];
    const dir = await runDir(cfg, 7);
    const fast = await open(dir, true);
    const slow = await open(dir, false);
    const cases = [
      { prompt: 'Hey', o: { maxTokens: 6, temperature: 0 } },
      { prompt: 'abc def', o: { maxTokens: 30, temperature: 1.2, topK: 20, topP: 0.9, seed: 5 } }, // slides twice (context 12)
      { prompt: '', o: { maxTokens: 10, temperature: 0.8, seed: 1 } },
    ];
    for (const { prompt, o } of cases) {
      const a = await fast.generate(prompt, o);
      const b = await slow.generate(prompt, o);
      expect(a.tokens, `${name} '${prompt}'`).toEqual(b.tokens);
      expect(a.text).toBe(b.text);
      expect(a.windowSlides).toBe(b.windowSlides);
    }
    expect((await fast.generate('abc def', cases[1].o)).windowSlides).toBeGreaterThanOrEqual(2);
    // the one-shot wrapper is the same code path
    const once = await generate(dir, 'abc def', cases[1].o);
    expect(once.tokens).toEqual((await fast.generate('abc def', cases[1].o)).tokens);
  });
});

describe('LmSession', () => {
  it('queues concurrent generations (same results as one at a time), streams pieces, refuses work after close', async () => {
    const dir = await runDir(BASE, 11);
    const lm = await loadLm(dir, { threads: 1 });
    const o = (seed: number) => ({ maxTokens: 15, temperature: 1, seed });
    const alone = [await lm.generate('one', o(1)), await lm.generate('two', o(2)), await lm.generate('three', o(3))];
    const pieces: string[] = [];
    const ids: number[] = [];
    const together = await Promise.all([
      lm.generate('one', o(1), (id, text) => {
        ids.push(id);
        pieces.push(text);
      }),
      lm.generate('two', o(2)),
      lm.generate('three', o(3)),
    ]);
    expect(together.map((r) => r.tokens)).toEqual(alone.map((r) => r.tokens));
    expect(ids).toEqual(alone[0].tokens);
    expect(alone[0].text.startsWith(pieces.join(''))).toBe(true);
    expect(pieces.join('').length).toBeGreaterThan(0);
    expect(together[0].firstTokenMs).toBeGreaterThan(0);
    // a bad prompt fails its own call only
    await expectSwitchyardError(() => lm.generate('x'.repeat(BASE.context), o(1)), 'E_PROMPT', /the prompt is 12 tokens; the model's context is 12/);
    expect((await lm.generate('one', o(1))).tokens).toEqual(alone[0].tokens);
    const closing = lm.close();
    await expectSwitchyardError(() => lm.generate('one', o(1)), 'E_MODEL_CLOSED');
    await closing;
  });

  it('capacity-dispatch MoE (token dropping depends on the batch) prefills token by token', async () => {
    const dir = await runDir({ ...BASE, moe: { experts: 4, topK: 2, hidden: 16, dispatch: 'capacity', capacityFactor: 1 } }, 2);
    const lm = await open(dir);
    expect(lm.batchedPrefill).toBe(false);
    expect((await lm.generate('Hey', { maxTokens: 4, temperature: 0 })).tokens).toHaveLength(4);
  });
});
