import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/runtime/safetensors.ts';
import { readFileSync } from 'node:fs';
import { cli, tmp, vegaCsv, expectBadInput } from './helpers.ts';


describe('bad input to switchyard train', () => {
  const dir = tmp();
  const penguins = vegaCsv('penguins', dir);

  it('missing file', () => {
    const out = join(dir, 'r-missing');
    expectBadInput(cli(['train', '--data', join(dir, 'nope.csv'), '--target', 'y', '--out', out]), /nope\.csv: no such file/);
    expect(existsSync(out)).toBe(false);
  });

  it('missing target column, with a did-you-mean hint', () => {
    const out = join(dir, 'r-target');
    const r = cli(['train', '--data', penguins, '--target', 'Specis', '--out', out]);
    expectBadInput(r, /no column named 'Specis'/);
    expect(r.stderr).toMatch(/did you mean 'Species'/);
    expect(existsSync(out)).toBe(false);
  });

  it('non-numeric garbage in a numeric column names file:line:column', () => {
    const rows = ['x1,x2,label', ...Array.from({ length: 100 }, (_, i) => `${i / 100},${(i * 7) % 13},${i % 2 ? 'a' : 'b'}`)];
    rows[41] = '0.4,abc,a';
    const f = join(dir, 'garbage.csv');
    writeFileSync(f, rows.join('\n') + '\n');
    const out = join(dir, 'r-garbage');
    expectBadInput(cli(['train', '--data', f, '--target', 'label', '--out', out]), /garbage\.csv:42:2: column 'x2': 'abc' is not a number/);
    expect(existsSync(out)).toBe(false);
  });

  it('empty CSV and header-only CSV', () => {
    const e = join(dir, 'empty.csv');
    writeFileSync(e, '');
    expectBadInput(cli(['train', '--data', e, '--target', 'label', '--out', join(dir, 'r-empty')]), /empty\.csv: the file is empty/);
    const h = join(dir, 'header.csv');
    writeFileSync(h, 'a,b,label\n');
    expectBadInput(cli(['train', '--data', h, '--target', 'label', '--out', join(dir, 'r-header')]), /header\.csv: .*no data rows/);
  });

  it('a ragged row names its line', () => {
    const f = join(dir, 'ragged.csv');
    writeFileSync(f, 'a,b,label\n1,2,x\n3,4\n');
    expectBadInput(cli(['train', '--data', f, '--target', 'label', '--out', join(dir, 'r-ragged')]), /ragged\.csv:3: expected 3 fields, found 2/);
  });

  it('unknown option and bad option values are usage errors', () => {
    expectBadInput(cli(['train', '--data', penguins, '--target', 'Species', '--out', join(dir, 'x'), '--epoks', '3']), /unknown option --epoks/);
    expectBadInput(cli(['train', '--data', penguins, '--target', 'Species', '--out', join(dir, 'x'), '--epochs', 'many']), /--epochs/);
    expectBadInput(cli(['frobnicate']), /unknown verb 'frobnicate'/);
  });

  it('errors are one JSON object on stdout with --json', () => {
    const r = cli(['train', '--data', join(dir, 'nope.csv'), '--target', 'y', '--out', join(dir, 'r'), '--json']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'E_FILE_NOT_FOUND' } });
  });

  it('a diverging run stops, names the step, suggests a lower learning rate and keeps the last good checkpoint', () => {
    const out = join(dir, 'r-nan');
    const r = cli(['train', '--data', penguins, '--target', 'Species', '--out', out, '--lr', '1e7', '--epochs', '3', '--quiet']);
    expectBadInput(r, /training diverged: .* at step \d+, epoch \d+/);
    expect(r.stderr).toMatch(/lower the learning rate/);
    const files = readdirSync(out);
    expect(files).toContain('checkpoint');
    expect(files.some((f) => f.includes('.tmp'))).toBe(false);
    const { tensors } = decodeSafetensors(readFileSync(join(out, 'checkpoint', 'model.safetensors')));
    for (const t of tensors.values()) for (const v of t.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
  });

  it('predict with a run directory that does not exist', () => {
    expectBadInput(cli(['predict', '--model', join(dir, 'no-run'), '--data', penguins]), /config\.json: no such file/);
  });

  it('predict on data missing a training column', () => {
    const run = join(dir, 'run-ok');
    expect(cli(['train', '--data', penguins, '--target', 'Species', '--out', run, '--epochs', '1', '--quiet']).code).toBe(0);
    const f = join(dir, 'fewer.csv');
    writeFileSync(f, 'Island,Sex\nBiscoe,MALE\n');
    expectBadInput(cli(['predict', '--model', run, '--data', f]), /fewer\.csv: .*Beak Length/);
  });
});

