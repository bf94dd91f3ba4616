/**
 * `train --init-from`: a GPT continues at its old loss, fine-tunes on new text with its tokenizer, grows its
 * context only when allowed; a tabular classifier keeps its hidden layers and gets a fresh head for new labels;
 * name maps, strictness and the lineage record in config.json / metrics.json.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT_PRESETS, type GptConfig } from '../../src/models/gpt.ts';
import { encodeSafetensors, loadSafetensors, type NamedTensor } from '../../src/runtime/safetensors.ts';
import { applyInitSource, type InitFromOptions, readInitSource } from '../../src/train/init-from.ts';
import { trainLm, type LmRunConfig } from '../../src/train/lm.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { sha256Bytes } from '../../src/util/fs.ts';
import { Rng } from '../../src/util/rng.ts';
import { MLP } from '../../src/nn/layers.ts';
import { expectClose, expectSwitchyardError } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-init-'));
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const weights = async (run: string) => (await loadSafetensors(join(run, 'model.safetensors'))).tensors;

/** Random text over a small word list (the second corpus uses fewer words: new text, same alphabet). */
function writeText(name: string, words: string[], seed: number): string {
  const rng = new Rng(seed);
  const file = join(root, name);
  writeFileSync(file, Array.from({ length: 2500 }, () => words[Math.floor(rng.next() * words.length)]).join(' '));
  return file;
}

const WORDS = 'the quick brown fox jumps over a lazy dog and runs far away from home'.split(' ');
const CFG: GptConfig = { ...GPT_PRESETS.tiny, dModel: 32, layers: 1, heads: 2, context: 16, mlpHidden: 64 };
const LM = { batchSize: 8, validFraction: 0.1, progress: { enabled: false }, threads: 1 } as const;

