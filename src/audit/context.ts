/**
 * What every check reads: the DuckDB session, the profiled splits and the options the user gave, plus small
 * helpers shared by the checks (evidence rows, severities, number formatting).
 */
import type { DuckSession } from '../data/readers/index.ts';
import type { ProfiledSplit } from './profile.ts';
import { num } from './sql.ts';
import { MAX_EVIDENCE_ROWS, type ColumnProfile, type Finding } from './types.ts';

/**
 * Inputs of every check.
 *
 * @example
 * const ctx: AuditContext = { db, train, test, target: 'label', sensitive: ['sex'] };
 */
export interface AuditContext {
  db: DuckSession;
  train: ProfiledSplit;
  test?: ProfiledSplit;
  /** Label column, when the data is labelled. */
  target?: string;
  /** Columns whose groups the bias checks compare. */
  sensitive: string[];
  /** Free-text column for the near-duplicate and contamination checks. */
  textColumn?: string;
  /** The favourable label for bias base rates (default: the rarest class in train). */
  positive?: string;
}

/**
 * The splits present, train first.
 *
 * @example
 * splitsOf(ctx).map((s) => s.split); // ['train', 'test']
 */
export function splitsOf(ctx: AuditContext): ProfiledSplit[] {
  return ctx.test ? [ctx.train, ctx.test] : [ctx.train];
}

/**
 * Columns that describe an example (not the target, not identifiers), for duplicate and leakage checks.
 *
 * @example
 * featureColumns(ctx.train, ctx).map((c) => c.name);
 */
export function featureColumns(s: ProfiledSplit, ctx: AuditContext): ColumnProfile[] {
  return s.profile.columns.filter((c) => c.name !== ctx.target && c.kind !== 'identifier');
}

/**
 * Runs a query whose first column is `rowid` and returns up to {@link MAX_EVIDENCE_ROWS} row ids.
 *
 * @example
 * await evidenceRows(db, `SELECT rowid FROM t WHERE x IS NULL ORDER BY rowid`);
 */
export async function evidenceRows(db: DuckSession, sql: string): Promise<number[]> {
  return (await db.column(`${sql} LIMIT ${MAX_EVIDENCE_ROWS}`)).map(num);
}

/**
 * Formats a share as a percentage with one decimal (`2.0%`), or `<0.1%` for tiny non-zero shares.
 *
 * @example
 * pct(0.0203); // '2.0%'
 */
export function pct(x: number): string {
  if (x > 0 && x < 0.001) return '<0.1%';
  return `${(x * 100).toFixed(1)}%`;
}

/**
 * Formats a count with thousands separators.
 *
 * @example
 * count(12345); // '12,345'
 */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Clamps a score into [0, 1].
 *
 * @example
 * score(1.7); // 1
 */
export function score(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/**
 * Tags findings with a split name (for splits other than train the evidence rows refer to that file).
 *
 * @example
 * inSplit(findings, 'test');
 */
export function inSplit(findings: Finding[], split: string): Finding[] {
  return findings.map((f) => ({ ...f, split: f.split ?? split }));
}
