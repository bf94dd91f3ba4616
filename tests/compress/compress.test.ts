import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../../src/compress/compress.ts';
import { runEval } from '../../src/eval/run.ts';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { readTable } from '../../src/data/readers/index.ts';
import { loadOnnxClassifier } from '../../src/eval/onnx-model.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { decodeModel } from '../../src/runtime/onnx/proto.ts';
import { loadModel } from '../../src/serve/model-runner.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { decodeGraph, exportLm, LmSession, loadLm } from '../../src/train/generate.ts';
import type { Tensor } from '../../src/core/graph.ts';
import type { Module } from '../../src/nn/module.ts';
import { MLP } from '../../src/nn/layers.ts';
import { exportOnnx } from '../../src/train/forward.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

const dir = tmp('sy-compress-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GPT_CFG: GptConfig = { vocab: 256, dModel: 64, layers: 2, heads: 2, context: 16, mlpHidden: 128, activation: 'gelu', norm: 'rmsnorm', position: 'rotary', tieWeights: true, dropout: 0, moe: { experts: 4, topK: 2, hidden: 64, layers: 'alternate' } };

let lmRuns = 0;
/** A random-init MoE GPT run directory (the check compares two versions of the same weights, trained or not). */
async function lmRun(): Promise<string> {
  const d = join(dir, `lm-${lmRuns++}`);
  mkdirSync(d);
  await writeRun(d, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: GPT_CFG, tokenizer: new ByteTokenizer().toJSON() }, new GPT(GPT_CFG).init(3));
  return d;
}