describe('train --model gpt --init-from', () => {
  let textA: string;
  let textB: string;
  let source: string;
  let sourceRecords: Awaited<ReturnType<typeof trainLm>>['records'];
  beforeAll(async () => {
    textA = writeText('a.txt', WORDS, 1);
    textB = writeText('b.txt', WORDS.slice(0, 5), 2);
    source = join(root, 'lm-source');
    const bpe = { tokenizer: 'bpe', vocabSize: 300 } as const;
    const schedule = { steps: 60, evalEvery: 30, warmup: 5, lr: 0.01 };
    const r = await trainLm({ ...LM, ...bpe, ...schedule, data: [textA], out: source, model: CFG });
    sourceRecords = r.records;
  }, 120_000);

  it('continues at the source run\'s loss (fresh optimizer), far below a fresh start; keeps lineage', async () => {
    const out = join(root, 'lm-continue');
    const tiny = { ...LM, data: [textA], model: CFG, evalEvery: 1, warmup: 0, lr: 1e-6, minLr: 1e-7 };
    const r = await trainLm({ ...tiny, out, initFrom: { path: source }, steps: 2 });
    const fresh = await trainLm({ ...tiny, out: join(root, 'lm-fresh'), tokenizer: 'bpe', vocabSize: 300, steps: 1 });
    const last = sourceRecords[sourceRecords.length - 1];
    expect(Math.abs(r.records[0].validLoss - last.validLoss)).toBeLessThan(0.01);
    expect(r.records[0].trainLoss).toBeLessThan(last.trainLoss * 1.25);
    expect(fresh.records[0].trainLoss).toBeGreaterThan(2 * r.records[0].trainLoss);
    const cfg = readJson(join(out, 'config.json')) as LmRunConfig;
    const src = readJson(join(source, 'config.json')) as LmRunConfig;
    expect(cfg.tokenizer).toEqual(src.tokenizer); // the source's BPE, not one retrained
    expect(cfg.initFrom).toMatchObject({ path: source, kind: 'run', layout: 'switchyard' });
    expect(cfg.initFrom).toMatchObject({ fresh: [], unused: [], reshaped: [] });
    expect(cfg.initFrom!.sha256).toBe(sha256Bytes(readFileSync(join(source, 'manifest.json'))));
    expect(cfg.initFrom!.loaded).toContain('blocks.0.attn.qkv.weight');
    expect(readJson(join(out, 'metrics.json')).init.loaded).toEqual(cfg.initFrom!.loaded);
    expect(r.init?.loaded.length).toBe(cfg.initFrom!.loaded.length);
  }, 120_000);

  it('fine-tunes on new text with the source\'s tokenizer, starting far below a fresh model', async () => {
    const opts = { ...LM, data: [textB], model: CFG, steps: 10, evalEvery: 5, warmup: 0, lr: 3e-3 };
    const r = await trainLm({ ...opts, out: join(root, 'lm-finetune'), initFrom: { path: source } });
    expect(r.records[0].trainLoss).toBeLessThan(3);
    expect(r.records[1].validLoss).toBeLessThan(r.records[0].validLoss + 0.05);
  }, 120_000);

  it('a longer context is refused strictly and grown with reshape (the position table\'s overlap copied)', async () => {
    const longer = { ...CFG, context: 24 };
    const opts = { ...LM, data: [textA], model: longer, steps: 1, evalEvery: 1, warmup: 0, lr: 1e-9 };
    const strict = () => trainLm({ ...opts, out: join(root, 'lm-long-strict'), initFrom: { path: source } });
    await expectSwitchyardError(strict, 'E_INIT_MISMATCH', /shape wpe\.weight \[16,32\] vs \[24,32\]/);
    const out = join(root, 'lm-long');
    const r = await trainLm({ ...opts, out, initFrom: { path: source, reshape: true } });
    expect(r.init?.reshaped).toEqual([{ name: 'wpe.weight', from: [16, 32], to: [24, 32] }]);
    const wpe = async (run: string) => (await weights(run)).get('wpe.weight')!.data as Float32Array;
    expectClose((await wpe(out)).subarray(0, 16 * 32), await wpe(source), 1e-4, 1e-6, 'copied rows');
  }, 120_000);

  it('a grown BPE vocabulary (same text, more merges) keeps the source\'s token rows with reshape', async () => {
    const out = join(root, 'lm-vocab');
    const bpe = { tokenizer: 'bpe', vocabSize: 330 } as const;
    const opts = { ...LM, ...bpe, data: [textA], model: CFG, steps: 1, evalEvery: 1, lr: 1e-9 };
    const r = await trainLm({ ...opts, out, initFrom: { path: source, reshape: true } });
    const cfg = readJson(join(out, 'config.json')) as LmRunConfig;
    const merges = (run: LmRunConfig) => (run.tokenizer as { merges: unknown[] }).merges;
    const sourceMerges = merges(readJson(join(source, 'config.json')));
    expect(merges(cfg).slice(0, sourceMerges.length)).toEqual(sourceMerges); // the same first 300 tokens
    const vocab = cfg.gpt.vocab;
    expect(vocab).toBeGreaterThan(300);
    expect(r.init?.reshaped).toEqual([
      { name: 'wte.weight', from: [300, 32], to: [vocab, 32] },
      { name: 'head.weight', from: [300, 32], to: [vocab, 32] },
    ]);
    const wte = async (run: string) => (await weights(run)).get('wte.weight')!.data as Float32Array;
    expectClose((await wte(out)).subarray(0, 300 * 32), await wte(source), 1e-4, 1e-6, 'token rows');
  }, 120_000);

  it('--resume and --init-from together are refused', async () => {
    const opts = { ...LM, data: [textA], out: source, model: CFG };
    const both = () => trainLm({ ...opts, resume: true, initFrom: { path: source } });
    await expectSwitchyardError(both, 'E_USAGE', /--init-from and --resume/);
  });
});

