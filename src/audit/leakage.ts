/**
 * Train/test leakage: test rows that also occur in train, identifier-like columns, and a single feature that
 * alone predicts the label almost perfectly (a one-feature lookup fitted on half of train, scored on the other half).
 */
import { type DuckSession, sqlIdent, sqlString } from '../data/readers/index.ts';
import { type AuditContext, count, evidenceRows, featureColumns, pct, score } from './context.ts';
import { num } from './sql.ts';
import type { ColumnProfile, Finding } from './types.ts';

/** Held-out accuracy and lift over the majority baseline at which one feature "alone predicts the label". */
export const SINGLE_FEATURE_ACCURACY = 0.98;
export const SINGLE_FEATURE_LIFT = 0.9;
/** |Pearson r| at which a numeric feature alone predicts a numeric target. */
export const SINGLE_FEATURE_CORR = 0.99;
const BINS = 100;
/** A numeric target with at most this many distinct values is treated as classes. */
export const MAX_CLASSES = 20;

/**
 * True when the target is a class label rather than a quantity.
 *
 * @example
 * isClassTarget(ctx.train.byName.get('label')!); // true
 */
export function isClassTarget(p: ColumnProfile): boolean {
  return p.kind !== 'numeric' || p.distinct <= MAX_CLASSES;
}

/**
 * Test rows whose features all equal those of some train row (identifiers and the target left out).
 *
 * @example
 * await findSharedRows(db, ctx); // [{ check: 'leakage.shared-rows', split: 'test', ... }]
 */
export async function findSharedRows(db: DuckSession, ctx: AuditContext): Promise<Finding[]> {
  const test = ctx.test;
  if (!test) return [];
  const testNames = new Set(featureColumns(test, ctx).map((c) => c.name));
  const cols = featureColumns(ctx.train, ctx).map((c) => c.name).filter((c) => testNames.has(c));
  if (cols.length === 0) return [];
  const on = cols.map((c) => `t.${sqlIdent(c)} IS NOT DISTINCT FROM r.${sqlIdent(c)}`).join(' AND ');
  const shared = `SELECT t.rowid AS rid FROM ${test.table} t SEMI JOIN ${ctx.train.table} r ON ${on}`;
  const [r] = await db.all(`SELECT count(*) AS n FROM (${shared})`);
  const n = num(r.n);
  if (n === 0) return [];
  const share = n / test.loaded.rows;
  return [{
    check: 'leakage.shared-rows', severity: share >= 0.01 ? 'error' : 'warn', score: score(share), split: 'test',
    message: `${count(n)} of ${count(test.loaded.rows)} test rows (${pct(share)}) also occur in train (same ${cols.length} feature values); scores on them measure memory, not generalisation.`,
    evidence: { rows: await evidenceRows(db, `SELECT rid FROM (${shared}) ORDER BY rid`) }, details: { sharedRows: n, rate: share, columns: cols },
  }];
}

/**
 * Identifier-like columns (a distinct value in every row): not features, and a leak when the file order
 * follows the label.
 *
 * @example
 * await findIdentifierColumns(ctx);
 */
export async function findIdentifierColumns(ctx: AuditContext): Promise<Finding[]> {
  return ctx.train.profile.columns
    .filter((c) => c.kind === 'identifier' && c.name !== ctx.target)
    .map((c) => ({
      check: 'leakage.identifier', severity: 'info' as const, score: 0.5, column: c.name,
      message: `Column '${c.name}' looks like an identifier (${count(c.distinct)} distinct values in ${count(c.rows)} rows); keep it out of the features.`,
      evidence: { values: c.topValues?.slice(0, 5).map((v) => v.value) ?? [c.min, c.max] }, details: { distinct: c.distinct, source: c.source },
    }));
}

/**
 * Features that alone predict the target almost perfectly. Classes: a lookup from the feature's value (numeric
 * features: one of 100 equal-width bins) to the majority label, fitted on even train rows and scored on odd
 * ones (rows split by a hash of their index). Numeric targets: |Pearson r| with each numeric feature.
 *
 * @example
 * await findSingleFeaturePredictors(db, { ...ctx, target: 'label' });
 */
