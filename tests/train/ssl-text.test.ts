/**
 * Self-supervised pretraining on text, then fine-tuning with few labels: BERT-style masking, the bidirectional
 * encoder trained by masked-token prediction through the language-model loop, a classifier head fine-tuned from an
 * encoder run and from a GPT run (`--init-from`), the stratified labelled subset, and predict/export of the result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { stratifiedSubset } from '../../src/data/split.ts';
import { maskTokens } from '../../src/data/text/masking.ts';
import { readSpamAssassin } from '../../src/data/text/spam-assassin.ts';
import { GPT, GPT_PRESETS, type GptConfig } from '../../src/models/gpt.ts';
import { TextClassifier } from '../../src/models/text-classifier.ts';
import { Forward } from '../../src/train/forward.ts';
import { trainLm } from '../../src/train/lm.ts';
import { trainTextClassifier } from '../../src/train/text-classifier.ts';
import { loadSafetensors } from '../../src/runtime/safetensors.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';

const TINY: GptConfig = { ...GPT_PRESETS.tiny, dModel: 32, layers: 1, heads: 2, mlpHidden: 64, context: 32 };
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const quiet = { progress: { enabled: false }, threads: 1 };

describe('maskTokens (BERT 80/10/10)', () => {
  const ids = BigInt64Array.from({ length: 100_000 }, (_, i) => BigInt(i % 200));
  const opts = { rate: 0.15, maskId: 256, randomVocab: 256 };

  it('chooses 15% of positions; of those 80% become the mask, 10% a random token, 10% stay', () => {
    const { x, w } = maskTokens(ids, opts, new Rng(3));
    let chosen = 0;
    let masked = 0;
    let kept = 0;
    for (let i = 0; i < ids.length; i++) {
      if (w[i] === 0) {
        expect(x[i]).toBe(ids[i]); // unchosen positions are never touched
        continue;
      }
      chosen++;
      if (x[i] === 256n) masked++;
      else if (x[i] === ids[i]) kept++;
    }
    expect(chosen / ids.length).toBeCloseTo(0.15, 2);
    expect(masked / chosen).toBeCloseTo(0.8, 1.7);
    // random replacements equal the original 1 time in 256; they count as kept here
    expect(kept / chosen).toBeCloseTo(0.1 + 0.1 / 256, 1.7);
    expect((chosen - masked - kept) / chosen).toBeCloseTo(0.1 - 0.1 / 256, 1.7);
  });

  it('is seeded: the same seed gives the same masks, another seed others', () => {
    const a = maskTokens(ids, opts, new Rng(5));
    const b = maskTokens(ids, opts, new Rng(5));
    const c = maskTokens(ids, opts, new Rng(6));
    expect(b.x).toEqual(a.x);
    expect(b.w).toEqual(a.w);
    expect(c.w).not.toEqual(a.w);
  });

  it('rejects a rate outside (0, 1)', () => {
    expect(() => maskTokens(ids, { ...opts, rate: 1 }, new Rng(0))).toThrow(/mask rate/);
  });
});

describe('bidirectional attention (causal: false)', () => {
  it('lets the first position see later tokens, which a GPT never does', async () => {
    const logitsAt0 = async (cfg: GptConfig, last: number) => {
      const m = new GPT(cfg).init(1);
      const fwd = await Forward.compile(m, (mm, b) => ({ y: (mm as GPT).forward(b.x) }), { x: { dtype: 'i64', shape: [1, 8] } }, { threads: 1 });
      const data = BigInt64Array.from([1, 2, 3, 4, 5, 6, 7, last], BigInt);
      const out = (await fwd.run({ x: { dtype: 'i64', shape: [1, 8], data } })).y.data as Float32Array;
      await fwd.release();
      return Array.from(out.subarray(0, cfg.vocab));
    };
    expect(await logitsAt0(TINY, 9)).toEqual(await logitsAt0(TINY, 99));
    const enc = { ...TINY, causal: false };
    expect(await logitsAt0(enc, 9)).not.toEqual(await logitsAt0(enc, 99));
  });
});

describe('masked-token pretraining, then a classifier fine-tuned with few labels', () => {
  const dir = tmp();
  const spam = readSpamAssassin(['easy-ham-1', 'spam-2']);
  const order = new Rng(2).shuffle(Array.from(spam.texts.keys())) as number[];
  const pick = (from: number, to: number) => ({ texts: order.slice(from, to).map((i) => spam.texts[i]), labels: order.slice(from, to).map((i) => spam.labels[i]) });
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, pick(0, 300).texts.join('\n\n'));
  const encoder = join(dir, 'encoder');
  const gpt = join(dir, 'gpt');

  it('an encoder run of a few steps lowers the masked-token loss and records its masking', async () => {
    const r = await trainLm({ data: [corpus], out: encoder, model: TINY, objective: 'masked', steps: 30, evalEvery: 10, warmup: 3, lr: 3e-3, batchSize: 8, evalTokens: 2048, ...quiet });
    const cfg = readJson(join(encoder, 'config.json'));
    expect(cfg.kind).toBe('encoder');
    expect(cfg.gpt).toMatchObject({ causal: false, vocab: 257 });
    expect(cfg.masking).toEqual({ rate: 0.15, maskId: 256, randomVocab: 256 });
    const [first, last] = [r.records[0], r.records[r.records.length - 1]];
    expect(first.validLoss).toBeLessThan(Math.log(257)); // already learning at step 10
    expect(last.validLoss).toBeLessThan(first.validLoss - 0.3);
  });

  it('fine-tunes from the encoder: the body loads by name, the new head trains, the labelled share is recorded', async () => {
    const out = join(dir, 'cls');
    const r = await trainTextClassifier({ data: pick(300, 500), valid: pick(500, 600), out, initFrom: { path: encoder }, labelsFraction: 0.5, steps: 12, lr: 1e-3, ...quiet });
    expect(r.init!.loaded).toContain('wte.weight');
    expect(r.init!.loaded).toContain('blocks.0.attn.qkv.weight');
    expect(r.init!.loaded.length).toBe(readSafetensorNames(join(encoder, 'model.safetensors')).length - 1); // all but head
    expect(r.init!.fresh).toEqual(['classifier.weight', 'classifier.bias']);
    expect(r.init!.ignored).toEqual(['head.weight']);
    const cfg = readJson(join(out, 'config.json'));
    expect(cfg).toMatchObject({ kind: 'text-classifier', classes: ['ham', 'spam'], padId: 256, pooling: 'mean' });
    expect(cfg.train).toMatchObject({ labelsFraction: 0.5, rows: { train: 200, labelled: 100, valid: 100 } });
    expect(cfg.initFrom.loaded).toEqual(r.init!.loaded);
    // the head moved away from its fresh initialisation (the same seed gives the same fresh values)
    const trained = (await loadSafetensors(join(out, 'model.safetensors'))).tensors.get('classifier.weight')!.data as Float32Array;
    const untrained = new TextClassifier(cfg.gpt, 2).init(0).classifier.weight.data;
    expect(maxAbsDiff(trained, untrained)).toBeGreaterThan(1e-3);
    expect(r.valid.rows).toBe(100);
  });

  it('fine-tunes from a GPT (next-token) run as the body too', async () => {
    await trainLm({ data: [corpus], out: gpt, model: TINY, steps: 5, evalEvery: 5, warmup: 1, batchSize: 8, evalTokens: 1024, ...quiet });
    const r = await trainTextClassifier({ data: pick(300, 400), out: join(dir, 'cls-gpt'), initFrom: { path: gpt }, steps: 4, validFraction: 0.25, ...quiet });
    expect(r.init!.loaded).toContain('blocks.0.attn.qkv.weight');
    expect(r.init!.fresh).toEqual(['classifier.weight', 'classifier.bias']);
    expect(readJson(join(dir, 'cls-gpt', 'config.json'))).toMatchObject({ padId: 0, gpt: { vocab: 256 } });
  });

  it('predict, export and eval work on the fine-tuned classifier, and agree with each other', async () => {
    const run = join(dir, 'cls');
    const test = pick(600, 640);
    const file = join(dir, 'test.jsonl');
    writeFileSync(file, test.texts.map((text, i) => JSON.stringify({ text, label: test.labels[i] })).join('\n') + '\n');
    const p = cli(['predict', '--model', run, '--data', file, '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json.predictions).toHaveLength(40);
    expect(new Set(p.json.predictions).size).toBeGreaterThan(0);
    for (const l of p.json.predictions) expect(['ham', 'spam']).toContain(l);
    const onnxFile = join(dir, 'cls.onnx');
    const e = cli(['export', '--model', run, '--out', onnxFile, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.json.inputs).toEqual(['ids', 'keep']);
    const session = await ort.InferenceSession.create(onnxFile);
    const meta = readJson(join(run, 'config.json'));
    const { encodeTexts } = await import('../../src/train/text-classifier.ts');
    const { tokenizerFromJSON } = await import('../../src/data/text/tokenizer.ts');
    const enc = encodeTexts(test.texts.slice(0, 3), tokenizerFromJSON(meta.tokenizer), meta.context, meta.padId);
    const out = await session.run({ ids: new ort.Tensor('int64', enc.ids, [3, meta.context]), keep: new ort.Tensor('float32', enc.keep, [3, meta.context]) });
    const probs = out.probabilities.data as Float32Array;
    const labels = [0, 1, 2].map((i) => meta.classes[probs[2 * i] >= probs[2 * i + 1] ? 0 : 1]);
    expect(labels).toEqual(p.json.predictions.slice(0, 3));
    // eval judges it like any classifier: the same accuracy as predict, with an interval
    const ev = cli(['eval', '--model', run, '--data', file, '--resamples', '200', '--threads', '1', '--json', '--quiet']);
    expect(ev.code, ev.stderr).toBe(0);
    const right = p.json.predictions.filter((l: string, i: number) => l === test.labels[i]).length / 40;
    expect(ev.json.scores.overall.accuracy.estimate).toBeCloseTo(right, 6);
    expect(ev.json.scores.overall.accuracy.low).toBeLessThanOrEqual(right);
  });

  it('the CLI trains an encoder and a classifier, and rejects bad flags with exit 2', () => {
    const enc = join(dir, 'cli-enc');
    const r = cli(['train', '--model', 'encoder', '--data', corpus, '--out', enc, '--d-model', '32', '--layers', '1', '--heads', '2', '--context', '32', '--mlp-hidden', '64', '--steps', '4', '--eval-every', '4', '--batch-size', '4', '--eval-tokens', '512', '--threads', '1', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(join(enc, 'config.json')).kind).toBe('encoder');
    const data = join(dir, 'train.jsonl');
    const rows = pick(300, 360);
    writeFileSync(data, rows.texts.map((text, i) => JSON.stringify({ body: text, y: rows.labels[i] })).join('\n') + '\n');
    const base = ['train', '--model', 'text-classifier', '--data', data, '--text-column', 'body', '--target', 'y', '--threads', '1', '--quiet'];
    const c = cli([...base, '--out', join(dir, 'cli-cls'), '--init-from', enc, '--labels-fraction', '0.5', '--steps', '3', '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.rows.labelled).toBe(24);
    expectBadInput(cli([...base, '--out', join(dir, 'x1'), '--labels-fraction', '0']), /--labels-fraction/);
    expectBadInput(cli([...base, '--out', join(dir, 'x2'), '--labels-fraction', '1.5']), /--labels-fraction/);
    expectBadInput(cli([...base, '--out', join(dir, 'x3'), '--pooling', 'max']), /--pooling max/);
    expectBadInput(cli([...base, '--out', join(dir, 'x4'), '--text-column', 'nope']), /no column 'nope' \(--text-column\)/);
    expectBadInput(cli([...base, '--out', join(dir, 'x5'), '--init-from', enc, '--preset', 'small']), /--preset and --init-from/);
    expectBadInput(cli(['train', '--model', 'encoder', '--data', corpus, '--out', join(dir, 'x6'), '--mask-rate', '1']), /--mask-rate/);
    expectBadInput(cli(['train', '--model', 'gpt', '--data', corpus, '--out', join(dir, 'x7'), '--mask-rate', '0.2']), /--mask-rate is for --model encoder/);
    expectBadInput(cli(['train', '--model', 'bert', '--data', corpus, '--out', join(dir, 'x8')]), /--model bert/);
  });
});

describe('stratifiedSubset (the labelled share)', () => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => (i % 10 < 7 ? 0 : 1)); // 700 / 300
  it('keeps each class in proportion, is repeatable with the seed, and keeps every class at tiny shares', () => {
    const a = stratifiedSubset(labels, 0.1, new Rng(4));
    expect(a.length).toBe(100);
    expect([...a].filter((i) => labels[i] === 1).length).toBe(30);
    expect(stratifiedSubset(labels, 0.1, new Rng(4))).toEqual(a);
    expect(stratifiedSubset(labels, 0.1, new Rng(5))).not.toEqual(a);
    const tiny = stratifiedSubset(labels, 0.001, new Rng(4));
    expect([...tiny].map((i) => labels[i]).sort()).toEqual([0, 1]);
    expect(stratifiedSubset(labels, 1, new Rng(4)).length).toBe(1000);
    expect(() => stratifiedSubset(labels, 0, new Rng(4))).toThrow(/labelled fraction/);
  });
});

function readSafetensorNames(file: string): string[] {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return Object.keys(JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))).filter((k) => k !== '__metadata__');
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
