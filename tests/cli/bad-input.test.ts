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
