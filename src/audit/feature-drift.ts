/**
 * Feature drift between train and test: Kolmogorov-Smirnov for numeric columns (on reservoir samples for
 * large splits), chi-square plus Jensen-Shannon distance for categorical and boolean ones.
 */
import { type DuckSession, sqlIdent } from '../data/readers/index.ts';
import { chiSquareTwoSample, jensenShannon, ksTwoSample } from '../stats/drift.ts';
import { type AuditContext, score } from './context.ts';
import type { ProfiledSplit } from './profile.ts';
import { num } from './sql.ts';
import { DRIFT_EFFECT, DRIFT_P, type DriftTest, type Finding } from './types.ts';

export { DRIFT_EFFECT, DRIFT_P } from './types.ts';
/** Rows sampled per split for the KS test. */
export const KS_SAMPLE = 50_000;
const MAX_CATEGORIES = 50;

async function sample(db: DuckSession, s: ProfiledSplit, name: string): Promise<Float64Array> {
  const x = sqlIdent(name);
  const src = s.loaded.rows > KS_SAMPLE ? `(SELECT ${x} FROM ${s.numTable} USING SAMPLE reservoir(${KS_SAMPLE} ROWS) REPEATABLE (7))` : s.numTable;
  return Float64Array.from((await db.column(`SELECT ${x} FROM ${src} WHERE ${x} IS NOT NULL`)).map(num));
}

async function categories(db: DuckSession, s: ProfiledSplit, name: string): Promise<Map<string, number>> {
  const x = sqlIdent(name);
  const rows = await db.all(`SELECT ${x} AS v, count(*) AS n FROM ${s.table} WHERE ${x} IS NOT NULL GROUP BY 1`);
  return new Map(rows.map((r) => [String(r.v), num(r.n)]));
}

/**
 * Compares every numeric, categorical and boolean column present in both splits (the target is left to the
 * label checks). Every test run, drifted or not, is appended to `tests` when given.
 *
 * @example
 * const tests: DriftTest[] = [];
 * await checkFeatureDrift(db, ctx, tests); // [{ check: 'drift.feature', column: 'age', details: { test: 'ks', statistic, pValue } }]
 */
export async function checkFeatureDrift(db: DuckSession, ctx: AuditContext, tests: DriftTest[] = []): Promise<Finding[]> {
  const test = ctx.test;
  if (!test) return [];
  const out: Finding[] = [];
  for (const col of ctx.train.profile.columns) {
    const other = test.byName.get(col.name);
    if (!other || col.name === ctx.target) continue;
    if (col.kind === 'numeric') {
      const a = await sample(db, ctx.train, col.name);
      const b = await sample(db, test, col.name);
      if (a.length === 0 || b.length === 0) continue;
      const r = ksTwoSample(a, b);
      const drifted = r.pValue < DRIFT_P && r.statistic >= DRIFT_EFFECT;
      tests.push({ column: col.name, test: 'ks', statistic: r.statistic, pValue: r.pValue, effect: r.statistic, drifted });
      if (drifted) {
        out.push({
          check: 'drift.feature', severity: 'warn', score: score(r.statistic), column: col.name, split: 'train/test',
          message: `Column '${col.name}' is distributed differently in test (KS statistic ${r.statistic.toFixed(3)}, p = ${r.pValue.toExponential(2)}).`,
          evidence: {}, details: { test: 'ks', statistic: r.statistic, pValue: r.pValue, trainMedian: col.quantiles?.p50, testMedian: other.quantiles?.p50 },
        });
      }
    } else if (col.kind === 'categorical' || col.kind === 'boolean') {
      const a = await categories(db, ctx.train, col.name);
      const b = await categories(db, test, col.name);
      const keys = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (a.get(y) ?? 0) + (b.get(y) ?? 0) - (a.get(x) ?? 0) - (b.get(x) ?? 0));
      const top = keys.slice(0, MAX_CATEGORIES);
      const rest = keys.slice(MAX_CATEGORIES);
      const ca = [...top.map((k) => a.get(k) ?? 0), rest.reduce((s, k) => s + (a.get(k) ?? 0), 0)];
      const cb = [...top.map((k) => b.get(k) ?? 0), rest.reduce((s, k) => s + (b.get(k) ?? 0), 0)];
      if (rest.length === 0) {
        ca.pop();
        cb.pop();
      }
      if (ca.length < 2 || ca.every((v) => v === 0) || cb.every((v) => v === 0)) continue;
      const chi = chiSquareTwoSample(ca, cb);
      const js = jensenShannon(ca, cb);
      const drifted = chi.pValue < DRIFT_P && js >= DRIFT_EFFECT;
      tests.push({ column: col.name, test: 'chi-square', statistic: chi.statistic, pValue: chi.pValue, effect: js, drifted });
      if (drifted) {
        out.push({
          check: 'drift.feature', severity: 'warn', score: score(js), column: col.name, split: 'train/test',
          message: `Column '${col.name}' has a different mix of values in test (Jensen-Shannon distance ${js.toFixed(3)}, chi-square p = ${chi.pValue.toExponential(2)}).`,
          evidence: { values: top.slice(0, 10) }, details: { test: 'chi-square', statistic: chi.statistic, pValue: chi.pValue, jensenShannon: js },
        });
      }
    }
  }
  return out;
}