/** A CSV whose label follows x1 + x2 (and the colour), with the given label names. */
function writeCsv(name: string, labels: string[], seed: number): string {
  const rng = new Rng(seed);
  const rows = ['x1,x2,color,label'];
  for (let i = 0; i < 120; i++) {
    const x1 = rng.normal();
    const x2 = rng.normal();
    const color = ['red', 'green', 'blue'][i % 3];
    const score = x1 + x2 + (color === 'red' ? 1 : 0);
    const k = Math.min(labels.length - 1, Math.floor(((score + 3) / 6) * labels.length));
    rows.push(`${x1.toFixed(3)},${x2.toFixed(3)},${color},${labels[Math.max(0, k)]}`);
  }
  const file = join(root, name);
  writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

describe('train --init-from (tabular)', () => {
  const TAB = { target: 'label', progress: { enabled: false }, threads: 1, patience: 0 } as const;
  let source: string;
  let csvNew: string;
  beforeAll(async () => {
    source = join(root, 'tab-source');
    const data = writeCsv('old.csv', ['A', 'B'], 3);
    await trainTabular({ ...TAB, data, out: source, hidden: [8, 8], activation: 'gelu', epochs: 3 });
    csvNew = writeCsv('new.csv', ['X', 'Y', 'Z'], 4);
  }, 60_000);

  it('new labels: strict refuses the head\'s shape; partial loads the hidden layers, the head is fresh', async () => {
    const strictOut = join(root, 'tab-strict');
    const strict = () => trainTabular({ ...TAB, data: csvNew, out: strictOut, initFrom: { path: source } });
    const why = /: shape layers\.2\.weight \[2,8\] vs \[3,8\], layers\.2\.bias \[2\] vs \[3\]$/;
    await expectSwitchyardError(strict, 'E_INIT_MISMATCH', why);
    const out = join(root, 'tab-new-labels');
    const initFrom = { path: source, partial: true };
    const s = await trainTabular({ ...TAB, data: csvNew, out, initFrom, epochs: 1, lr: 1e-9 });
    expect(s.classes).toEqual(['X', 'Y', 'Z']);
    expect(s.init?.loaded).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(s.init?.fresh).toEqual(['layers.2.weight', 'layers.2.bias']);
    const cfg = readJson(join(out, 'config.json'));
    const src = readJson(join(source, 'config.json'));
    // hidden sizes and activation kept, a head for three classes
    expect(cfg.model).toEqual({ ...src.model, sizes: [...src.model.sizes.slice(0, -1), 3] });
    expect(cfg.encoder.features).toEqual(src.encoder.features); // the loaded layers see the source's features
    expect(cfg.initFrom.fresh).toEqual(s.init?.fresh);
    const layer0 = async (run: string) => (await weights(run)).get('layers.0.weight')!.data as Float32Array;
    expectClose(await layer0(out), await layer0(source), 1e-4, 1e-5, 'hidden layer');
  }, 60_000);

  it('a .safetensors file with a name map: renames, ignores; unused tensors are an error unless partial', async () => {
    const model = new MLP([3, 4, 2]).init(5);
    const tensors = new Map<string, NamedTensor>();
    for (const [n, t] of model.stateDict()) tensors.set(`net.${n}`, { dtype: 'F32', ...t });
    tensors.set('extra.scale', { dtype: 'F32', shape: [1], data: Float32Array.of(2) });
    const file = join(root, 'weights.safetensors');
    writeFileSync(file, encodeSafetensors(tensors));
    const fresh = () => new MLP([3, 4, 2]).init(9);
    const rename: [string, string][] = [['^net\\.', '']];
    const load = async (o: Omit<InitFromOptions, 'path'>) =>
      applyInitSource(fresh(), await readInitSource({ path: file, ...o }));
    const both = /missing layers\.0\.weight.*; unused net\.layers\.0\.weight/;
    await expectSwitchyardError(() => load({}), 'E_INIT_MISMATCH', both);
    await expectSwitchyardError(() => load({ map: { rename } }), 'E_INIT_MISMATCH', /unused extra\.scale$/);
    const target = fresh();
    const r = applyInitSource(target, await readInitSource({ path: file, map: { rename, ignore: ['^extra\\.'] } }));
    expect(r).toMatchObject({ kind: 'safetensors', unused: [], ignored: ['extra.scale'] });
    expect(r.loaded).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(r.sha256).toBe(sha256Bytes(readFileSync(file)));
    expect(target.stateDict().get('layers.1.weight')!.data).toEqual(model.stateDict().get('layers.1.weight')!.data);
    expect((await load({ map: { rename }, partial: true })).unused).toEqual(['extra.scale']);
    await expectSwitchyardError(() => load({ map: { rename: [['(', '']] } }), 'E_INIT_MAP', /not a regular expression/);
  });

  it('a run of the wrong kind, or an unverifiable one, is refused', async () => {
    await expectSwitchyardError(() => readInitSource({ path: source }, ['gpt']), 'E_CONFIG', /needs gpt/);
    const tampered = join(root, 'tab-strict-copy');
    await trainTabular({ ...TAB, data: csvNew, out: tampered, epochs: 1 });
    const f = join(tampered, 'model.safetensors');
    const bytes = readFileSync(f);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(f, bytes);
    await expectSwitchyardError(() => readInitSource({ path: tampered }), 'E_MANIFEST');
  }, 60_000);
});