describe('hostile input that used to crash the process or print a stack trace (real bin)', () => {
  const dir = tmp();
  const penguins = vegaCsv('penguins', dir);

  it('audit and train on JSONL nested 20,000 deep: one line naming file:line:column (was exit 139 in DuckDB)', () => {
    const f = join(dir, 'deep.jsonl');
    writeFileSync(f, `{"a":1,"label":"y"}\n{"a":${'['.repeat(20_000)}${']'.repeat(20_000)},"label":"x"}\n`);
    expectBadInput(cli(['audit', '--data', f, '--out', join(dir, 'audit')]), /deep\.jsonl:2:\d+: JSON nested deeper than 100 levels/);
    expectBadInput(cli(['train', '--data', f, '--target', 'label', '--out', join(dir, 'r-deep')]), /deep\.jsonl:2:\d+: JSON nested deeper/);
    expect(existsSync(join(dir, 'audit'))).toBe(false);
    expect(existsSync(join(dir, 'r-deep'))).toBe(false);
  });

  it('a Latin-1 CSV is refused with file:line and an iconv hint instead of training on U+FFFD', () => {
    const f = join(dir, 'latin1.csv');
    writeFileSync(f, Buffer.from('name,city,label\nn0,Paris,a\nn1,Dr\xe9am,b\nn2,Paris,a\n', 'latin1'));
    const r = cli(['train', '--data', f, '--target', 'label', '--out', join(dir, 'r-latin1')]);
    expectBadInput(r, /latin1\.csv:3: byte \d+ \(0xe9\) is not valid UTF-8/);
    expect(r.stderr).toMatch(/hint: re-encode the file as UTF-8, e\.g\. `iconv/);
    expect(existsSync(join(dir, 'r-latin1'))).toBe(false);
  });

  it('a 60 KB prompt is refused on the command line (it crashed ONNX Runtime) and read with --prompt-file', () => {
    const run = join(dir, 'lm');
    expect(cli(['train', '--model', 'gpt', '--data', 'sotu', '--steps', '1', '--context', '16', '--d-model', '16', '--heads', '2', '--mlp-hidden', '32', '--eval-every', '1', '--eval-tokens', '64', '--out', run, '--quiet', '--threads', '1']).code).toBe(0);
    const prompt = 'a'.repeat(60_000);
    expectBadInput(cli(['generate', '--model', run, '--prompt', prompt]), /the command line is \d+ bytes, more than the 16384 accepted/);
    const file = join(dir, 'prompt.txt');
    writeFileSync(file, prompt);
    expectBadInput(cli(['generate', '--model', run, '--prompt-file', file]), /the prompt is 60000 tokens; the model's context is 16/);
  });

  it('an ONNX file that ONNX Runtime rejects is one line naming the file in eval (was a stack trace, exit 1)', () => {
    const run = join(dir, 'run');
    expect(cli(['train', '--data', penguins, '--target', 'Species', '--out', run, '--epochs', '1', '--hidden', '4', '--quiet']).code).toBe(0);
    const onnx = join(dir, 'model.onnx');
    expect(cli(['export', '--model', run, '--out', onnx]).code).toBe(0);
    const hostile = join(dir, 'hostile.onnx');
    writeFileSync(hostile, Buffer.from(readFileSync(onnx).toString('latin1').replace('Softmax', 'Softmux'), 'latin1'));
    expectBadInput(cli(['eval', '--model', hostile, '--data', penguins, '--target', 'Species']), /hostile\.onnx: ONNX Runtime cannot load the model \(.*Softmux/);
  });
});
