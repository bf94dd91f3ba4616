import { describe, expect, it } from 'vitest';
import { type AuditOptions, runAudit, worstSeverity } from '../../src/audit/run.ts';
import { SEVERITIES } from '../../src/audit/types.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';
import { tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

/** A learnable table (label = x > 0) with a free-text note column. */
function rows(n: number, seed: number): string[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const x = rng.normal();
    const note = Array.from({ length: 20 }, () => WORDS[rng.int(WORDS.length)]).join(' ');
    return [x.toFixed(3), (rng.normal() * 3).toFixed(3), rng.next() < 0.5 ? 'a' : 'b', note, x > 0 ? 'pos' : 'neg'];
  });
}
const COLS = ['x', 'noise', 'grp', 'note', 'label'];

describe('runAudit', () => {
  it('composes every family: planted duplicates, leakage, near-duplicate text, contamination and label flips are found', async () => {
    const train = rows(600, 1);
    const test = rows(200, 2);
    train[500] = [...train[20]]; // exact duplicate
    train[300][3] = train[100][3].replace('alpha', 'omega'); // near-duplicate text (one word changed)
    test[7] = [...train[42]]; // shared row
    test[9][3] = `${train[5][3]} and more`; // contaminated / near-duplicate across splits
    const flipped = [11, 57, 130, 222, 401].map((r) => { while (Math.abs(Number(train[r][0])) < 1) r++; return r; }); // clear-cut rows
    for (const r of flipped) train[r][4] = train[r][4] === 'pos' ? 'neg' : 'pos';
    const stderr: string[] = [];
    const result = await runAudit({
      data: writeCsv(dir, 'train.csv', COLS, train), test: writeCsv(dir, 'test.csv', COLS, test), target: 'label', sensitive: ['grp'],
      textColumn: 'note', seed: 0, engine: { threads: 1 }, labelIssueOptions: { folds: 3, threads: 1 },
      progress: { enabled: true, stream: { isTTY: true, columns: 120, write: (s: string) => void stderr.push(s) } },
    });
    const checks = new Set(result.findings.map((f) => f.check));
    for (const c of ['duplicates.exact', 'leakage.shared-rows', 'duplicates.near-text', 'leakage.near-duplicate', 'contamination.ngram', 'labels.issues', 'bias.groups']) expect(checks, c).toContain(c);
    expect(result.findings.find((f) => f.check === 'duplicates.exact')!.evidence.rows).toEqual([500]);
    expect(result.findings.find((f) => f.check === 'leakage.shared-rows')!.evidence.rows).toContain(7);
    const issues = result.findings.find((f) => f.check === 'labels.issues')!.evidence.rows!;
    expect(flipped.filter((r) => issues.includes(r)).length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(result.timings).sort()).toEqual(['bias', 'drift', 'duplicates', 'integrity', 'label-issues', 'labels', 'leakage', 'profile', 'text'].sort());
    for (const s of SEVERITIES) expect(result.summary[s]).toBe(result.findings.filter((f) => f.severity === s).length);
    expect(result.splits.map((s) => [s.split, s.rows])).toEqual([['train', 600], ['test', 200]]);
    const order = result.findings.map((f) => SEVERITIES.indexOf(f.severity));
    expect(order).toEqual([...order].sort((a, b) => b - a));
    expect(worstSeverity(result.findings)).toBe('error');
    expect(stderr.join('')).toMatch(/audit/);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  }, 120_000);

  it('rejects a --sensitive or --target column that does not exist, with did-you-mean', async () => {
    const data = writeCsv(dir, 'small.csv', COLS, rows(50, 3));
    const cases: [Partial<AuditOptions>, RegExp, RegExp][] = [
      [{ sensitive: ['grpp'] }, /small\.csv: no column named 'grpp' \(--sensitive\)/, /did you mean 'grp'/],
      [{ target: 'lable' }, /no column named 'lable' \(--target\)/, /did you mean 'label'/],
      [{ textColumn: 'notes' }, /no column named 'notes' \(--text-column\)/, /did you mean 'note'/],
      [{ columns: ['nose=numeric'] }, /--columns names 'nose'/, /did you mean 'note'|did you mean 'noise'/],
    ];
    for (const [opts, re, hint] of cases) {
      const e = await runAudit({ data, ...opts, progress: { enabled: false } }).catch((x) => x);
      expect(e).toBeInstanceOf(SwitchyardError);
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(re);
      expect(e.hint).toMatch(hint);
    }
  });
});
