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
import { encodeSafetensors, loadSafetensors } from '../../src/runtime/safetensors.ts';
import { applyInitSource, readInitSource } from '../../src/train/init-from.ts';
import { trainLm, type LmRunConfig } from '../../src/train/lm.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { sha256Bytes } from '../../src/util/fs.ts';
import { Rng } from '../../src/util/rng.ts';
import { MLP } from '../../src/nn/layers.ts';
import { expectClose, expectSwitchyardError } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'sy-init-'));
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

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
    ({ records: sourceRecords } = await trainLm({ ...LM, data: [textA], out: source, model: CFG, tokenizer: 'bpe', vocabSize: 300, steps: 60, evalEvery: 30, warmup: 5, lr: 0.01 }));
  }, 120_000);

  it('continues at the source run\'s loss (fresh optimizer), far below a fresh start; records its lineage', async () => {
    const out = join(root, 'lm-continue');
    const r = await trainLm({ ...LM, data: [textA], out, model: CFG, initFrom: { path: source }, steps: 2, evalEvery: 1, warmup: 0, lr: 1e-6, minLr: 1e-7 });
    const fresh = await trainLm({ ...LM, data: [textA], out: join(root, 'lm-fresh'), model: CFG, tokenizer: 'bpe', vocabSize: 300, steps: 1, evalEvery: 1, warmup: 0, lr: 1e-6, minLr: 1e-7 });
    const last = sourceRecords[sourceRecords.length - 1];
    expect(Math.abs(r.records[0].validLoss - last.validLoss)).toBeLessThan(0.01);
    expect(r.records[0].trainLoss).toBeLessThan(last.trainLoss * 1.25);
    expect(fresh.records[0].trainLoss).toBeGreaterThan(2 * r.records[0].trainLoss);
    const cfg = readJson(join(out, 'config.json')) as LmRunConfig;
    const src = readJson(join(source, 'config.json')) as LmRunConfig;
    expect(cfg.tokenizer).toEqual(src.tokenizer); // the source's BPE, not one retrained
    expect(cfg.initFrom).toMatchObject({ path: source, kind: 'run', layout: 'switchyard', fresh: [], unused: [], reshaped: [] });
    expect(cfg.initFrom!.sha256).toBe(sha256Bytes(readFileSync(join(source, 'manifest.json'))));
    expect(cfg.initFrom!.loaded).toContain('blocks.0.attn.qkv.weight');
    expect(readJson(join(out, 'metrics.json')).init.loaded).toEqual(cfg.initFrom!.loaded);
    expect(r.init?.loaded.length).toBe(cfg.initFrom!.loaded.length);
  }, 120_000);

  it('fine-tunes on new text with the source\'s tokenizer, starting far below a fresh model', async () => {
    const r = await trainLm({ ...LM, data: [textB], out: join(root, 'lm-finetune'), model: CFG, initFrom: { path: source }, steps: 10, evalEvery: 5, warmup: 0, lr: 3e-3 });
    expect(r.records[0].trainLoss).toBeLessThan(3);
    expect(r.records[1].validLoss).toBeLessThan(r.records[0].validLoss + 0.05);
  }, 120_000);

  it('a longer context is refused strictly and grown with reshape (the position table\'s overlap copied)', async () => {
    const longer = { ...CFG, context: 24 };
    const opts = { ...LM, data: [textA], model: longer, steps: 1, evalEvery: 1, warmup: 0, lr: 1e-9 };
    await expectSwitchyardError(() => trainLm({ ...opts, out: join(root, 'lm-long-strict'), initFrom: { path: source } }), 'E_INIT_MISMATCH', /shape wpe\.weight \[16,32\] vs \[24,32\]/);
    const out = join(root, 'lm-long');
    const r = await trainLm({ ...opts, out, initFrom: { path: source, reshape: true } });
    expect(r.init?.reshaped).toEqual([{ name: 'wpe.weight', from: [16, 32], to: [24, 32] }]);
    const before = (await loadSafetensors(join(source, 'model.safetensors'))).tensors.get('wpe.weight')!.data as Float32Array;
    const after = (await loadSafetensors(join(out, 'model.safetensors'))).tensors.get('wpe.weight')!.data as Float32Array;
    expectClose(after.subarray(0, 16 * 32), before, 1e-4, 1e-6, 'copied rows');
  }, 120_000);

  it('--resume and --init-from together are refused', async () => {
    await expectSwitchyardError(() => trainLm({ ...LM, data: [textA], out: source, model: CFG, resume: true, initFrom: { path: source } }), 'E_USAGE', /--init-from and --resume/);
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
    await trainTabular({ ...TAB, data: writeCsv('old.csv', ['A', 'B'], 3), out: source, hidden: [8, 8], activation: 'gelu', epochs: 3 });
    csvNew = writeCsv('new.csv', ['X', 'Y', 'Z'], 4);
  }, 60_000);

  it('new labels: strict refuses the head\'s shape; partial loads the hidden layers and leaves the head fresh', async () => {
    await expectSwitchyardError(() => trainTabular({ ...TAB, data: csvNew, out: join(root, 'tab-strict'), initFrom: { path: source }, epochs: 1 }), 'E_INIT_MISMATCH', /: shape layers\.2\.weight \[2,8\] vs \[3,8\], layers\.2\.bias \[2\] vs \[3\]$/);
    const out = join(root, 'tab-new-labels');
    const s = await trainTabular({ ...TAB, data: csvNew, out, initFrom: { path: source, partial: true }, epochs: 1, lr: 1e-9 });
    expect(s.classes).toEqual(['X', 'Y', 'Z']);
    expect(s.init?.loaded).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(s.init?.fresh).toEqual(['layers.2.weight', 'layers.2.bias']);
    const cfg = readJson(join(out, 'config.json'));
    const src = readJson(join(source, 'config.json'));
    expect(cfg.model).toEqual({ ...src.model, sizes: [...src.model.sizes.slice(0, -1), 3] }); // hidden sizes and activation kept
    expect(cfg.encoder.features).toEqual(src.encoder.features); // the loaded layers see the source's features
    expect(cfg.initFrom.fresh).toEqual(s.init?.fresh);
    const before = (await loadSafetensors(join(source, 'model.safetensors'))).tensors;
    const after = (await loadSafetensors(join(out, 'model.safetensors'))).tensors;
    expectClose(after.get('layers.0.weight')!.data as Float32Array, before.get('layers.0.weight')!.data as Float32Array, 1e-4, 1e-5, 'hidden layer');
  }, 60_000);

  it('a .safetensors file with a name map: renames, ignores; unused tensors are an error unless partial', async () => {
    const model = new MLP([3, 4, 2]).init(5);
    const tensors = new Map([...model.stateDict()].map(([n, t]) => [`net.${n}`, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
    tensors.set('extra.scale', { dtype: 'F32', shape: [1], data: Float32Array.of(2) });
    const file = join(root, 'weights.safetensors');
    writeFileSync(file, encodeSafetensors(tensors));
    const fresh = () => new MLP([3, 4, 2]).init(9);
    const rename: [string, string][] = [['^net\\.', '']];
    await expectSwitchyardError(async () => applyInitSource(fresh(), await readInitSource({ path: file })), 'E_INIT_MISMATCH', /missing layers\.0\.weight.*; unused net\.layers\.0\.weight/);
    await expectSwitchyardError(async () => applyInitSource(fresh(), await readInitSource({ path: file, map: { rename } })), 'E_INIT_MISMATCH', /unused extra\.scale$/);
    const target = fresh();
    const r = applyInitSource(target, await readInitSource({ path: file, map: { rename, ignore: ['^extra\\.'] } }));
    expect(r).toMatchObject({ kind: 'safetensors', loaded: ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias'], unused: [], ignored: ['extra.scale'] });
    expect(r.sha256).toBe(sha256Bytes(readFileSync(file)));
    expect(target.stateDict().get('layers.1.weight')!.data).toEqual(model.stateDict().get('layers.1.weight')!.data);
    const partial = applyInitSource(fresh(), await readInitSource({ path: file, map: { rename }, partial: true }));
    expect(partial.unused).toEqual(['extra.scale']);
    await expectSwitchyardError(() => readInitSource({ path: file, map: { rename: [['(', '']] } }), 'E_INIT_MAP', /not a regular expression/);
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
