/**
 * Exact duplicate rows (one GROUP BY over every non-identifier column in DuckDB) and conflicting labels:
 * identical features with different targets.
 */
import { type DuckSession, sqlIdent } from '../data/readers/index.ts';
import { type AuditContext, count, featureColumns, pct, score } from './context.ts';
import type { ProfiledSplit } from './profile.ts';
import { num } from './sql.ts';
import { MAX_EVIDENCE_ROWS, type Finding } from './types.ts';

/** Duplicate share at which exact duplicates become an error rather than a warning. */
export const DUPLICATE_ERROR = 0.1;
const CLUSTERS = 10;

/**
 * Exact duplicates of a split. Identifier columns are left out of the comparison (a row id makes every row
 * unique). Evidence rows are the later copies, in file order; `details.clusters` lists groups of identical
 * rows (`rows` = every copy).
 *
 * @example
 * const [f] = await findExactDuplicates(db, train); // f.details.duplicateRows
 */
export async function findExactDuplicates(db: DuckSession, s: ProfiledSplit): Promise<Finding[]> {
  const cols = s.profile.columns.filter((c) => c.kind !== 'identifier').map((c) => sqlIdent(c.name));
  if (cols.length === 0) return [];
  const ignored = s.profile.columns.filter((c) => c.kind === 'identifier').map((c) => c.name);
  // One GROUP BY pass, kept in a temp table for the totals, the clusters and the evidence rows.
  const groups = sqlIdent(`${s.table.replace(/"/g, '')}__dups`);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${groups} AS SELECT list(rowid ORDER BY rowid) AS rows, count(*) AS n FROM ${s.table} GROUP BY ${cols.join(', ')} HAVING count(*) > 1`);
  const [tot] = await db.all(`SELECT coalesce(sum(n - 1), 0) AS dup, count(*) AS g FROM ${groups}`);
  const dup = num(tot.dup);
  if (dup === 0) {
    await db.run(`DROP TABLE ${groups}`);
    return [];
  }
  const top = await db.all(`SELECT rows, n FROM ${groups} ORDER BY n DESC, rows[1] LIMIT ${CLUSTERS}`);
  const clusters = top.map((g) => ({ rows: (g.rows as unknown[]).slice(0, MAX_EVIDENCE_ROWS).map(num), size: num(g.n), jaccard: 1 }));
  const rows = (await db.column(`SELECT r FROM (SELECT unnest(rows[2:]) AS r FROM ${groups}) ORDER BY r LIMIT ${MAX_EVIDENCE_ROWS}`)).map(num);
  await db.run(`DROP TABLE ${groups}`);
  const share = dup / s.loaded.rows;
  return [{
    check: 'duplicates.exact', severity: share >= DUPLICATE_ERROR ? 'error' : 'warn', score: score(share),
    message: `${count(dup)} of ${count(s.loaded.rows)} rows (${pct(share)}) are exact copies of an earlier row (${count(num(tot.g))} groups)${ignored.length ? `, ignoring identifier column${ignored.length > 1 ? 's' : ''} ${ignored.join(', ')}` : ''}.`,
    evidence: { rows }, details: { duplicateRows: dup, groups: num(tot.g), clusters, ignoredColumns: ignored },
  }];
}

/**
 * Rows whose features are identical but whose labels differ (needs a target). Evidence rows are every row in
 * a conflicting group.
 *
 * @example
 * await findConflictingLabels(db, train, { ...ctx, target: 'label' });
 */
export async function findConflictingLabels(db: DuckSession, s: ProfiledSplit, ctx: AuditContext): Promise<Finding[]> {
  if (!ctx.target || !s.byName.has(ctx.target)) return [];
  const cols = featureColumns(s, ctx).map((c) => sqlIdent(c.name));
  if (cols.length === 0) return [];
  const y = sqlIdent(ctx.target);
  const groups = `SELECT list(rowid ORDER BY rowid) AS rows, list(DISTINCT ${y}) AS labels, count(*) AS n FROM ${s.table} WHERE ${y} IS NOT NULL GROUP BY ${cols.join(', ')} HAVING count(DISTINCT ${y}) > 1`;
  const [tot] = await db.all(`SELECT coalesce(sum(n), 0) AS rows, count(*) AS g FROM (${groups})`);
  const n = num(tot.rows);
  if (n === 0) return [];
  const top = await db.all(`SELECT rows, labels, n FROM (${groups}) ORDER BY n DESC, rows[1] LIMIT ${CLUSTERS}`);
  const rows = (await db.column(`SELECT r FROM (SELECT unnest(rows) AS r FROM (${groups})) ORDER BY r LIMIT ${MAX_EVIDENCE_ROWS}`)).map(num);
  const share = n / s.loaded.rows;
  return [{
    check: 'duplicates.conflicting-labels', severity: 'warn', score: score(share), column: ctx.target,
    message: `${count(num(tot.g))} groups of identical rows (${count(n)} rows, ${pct(share)}) carry different '${ctx.target}' labels.`,
    evidence: { rows }, details: { rows: n, groups: num(tot.g), clusters: top.map((g) => ({ rows: (g.rows as unknown[]).slice(0, MAX_EVIDENCE_ROWS).map(num), labels: (g.labels as unknown[]).map(String), size: num(g.n) })) },
  }];
}
