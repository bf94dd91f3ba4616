/** Seeded tabular data for the audit tests: a clean table, and helpers that plant one problem each. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCsvRow } from '../../src/data/csv-write.ts';
import { type DuckOptions, DuckSession } from '../../src/data/readers/index.ts';
import type { AuditContext } from '../../src/audit/context.ts';
import { loadSplit } from '../../src/audit/profile.ts';
import { Rng } from '../../src/util/rng.ts';

export const COLUMNS = ['age', 'income', 'color', 'smoker', 'sex', 'label'];

/** A clean table: numeric age/income (normal), categorical color, boolean smoker, balanced sex, label weakly tied to age. */
export function cleanRows(n: number, seed = 1): string[][] {
  const rng = new Rng(seed);
  const colors = ['red', 'green', 'blue', 'amber'];
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const age = 40 + 10 * rng.normal();
    const income = 50000 + 8000 * rng.normal();
    const p = 1 / (1 + Math.exp(-(age - 40) / 15));
    rows.push([age.toFixed(2), income.toFixed(0), colors[rng.int(4)], rng.next() < 0.5 ? 'yes' : 'no', rng.next() < 0.5 ? 'F' : 'M', rng.next() < p ? 'good' : 'bad']);
  }
  return rows;
}

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'sy-audit-'));
}

/** Writes a CSV and returns its path. */
export function writeCsv(dir: string, name: string, columns: string[], rows: string[][]): string {
  const p = join(dir, name);
  writeFileSync(p, [formatCsvRow(columns), ...rows.map((r) => formatCsvRow(r))].join('\n') + '\n');
  return p;
}

/** Loads train (and test) CSVs into a fresh DuckDB session and returns the check context (close `ctx.db` after). */
export async function contextFor(train: string, test?: string, extra: Partial<AuditContext> = {}, engine: DuckOptions = { threads: 1 }): Promise<AuditContext> {
  const db = await DuckSession.open(engine);
  const t = await loadSplit(db, train, 'train');
  const s = test ? await loadSplit(db, test, 'test', {}, { lenient: true }) : undefined;
  return { db, train: t, test: s, sensitive: [], ...extra };
}
