/**
 * Integrity checks on one split: missing values, mixed types within a column, constant and near-constant
 * columns, values that do not fit the column's kind, and outliers (robust z-score on the MAD and IQR fences).
 */
import { type DuckSession, sqlIdent } from '../data/readers/index.ts';
import { count, evidenceRows, pct, score } from './context.ts';
import type { ProfiledSplit } from './profile.ts';
import { booleanSql, datetimeSql, num } from './sql.ts';
import type { Finding } from './types.ts';

/** A column this share missing or more is an error (nearly empty); from 5% a warning. */
export const MISSING_ERROR = 0.95;
const MISSING_WARN = 0.05;
/** Minority type share at which a column counts as mixed (numbers and words). */
export const MIXED_SHARE = 0.05;
/** Top-value share at which a column counts as near-constant. */
export const NEAR_CONSTANT = 0.99;
/** IQR fence multiplier (3 = Tukey's "far out") and robust z threshold (Iglewicz & Hoaglin). */
export const IQR_K = 3;
export const ROBUST_Z = 3.5;

/**
 * Runs every integrity check on a split.
 *
 * @example
 * const findings = await checkIntegrity(db, train);
 */
export async function checkIntegrity(db: DuckSession, s: ProfiledSplit): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const col of s.profile.columns) {
    const c = sqlIdent(col.name);
    const st = s.counts[col.name];
    const nonMissing = st.rows - st.missing;
    if (st.missing > 0) {
      const share = st.missing / st.rows;
      out.push({
        check: 'integrity.missing', severity: share >= MISSING_ERROR ? 'error' : share >= MISSING_WARN ? 'warn' : 'info', score: score(share), column: col.name,
        message: `Column '${col.name}' is missing in ${count(st.missing)} of ${count(st.rows)} rows (${pct(share)}).`,
        evidence: { rows: await evidenceRows(db, `SELECT rowid FROM ${s.table} WHERE ${c} IS NULL ORDER BY rowid`) }, details: { missing: st.missing, rate: share },
      });
    }
    if (nonMissing === 0) continue;
    const words = nonMissing - st.numeric;
    const minority = Math.min(st.numeric, words);
    if (col.kind !== 'text' && col.kind !== 'numeric' && minority >= MIXED_SHARE * nonMissing) {
      const wantNumbers = st.numeric < words;
      const rows = await evidenceRows(db, `SELECT rid FROM ${withNumbers(s, col.name)} WHERE ${c} IS NOT NULL AND __num IS ${wantNumbers ? 'NOT ' : ''}NULL ORDER BY rid`);
      out.push({
        check: 'integrity.mixed-types', severity: 'warn', score: score(minority / nonMissing), column: col.name,
        message: `Column '${col.name}' mixes numbers (${count(st.numeric)}) and other values (${count(words)}).`,
        evidence: { rows, values: await valuesAt(db, s.table, col.name, rows) }, details: { numbers: st.numeric, others: words },
      });
    }
    if (st.distinct === 1) {
      out.push({
        check: 'integrity.constant', severity: 'warn', score: 1, column: col.name,
        message: `Column '${col.name}' has a single value ('${col.topValues?.[0]?.value ?? col.min}') in every non-missing row; it carries no information.`,
        evidence: { values: [col.topValues?.[0]?.value ?? col.min] }, details: { distinct: 1 },
      });
    } else if (st.rows >= 100 && st.distinct <= (1 - NEAR_CONSTANT) * nonMissing + 1) {
      const [top] = await db.all(`SELECT ${c} AS v, count(*) AS n FROM ${s.table} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`);
      const share = num(top.n) / nonMissing;
      if (share >= NEAR_CONSTANT) {
        out.push({
          check: 'integrity.near-constant', severity: 'info', score: score(share), column: col.name,
          message: `Column '${col.name}' is '${top.v}' in ${pct(share)} of rows; it carries almost no information.`,
          evidence: { values: [top.v] }, details: { topShare: share, distinct: st.distinct },
        });
      }
    }
    out.push(...(await invalidValues(db, s, col.name, col.kind, nonMissing)));
    if (col.kind === 'numeric') out.push(...(await outliers(db, s, col.name)));
  }
  return out;
}

