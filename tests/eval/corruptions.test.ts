import { describe, expect, it } from 'vitest';
import { corruptibleColumns, corruptionApplies, corruptTable, corruptText, numericColumnsOf, typos, wordDrop } from '../../src/eval/corruptions.ts';
import { parseCsv } from '../../src/data/csv.ts';
import { fitTabularEncoder } from '../../src/data/tabular.ts';
import { inferSchema } from '../../src/data/schema.ts';
import { Rng } from '../../src/util/rng.ts';

function table(rows = 400) {
  const rng = new Rng(9);
  const lines = ['age,region,member,label'];
  for (let i = 0; i < rows; i++) lines.push(`${(30 + rng.normal() * 10).toFixed(2)},${['north', 'south', 'east'][rng.int(3)]},${rng.next() < 0.5 ? 'true' : 'false'},${rng.int(2) ? 'yes' : 'no'}`);
  lines.push(',north,true,no'); // a missing age stays missing
  return parseCsv(lines.join('\n') + '\n', { file: 't.csv' });
}

describe('tabular corruptions', () => {
  const t = table();
  const enc = fitTabularEncoder(t, inferSchema(t), 'label');
  const cols = corruptibleColumns(enc.specs);

  it('are seeded, leave the input alone and keep every value encodable', () => {
    for (const kind of ['gaussian-noise', 'feature-dropout', 'category-swap'] as const) {
      const a = corruptTable(t, cols, kind, 0.3, 1);
      expect(corruptTable(t, cols, kind, 0.3, 1).rows).toEqual(a.rows);
      expect(corruptTable(t, cols, kind, 0.3, 2).rows).not.toEqual(a.rows);
      expect(t.rows[0]).not.toBe(a.rows[0]);
      expect(() => enc.encode(a)).not.toThrow();
      expect(a.rows.map((r) => r[3])).toEqual(t.rows.map((r) => r[3])); // the label is never touched
      expect(a.rows[a.rows.length - 1][0]).toBe('');
    }
  });

  it('noise is scaled by each column\'s training std; categories swap only to known ones', () => {
    const std = (cols.find((c) => c.column === 'age') as { std: number }).std;
    const noisy = corruptTable(t, cols, 'gaussian-noise', 0.5, 3);
    const d = t.rows.slice(0, -1).map((r, i) => Number(noisy.rows[i][0]) - Number(r[0]));
    const sd = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
    expect(sd / std).toBeGreaterThan(0.43);
    expect(sd / std).toBeLessThan(0.57);
    expect(noisy.rows.map((r) => r[1])).toEqual(t.rows.map((r) => r[1]));
    const swapped = corruptTable(t, cols, 'category-swap', 0.5, 3);
    const changed = swapped.rows.filter((r, i) => r[1] !== t.rows[i][1]).length / t.rows.length;
    expect(changed).toBeGreaterThan(0.4);
    expect(changed).toBeLessThan(0.6);
    expect(new Set(swapped.rows.map((r) => r[1]))).toEqual(new Set(['north', 'south', 'east']));
    expect(new Set(swapped.rows.map((r) => r[2]))).toEqual(new Set(['true', 'false']));
    expect(swapped.rows.map((r) => r[0])).toEqual(t.rows.map((r) => r[0]));
    const dropped = corruptTable(t, cols, 'feature-dropout', 0.2, 3);
    const empty = dropped.rows.flatMap((r) => r.slice(0, 3)).filter((c) => c === '').length / (t.rows.length * 3);
    expect(empty).toBeGreaterThan(0.15);
    expect(empty).toBeLessThan(0.25);
    const x = enc.encode(dropped).x;
    expect(x.every(Number.isFinite)).toBe(true);
  });

  it('measures numeric columns of a table without an encoder', () => {
    const c = numericColumnsOf(t, ['label']);
    expect(c.map((x) => x.column)).toEqual(['age']);
    // Without an encoder there is no missing value: dropout writes the column mean.
    const dropped = corruptTable(t, c, 'feature-dropout', 1, 0);
    const mean = (c[0] as { mean: number }).mean;
    expect(dropped.rows.slice(0, -1).every((r) => Math.abs(Number(r[0]) - mean) < 1e-4)).toBe(true);
  });
});

describe('text columns of a table', () => {
  it('get seeded typos; other corruptions apply only where they have columns', () => {
    const t = parseCsv('id,note\n1,the quick brown fox jumps\n2,over the lazy dog\n', { file: 'n.csv' });
    const cols = [{ column: 'note', kind: 'text' as const }];
    const a = corruptTable(t, cols, 'text-typos', 0.5, 1);
    expect(a.rows.map((r) => r[1])).not.toEqual(t.rows.map((r) => r[1]));
    expect(corruptTable(t, cols, 'text-typos', 0.5, 1).rows).toEqual(a.rows);
    expect(a.rows.map((r) => r[0])).toEqual(['1', '2']);
    expect(corruptionApplies('text-typos', cols)).toBe(true);
    expect(corruptionApplies('gaussian-noise', cols)).toBe(false);
    expect(corruptionApplies('feature-dropout', cols)).toBe(true);
  });
});

describe('text corruptions', () => {
  const text = 'the quick brown fox jumps over the lazy dog again and again';
  it('are seeded and proportional to the rate', () => {
    expect(typos(text, 0.2, 1)).toBe(typos(text, 0.2, 1));
    expect(typos(text, 0, 1)).toBe(text);
    expect(typos(text, 0.3, 1)).not.toBe(text);
    expect(wordDrop(text, 0, 4)).toBe(text);
    expect(wordDrop(text, 1, 4).trim()).toBe('');
    const long = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ');
    const kept = wordDrop(long, 0.25, 5).split(/\s+/).filter(Boolean);
    expect(kept.length / 2000).toBeGreaterThan(0.7);
    expect(kept.length / 2000).toBeLessThan(0.8);
    expect(kept.every((w) => /^w\d+$/.test(w))).toBe(true);
    expect(corruptText(text, 'word-drop', 0.3, 2)).toBe(wordDrop(text, 0.3, 2));
  });
  it('typos only touch letters', () => {
    const s = '12 + 34 = 46!';
    expect(typos(s, 1, 3)).toBe(s);
  });
});
