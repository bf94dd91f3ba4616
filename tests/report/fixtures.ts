/** AuditResult objects built in the tests (the real audit writes the same shape). */
import type { AuditResult, ColumnProfile, Finding } from '../../src/audit/types.ts';

/** A column name and a value that would inject markup if anything were left unescaped. */
export const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

function numeric(name: string, rows: number, missing: number, counts: number[], lo = 0, step = 10): ColumnProfile {
  return {
    name, kind: 'numeric', source: 'inferred', storageType: 'DOUBLE', rows, missing, distinct: 50, min: lo, max: lo + step * counts.length,
    mean: lo + (step * counts.length) / 2, std: step, quantiles: { p01: lo, p25: lo + step, p50: lo + 2 * step, p75: lo + 3 * step, p99: lo + step * counts.length },
    histogram: { edges: counts.map((_, i) => lo + i * step).concat(lo + step * counts.length), counts },
  };
}

function categorical(name: string, rows: number, missing: number, top: [string, number][]): ColumnProfile {
  return { name, kind: 'categorical', source: 'inferred', storageType: 'VARCHAR', rows, missing, distinct: top.length, topValues: top.map(([value, count]) => ({ value, count })) };
}

/** A two-split audit with findings of every family the report draws something special for. */
export function sampleAudit(): AuditResult {
  const findings: Finding[] = [
    { check: 'integrity.missing', severity: 'warn', score: 0.3, message: '300 of 1,000 values of income (30.0%) are missing.', column: 'income', split: 'train', evidence: { rows: [1, 5, 9] }, details: { missing: 300 } },
    { check: 'integrity.outliers', severity: 'info', score: 0.01, message: `10 outliers in ${EVIL}.`, column: EVIL, evidence: { rows: [7], values: [EVIL, 1e9] } },
    { check: 'duplicates.exact', severity: 'error', score: 0.12, message: '120 rows are exact copies of an earlier row.', evidence: { rows: [10, 11, 12] }, details: { duplicateRows: 120 } },
    { check: 'duplicates.near-text', severity: 'warn', score: 0.04, message: '40 text rows fall in 12 near-duplicate clusters.', column: 'body', split: 'train', evidence: { rows: [3, 17] }, details: { clusters: [{ rows: [3, 17, 40], jaccard: 0.91, preview: `Dear friend ${EVIL}` }, { rows: [8, 9], jaccard: 0.85 }] } },
    { check: 'leakage.near-duplicate', severity: 'error', score: 0.05, message: '5 of 100 test rows nearly copy a training row.', split: 'test', evidence: { rows: [4] }, details: { matches: [{ test: 4, train: [120, 121], jaccard: 0.93, preview: 'win money now' }] } },
    { check: 'bias.disparate-impact', severity: 'warn', score: 0.38, message: 'Base rate of sex=female is 0.62 of sex=male (below 0.8).', column: 'sex', evidence: {}, details: { groups: [{ group: 'female', count: 480, baseRate: 0.21, missingRate: 0.05 }, { group: 'male', count: 520, baseRate: 0.34, missingRate: 0.01 }, { group: EVIL, count: 3, baseRate: 1 }] } },
    { check: 'drift.feature', severity: 'error', score: 0.31, message: 'age drifts between train and test (KS 0.31, p < 1e-9).', column: 'age', split: 'train/test', evidence: {}, details: { test: 'ks', statistic: 0.31, pValue: 1e-12 } },
    { check: 'drift.feature', severity: 'info', score: 0.02, message: 'sex does not drift.', column: 'sex', split: 'train/test', evidence: {}, details: { test: 'chi-square', statistic: 0.4, pValue: 0.82 } },
  ];
  return {
    format: 'switchyard.audit', version: 1, created: '2025-01-01T00:00:00.000Z',
    options: { target: 'label', sensitive: ['sex'], textColumn: 'body' },
    splits: [
      { split: 'train', file: 'data/train.csv', format: 'csv', rows: 1000, columns: [
        numeric('age', 1000, 0, [50, 200, 400, 250, 100], 18, 10),
        numeric('income', 1000, 300, [700], 5, 0),
        categorical('sex', 1000, 0, [['female', 480], ['male', 520]]),
        categorical('label', 1000, 0, [['spam', 300], ['ham', 700]]),
        { ...categorical(EVIL, 1000, 12, [[EVIL, 988]]) },
        { name: 'body', kind: 'text', source: 'override', storageType: 'VARCHAR', rows: 1000, missing: 0, distinct: 960, meanLength: 240 },
      ] },
      { split: 'test', file: 'data/test.csv', format: 'csv', rows: 100, columns: [
        numeric('age', 100, 0, [5, 10, 20, 40, 25], 18, 10),
        numeric('income', 100, 10, [90], 5, 0),
        categorical('sex', 100, 0, [['female', 50], ['male', 50]]),
        categorical('label', 100, 0, [['spam', 40], ['ham', 60]]),
      ] },
    ],
    findings,
    summary: { info: 2, warn: 3, error: 3 },
    timings: { integrity: 0.12, duplicates: 0.4 },
  };
}

/** An audit of clean data: one split, no findings, no missing values. */
export function cleanAudit(): AuditResult {
  return {
    format: 'switchyard.audit', version: 1, created: '2025-01-01T00:00:00.000Z', options: {},
    splits: [{ split: 'train', file: 'clean.csv', format: 'csv', rows: 10, columns: [numeric('x', 10, 0, [5, 5], 0, 1)] }],
    findings: [], summary: { info: 0, warn: 0, error: 0 }, timings: {},
  };
}