/** A subquery with `rid` (data row), the column's text and its number as `__num` (the twin tables align by position). */
function withNumbers(s: ProfiledSplit, name: string): string {
  const c = sqlIdent(name);
  return `(SELECT t.rowid AS rid, t.${c} AS ${c}, n.${c} AS __num FROM ${s.table} t POSITIONAL JOIN ${s.numTable} n)`;
}

async function valuesAt(db: DuckSession, table: string, column: string, rows: number[]): Promise<unknown[]> {
  if (rows.length === 0) return [];
  const got = await db.all(`SELECT rowid AS r, ${sqlIdent(column)} AS v FROM ${table} WHERE rowid IN (${rows.join(', ')}) ORDER BY rowid`);
  return got.map((g) => g.v);
}

/** Cells that do not fit the column's kind (numeric, boolean, datetime). */
async function invalidValues(db: DuckSession, s: ProfiledSplit, name: string, kind: string, nonMissing: number): Promise<Finding[]> {
  const c = sqlIdent(name);
  let where: string;
  let what: string;
  if (kind === 'numeric') {
    where = `${c} IS NOT NULL AND __num IS NULL`;
    what = 'a number';
  } else if (kind === 'boolean') {
    where = `${c} IS NOT NULL AND NOT ${booleanSql(name)}`;
    what = 'a boolean';
  } else if (kind === 'datetime') {
    where = `${c} IS NOT NULL AND NOT ${datetimeSql(name)}`;
    what = 'a date';
  } else return [];
  const from = withNumbers(s, name);
  const [r] = await db.all(`SELECT count(*) AS n FROM ${from} WHERE ${where}`);
  const bad = num(r.n);
  if (bad === 0) return [];
  const rows = await evidenceRows(db, `SELECT rid FROM ${from} WHERE ${where} ORDER BY rid`);
  return [{
    check: 'integrity.invalid', severity: 'error', score: score(bad / nonMissing), column: name,
    message: `Column '${name}' is ${kind} but ${count(bad)} value${bad === 1 ? ' is' : 's are'} not ${what} (first at data row ${rows[0]}).`,
    evidence: { rows, values: await valuesAt(db, s.table, name, rows) }, details: { invalid: bad, kind },
  }];
}

/** Values beyond Q1 - 3 IQR / Q3 + 3 IQR that also have a robust z-score above 3.5. */
async function outliers(db: DuckSession, s: ProfiledSplit, name: string): Promise<Finding[]> {
  const p = s.byName.get(name)!;
  const q = p.quantiles;
  if (!q) return [];
  const iqr = q.p75 - q.p25;
  if (!(iqr > 0)) return [];
  const mad = s.mad[name] ?? 0;
  const lo = q.p25 - IQR_K * iqr;
  const hi = q.p75 + IQR_K * iqr;
  const x = sqlIdent(name);
  const robust = mad > 0 ? ` AND 0.6745 * abs(${x} - ${q.p50}) / ${mad} > ${ROBUST_Z}` : '';
  const where = `(${x} < ${lo} OR ${x} > ${hi})${robust}`;
  const [r] = await db.all(`SELECT count(*) AS n, min(${x}) AS lo, max(${x}) AS hi FROM ${s.numTable} WHERE ${where}`);
  const n = num(r.n);
  if (n === 0) return [];
  const far = num(r.hi) > q.p75 + 10 * iqr || num(r.lo) < q.p25 - 10 * iqr;
  const rows = await evidenceRows(db, `SELECT rowid FROM ${s.numTable} WHERE ${where} ORDER BY abs(${x} - ${q.p50}) DESC, rowid`);
  const nonMissing = s.counts[name].numeric;
  return [{
    check: 'integrity.outliers', severity: far ? 'warn' : 'info', score: score(n / nonMissing), column: name,
    message: `Column '${name}' has ${count(n)} outlier${n === 1 ? '' : 's'} outside [${lo.toPrecision(4)}, ${hi.toPrecision(4)}] (3 IQR fences, robust z > ${ROBUST_Z})${far ? `, as far as ${(num(r.hi) > hi ? num(r.hi) : num(r.lo)).toPrecision(4)}` : ''}.`,
    evidence: { rows, values: await valuesAt(db, s.numTable, name, rows) }, details: { outliers: n, low: lo, high: hi, median: q.p50, mad, iqr },
  }];
}
