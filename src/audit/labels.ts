/**
 * Label checks: class imbalance within train (and classes too small to learn or evaluate), and label drift
 * between train and test (chi-square on the class counts, Jensen-Shannon distance, classes seen in only one split).
 */
import { type DuckSession, sqlIdent } from '../data/readers/index.ts';
import { chiSquareTwoSample, jensenShannon } from '../stats/drift.ts';
import { type AuditContext, count, pct, score } from './context.ts';
import { isClassTarget } from './leakage.ts';
import type { ProfiledSplit } from './profile.ts';
import { num } from './sql.ts';
import type { Finding } from './types.ts';

/** Minority/majority count ratio below which imbalance is a warning (below 0.5: info). */
export const IMBALANCE_WARN = 0.2;
/** Fewer examples than this in a class is a warning. */
export const MIN_CLASS_COUNT = 10;
/** Label drift needs both a small p-value and a visible distance. */
export const DRIFT_P = 0.001;
export const DRIFT_JS = 0.1;

/**
 * Class counts of the target in a split, most frequent first.
 *
 * @example
 * await classCounts(db, train, 'label'); // [{ label: 'ham', n: 4150 }, { label: 'spam', n: 1896 }]
 */
export async function classCounts(db: DuckSession, s: ProfiledSplit, target: string): Promise<{ label: string; n: number }[]> {
  const y = sqlIdent(target);
  const rows = await db.all(`SELECT ${y} AS v, count(*) AS n FROM ${s.table} WHERE ${y} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1`);
  return rows.map((r) => ({ label: String(r.v), n: num(r.n) }));
}

/**
 * Class imbalance in train.
 *
 * @example
 * await checkImbalance(db, ctx); // [{ check: 'labels.imbalance', ... }]
 */
export async function checkImbalance(db: DuckSession, ctx: AuditContext): Promise<Finding[]> {
  const t = ctx.target ? ctx.train.byName.get(ctx.target) : undefined;
  if (!t || !isClassTarget(t)) return [];
  const classes = await classCounts(db, ctx.train, t.name);
  if (classes.length < 2) return [];
  const out: Finding[] = [];
  const ratio = classes[classes.length - 1].n / classes[0].n;
  const total = classes.reduce((a, c) => a + c.n, 0);
  const groups = classes.map((c) => ({ group: c.label, count: c.n, share: c.n / total }));
  if (ratio < 0.5) {
    const rare = classes[classes.length - 1];
    out.push({
      check: 'labels.imbalance', severity: ratio < IMBALANCE_WARN ? 'warn' : 'info', score: score(1 - ratio), column: t.name,
      message: `Class '${rare.label}' has ${count(rare.n)} rows (${pct(rare.n / total)}) against ${count(classes[0].n)} for '${classes[0].label}' (ratio ${ratio.toFixed(3)}); accuracy will flatter a model that ignores it.`,
      evidence: { values: classes.map((c) => c.label) }, details: { ratio, groups },
    });
  }
  const tiny = classes.filter((c) => c.n < MIN_CLASS_COUNT);
  if (tiny.length > 0) {
    out.push({
      check: 'labels.rare-class', severity: 'warn', score: score(tiny.length / classes.length), column: t.name,
      message: `${tiny.length} class${tiny.length > 1 ? 'es have' : ' has'} fewer than ${MIN_CLASS_COUNT} examples (${tiny.slice(0, 5).map((c) => `'${c.label}': ${c.n}`).join(', ')}); too few to learn or to evaluate.`,
      evidence: { values: tiny.map((c) => c.label) }, details: { classes: tiny },
    });
  }
  return out;
}

/**
 * Label drift between train and test.
 *
 * @example
 * await checkLabelDrift(db, ctx); // [{ check: 'labels.drift', details: { test: 'chi-square', statistic, pValue, jensenShannon } }]
 */
export async function checkLabelDrift(db: DuckSession, ctx: AuditContext): Promise<Finding[]> {
  const t = ctx.target ? ctx.train.byName.get(ctx.target) : undefined;
  if (!t || !ctx.test || !ctx.test.byName.has(t.name) || !isClassTarget(t)) return [];
  const a = await classCounts(db, ctx.train, t.name);
  const b = await classCounts(db, ctx.test, t.name);
  const labels = [...new Set([...a.map((c) => c.label), ...b.map((c) => c.label)])].sort();
  const ca = labels.map((l) => a.find((c) => c.label === l)?.n ?? 0);
  const cb = labels.map((l) => b.find((c) => c.label === l)?.n ?? 0);
  const out: Finding[] = [];
  const unseen = labels.filter((_, i) => ca[i] === 0);
  if (unseen.length > 0) {
    out.push({
      check: 'labels.unseen-class', severity: 'error', score: 1, column: t.name, split: 'test',
      message: `Test has label${unseen.length > 1 ? 's' : ''} ${unseen.map((l) => `'${l}'`).join(', ')} that never occur in train; a model cannot predict ${unseen.length > 1 ? 'them' : 'it'}.`,
      evidence: { values: unseen }, details: { labels: unseen },
    });
  }
  const chi = chiSquareTwoSample(ca, cb);
  const js = jensenShannon(ca, cb);
  if (chi.pValue < DRIFT_P && js >= DRIFT_JS) {
    const sa = ca.reduce((x, y) => x + y, 0);
    const sb = cb.reduce((x, y) => x + y, 0);
    out.push({
      check: 'labels.drift', severity: 'warn', score: score(js), column: t.name, split: 'train/test',
      message: `The label mix differs between train and test (Jensen-Shannon distance ${js.toFixed(3)}, chi-square p = ${chi.pValue.toExponential(2)}).`,
      evidence: { values: labels },
      details: { test: 'chi-square', statistic: chi.statistic, pValue: chi.pValue, jensenShannon: js, groups: labels.map((l, i) => ({ group: l, train: ca[i] / sa, test: cb[i] / sb })) },
    });
  }
  return out;
}