describe('switchyard compress on a trained classifier (the demo on real penguins data)', () => {
  const demo = join(dir, 'demo');
  const out = join(dir, 'penguins.int8.onnx');
  // Every test here reads the demo's run, so it is made before them (no test depends on another's leftovers).
  beforeAll(() => {
    const r = cli(['demo', '--out', demo, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('writes an int8 model about as accurate as the float32 one, that eval and serve load like any export', async () => {
    const r = cli(['compress', '--model', join(demo, 'run'), '--out', out, '--data', join(demo, 'data/test.csv'), '--min-elements', '256', '--min-agreement', '0.95', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json;
    expect(j.ok).toBe(true);
    expect(j.bytesAfter).toBe(statSync(out).size);
    expect(j.bytesAfter).toBeLessThan(j.bytesBefore);
    expect(j.quantization.quantized.map((q: { use: string }) => q.use)).toEqual(['matmul', 'matmul']);
    const rows = (await readTable(join(demo, 'data/test.csv'))).rows.length;
    expect(j.check).toMatchObject({ inputs: 'data', count: rows });
    expect(j.check.agreement).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(j.check.accuracy.quantized - j.check.accuracy.float32)).toBeLessThanOrEqual(0.05);
    expect(j.check.outputs.probabilities.maxAbsDiff).toBeGreaterThan(0);

    const meta = decodeModel(readFileSync(out)).metadata!;
    expect(meta['switchyard.encoder']).toBeTruthy();
    const record = JSON.parse(meta['switchyard.quantization']);
    expect(record).toMatchObject({ mode: 'dynamic', tensors: 2, matmulWeightBits: 7, needsVnni: false });
    expect(j.quantization).toMatchObject({ matmulWeightBits: 7, needsVnni: false });
    const ev = await loadOnnxClassifier(out);
    const table = await readTable(join(demo, 'data/test.csv'));
    const d = ev.encode(table);
    const p = await ev.predict(d.x, d.rows);
    expect(p.probabilities).toHaveLength(d.rows * 3);
    await ev.release();
    const served = await loadModel(out, { name: 'penguins', version: 'int8' });
    const one = Object.fromEntries(table.columns.filter((c) => c !== 'Species').map((c) => {
      const v = table.rows[0][table.columns.indexOf(c)];
      return [c, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v];
    }));
    const res = await served.predict({ rows: [one] });
    expect(res.predictions).toHaveLength(1);
    await served.close();

    // the human summary
    const h = cli(['compress', '--model', join(demo, 'model.onnx'), '--out', join(dir, 'h.onnx'), '--data', join(demo, 'data/test.csv'), '--min-elements', '256', '--mode', 'weights']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/wrote .*h\.onnx: [\d.]+ KiB -> [\d.]+ KiB \([\d.]+x smaller\), 2 weights int8 \(weights\)/);
    expect(h.stdout).toMatch(/check on \d+ rows of data:\n  probabilities: max \|diff\| /);
    expect(h.stdout).toMatch(/label agreement [\d.]+%\n  accuracy float32 [\d.]+, int8 [\d.]+/);
  }, 120_000);

  it('bad input: exit 2 with one line naming the problem, nothing written', () => {
    const target = join(dir, 'never.onnx');
    expectBadInput(cli(['compress', '--model', join(dir, 'nope'), '--out', target]), /nope: no such file or directory \(--model\)/);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a protobuf at all');
    expectBadInput(cli(['compress', '--model', junk, '--out', target]), /junk\.onnx: not a readable ONNX model/);
    expectBadInput(cli(['compress', '--model', join(demo, 'model.onnx'), '--out', join(demo, 'model.onnx')]), /--out .* is the same file as --model/);
    expectBadInput(cli(['compress', '--model', join(demo, 'model.onnx'), '--out', target, '--mode', 'int4']), /--mode int4 is not dynamic or weights/);
    expectBadInput(cli(['compress', '--model', join(demo, 'model.onnx'), '--out', target, '--data', join(dir, 'missing.csv')]), /missing\.csv: no such file or folder \(--data\)/);
    expectBadInput(cli(['compress', '--model', join(demo, 'model.onnx'), '--out', target, '--min-elements', '5000']), /no weight to quantize: .*largest float initializer 'layers\.1\.weight': 1024 elements, smaller than 5000/);
    expectBadInput(cli(['compress', '--model', demo, '--out', target]), /no readable config\.json; not a run directory/);
    expectBadInput(cli(['compress', '--model', join(demo, 'run'), '--out', demo]), /--out .*demo is a directory, not a file/);
    expect(existsSync(target)).toBe(false);
  }, 120_000);
});

describe('compress on a regression model and on a foreign ONNX file', () => {
  it('a regression export is checked by the RMSE of both models in the target units; --min-agreement is refused', async () => {
    const rng = new Rng(5);
    const lines = ['a,b,c,y'];
    for (let i = 0; i < 600; i++) {
      const [a, b, c] = [rng.normal(), rng.normal(), rng.normal()];
      lines.push(`${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${(100 + 20 * a - 10 * b * c + rng.normal()).toFixed(3)}`);
    }
    const csv = join(dir, 'reg.csv');
    writeFileSync(csv, lines.join('\n') + '\n');
    await trainTabular({ data: csv, target: 'y', task: 'regression', out: join(dir, 'reg'), hidden: [64, 64], epochs: 20, progress: { enabled: false } });
    const r = await compressModel({ model: join(dir, 'reg'), out: join(dir, 'reg.int8.onnx'), data: [csv], minElements: 256 });
    expect(r.check).toMatchObject({ inputs: 'data', count: 600 });
    expect(r.check.agreement).toBeUndefined();
    expect(r.check.rmse!.float32).toBeLessThan(15); // the target's spread is ~22; the model learned something
    expect(Math.abs(r.check.rmse!.quantized - r.check.rmse!.float32)).toBeLessThan(0.05 * r.check.rmse!.float32);
    expect(r.check.outputs.prediction.maxAbsDiff).toBeGreaterThan(0);
    await expectSwitchyardError(() => compressModel({ model: join(dir, 'reg'), out: join(dir, 'never.onnx'), data: [csv], minElements: 256, minAgreement: 0.9 }), 'E_USAGE', /no class scores to agree on/);
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  }, 120_000);

  it('an ONNX file without Switchyard metadata is checked on seeded random inputs, with the agreement of its class scores', async () => {
    const bytes = exportOnnx(new MLP([40, 64, 5]).init(2), (m, b) => ({ logits: m.call(b.x) }), { x: { dtype: 'f32', shape: ['batch', 40] } });
    const file = join(dir, 'foreign.onnx');
    writeFileSync(file, bytes);
    const r = await compressModel({ model: file, out: join(dir, 'foreign.int8.onnx'), minElements: 256 });
    expect(r.check).toMatchObject({ inputs: 'random', count: 256 });
    expect(r.check.agreement).toBeGreaterThan(0.9);
    expect(r.check.outputs.logits.maxAbsDiff).toBeGreaterThan(0);
    await expectSwitchyardError(() => compressModel({ model: file, out: join(dir, 'x.onnx'), data: [file] }), 'E_USAGE', /--data needs a Switchyard export/);
  });
});

describe('compress on a Mixture-of-Experts language model', () => {
  it('quantizes the decode step, experts included, and measures loss and top-1 agreement on text', async () => {
    const run = await lmRun();
    const text = join(dir, 'check.txt');
    writeFileSync(text, 'The state of the union is strong. '.repeat(20));
    const out = join(dir, 'lm.int8.onnx');
    const r = await compressModel({ model: run, out, data: [text], limit: 100 });
    const uses = Object.fromEntries(r.report.quantized.map((q) => [q.name, q.use]));
    expect(uses).toMatchObject({ 'wte.weight': 'matmul', 'blocks.1.mlp.experts.w1': 'stored', 'blocks.1.mlp.experts.w2': 'stored', 'blocks.0.mlp.layers.0.weight': 'matmul' });
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore * 0.45);
    expect(r.check).toMatchObject({ inputs: 'text', count: 100 });
    // 7-bit int8-matmul weights (the default) give these same numbers on every x86 CPU, VNNI or not: full-range
    // 8-bit weights gave 0.49 on an AVX2-only EPYC (tests/hostile/int8.test.ts emulates it).
    expect(r.report).toMatchObject({ matmulWeightBits: 7, needsVnni: false });
    expect(r.check.agreement).toBeGreaterThan(0.8);
    expect(Math.abs(r.check.loss!.quantized - r.check.loss!.float32)).toBeLessThan(0.05);
    expect(decodeModel(readFileSync(out)).metadata!['switchyard.kind']).toBe('gpt-decode');
  }, 120_000);

  it('an exported or compressed decode step generates and serves like its run', async () => {
    const run = await lmRun();
    const floatFile = join(dir, 'lm.float.onnx');
    writeFileSync(floatFile, (await exportLm(run)).bytes);
    const int8File = join(dir, 'lm.gen.int8.onnx');
    await compressModel({ model: run, out: int8File });
    const o = { maxTokens: 12, temperature: 0 };
    const fromRun = await loadLm(run);
    const fromFile = await loadLm(floatFile);
    expect(fromFile.batchedPrefill).toBe(true); // the exported decode step reads a whole prompt in one call
    expect(fromFile.gpt).toEqual(GPT_CFG);
    expect((await fromFile.generate('State of', o)).tokens).toEqual((await fromRun.generate('State of', o)).tokens);
    await fromRun.close();
    await fromFile.close();
    const int8 = await loadLm(int8File);
    expect((await int8.generate('State of', o)).tokens).toHaveLength(12);
    await int8.close();
    const served = await loadModel(int8File, { name: 'lm', version: 'int8' });
    expect(served.kind).toBe('lm');
    expect((await served.generate({ prompt: 'State of', maxTokens: 5, temperature: 0 })).tokens).toBe(5);
    await served.close();
    const g = cli(['generate', '--model', int8File, '--prompt', 'State of', '--max-tokens', '5', '--json']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.json).toMatchObject({ ok: true, tokens: 5 });
    await expectSwitchyardError(() => LmSession.fromOnnx(readFileSync(join(dir, 'foreign.onnx')), 'foreign.onnx'), 'E_MODEL_INPUT', /not a Switchyard language-model export/);

    // An export from before 2026-11-29 (one token per call, whole caches out) still loads and generates the same.
    const model = new GPT(GPT_CFG).init(3);
    const { fn, spec } = decodeGraph(model);
    const oldFn = (m: Module, b: Record<string, Tensor>) => {
      const r = fn(m, b);
      return { logits: r.logits, presentK: r.presentK, presentV: r.presentV };
    };
    const meta = decodeModel(readFileSync(floatFile)).metadata!;
    const oldFile = join(dir, 'lm.old.onnx');
    writeFileSync(oldFile, exportOnnx(model, oldFn, { ...spec, ids: { dtype: 'i64', shape: [1, 1] } }, meta));
    const old = await loadLm(oldFile);
    expect(old.batchedPrefill).toBe(false);
    const fresh = await loadLm(run);
    expect((await old.generate('State of', o)).tokens).toEqual((await fresh.generate('State of', o)).tokens);
    await old.close();
    await fresh.close();
  }, 120_000);

  it('switchyard eval scores an exported or compressed decode step like its run (loss, perplexity, corruptions)', async () => {
    const run = await lmRun();
    const text = join(dir, 'eval.txt');
    writeFileSync(text, 'The state of the union is strong, and the economy grows. '.repeat(30));
    const floatFile = join(dir, 'lm.eval.onnx');
    writeFileSync(floatFile, (await exportLm(run)).bytes);
    const int8File = join(dir, 'lm.eval.int8.onnx');
    await compressModel({ model: run, out: int8File, progress: { enabled: false } });
    const o = { data: text, seed: 1, corruptions: true };
    const fromRun = (await runEval({ model: run, ...o })).lm!;
    const fromExport = (await runEval({ model: floatFile, ...o })).lm!;
    const fromInt8 = await runEval({ model: int8File, ...o, adversarial: true });
    expect(fromExport.clean.tokens).toBe(fromRun.clean.tokens);
    expect(Math.abs(fromExport.clean.loss - fromRun.clean.loss)).toBeLessThan(1e-4);
    expect(fromExport.corruptions.map((c) => c.scores.loss)).toEqual(fromRun.corruptions.map((c) => expect.closeTo(c.scores.loss, 3)));
    expect(Math.abs(fromInt8.lm!.clean.loss - fromRun.clean.loss)).toBeLessThan(0.02);
    expect(fromInt8.lm!.adversarial).toBeUndefined();
    expect(fromInt8.notes.join(' ')).toMatch(/adversarial attacks need the weights/);
  }, 120_000);

  it('a failed --min-agreement gate exits 3 and writes nothing', async () => {
    const run = await lmRun();
    const out = join(dir, 'gated.onnx');
    const r = cli(['compress', '--model', run, '--out', out, '--min-agreement', '1']);
    // a random-init model's logits are nearly uniform, so some top-1 tokens flip under int8
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^error: the quantized model agrees with the float32 model on [\d.]+% of \d+ tokens, below --min-agreement 1; .*gated\.onnx was not written/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