export async function findSingleFeaturePredictors(db: DuckSession, ctx: AuditContext): Promise<Finding[]> {
  const s = ctx.train;
  const target = ctx.target ? s.byName.get(ctx.target) : undefined;
  if (!target) return [];
  const y = sqlIdent(target.name);
  const out: Finding[] = [];
  const candidates = s.profile.columns.filter((c) => c.name !== target.name && (c.kind === 'numeric' || c.kind === 'categorical' || c.kind === 'boolean' || (c.kind === 'identifier' && s.counts[c.name].numeric === c.rows)));
  if (!isClassTarget(target)) {
    for (const c of candidates.filter((k) => k.kind === 'numeric')) {
      const [r] = await db.all(`SELECT corr(${sqlIdent(c.name)}, ${y}) AS r FROM ${s.numTable}`);
      const corr = num(r.r);
      if (Math.abs(corr) >= SINGLE_FEATURE_CORR) out.push(predictor(c.name, target.name, `correlates with '${target.name}' at r = ${corr.toFixed(4)}`, Math.abs(corr), { correlation: corr }));
    }
    return out;
  }
  const [maj] = await db.all(`SELECT ${y} AS v FROM ${s.table} WHERE ${y} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  if (!maj) return [];
  for (const c of candidates) {
    const x = sqlIdent(c.name);
    const numeric = c.kind === 'numeric' || c.kind === 'identifier';
    const min = numeric ? num(s.counts[c.name].min) : 0;
    const bins = Math.min(BINS, Math.max(10, Math.floor(s.loaded.rows / 20)));
    const width = numeric ? Math.max((num(s.counts[c.name].max) - min) / bins, 1e-300) : 1;
    const key = numeric ? `coalesce(least(floor((f.${x} - ${min}) / ${width}), ${bins - 1})::INTEGER, -1)::VARCHAR` : `f.${x}`;
    const source = numeric ? `${s.numTable} f POSITIONAL JOIN (SELECT rowid AS __rid, ${y} AS __y FROM ${s.table}) g` : `(SELECT rowid AS __rid, ${x}, ${y} AS __y FROM ${s.table}) f`;
    const sql = `WITH k AS (SELECT hash(__rid) % 2 AS fold, ${key} AS key, __y AS y FROM ${source} WHERE __y IS NOT NULL),
      fit AS (SELECT key, arg_max(y, n) AS pred FROM (SELECT key, y, count(*) AS n FROM k WHERE fold = 0 GROUP BY key, y) GROUP BY key)
      SELECT avg(CASE WHEN coalesce(fit.pred, ${sqlString(String(maj.v))}) = k.y THEN 1.0 ELSE 0.0 END) AS acc,
             avg(CASE WHEN k.y = ${sqlString(String(maj.v))} THEN 1.0 ELSE 0.0 END) AS base, count(*) AS n
      FROM k LEFT JOIN fit ON k.key IS NOT DISTINCT FROM fit.key WHERE k.fold = 1`;
    const [r] = await db.all(sql);
    const acc = num(r.acc);
    const base = num(r.base);
    const lift = base < 1 ? (acc - base) / (1 - base) : 0;
    if (num(r.n) >= 20 && acc >= SINGLE_FEATURE_ACCURACY && lift >= SINGLE_FEATURE_LIFT) {
      out.push(predictor(c.name, target.name, `predicts '${target.name}' with ${pct(acc)} held-out accuracy on its own (majority baseline ${pct(base)})`, lift, { accuracy: acc, baseline: base, lift }));
    }
  }
  return out;
}

function predictor(column: string, target: string, what: string, s: number, details: Record<string, number>): Finding {
  return {
    check: 'leakage.single-feature', severity: 'error', score: score(s), column,
    message: `Feature '${column}' ${what}: it probably leaks the label (computed from it, or recorded after it).`,
    evidence: {}, details: { ...details, target },
  };
}
