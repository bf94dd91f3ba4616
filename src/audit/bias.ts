/**
 * Bias checks for user-declared sensitive columns: group sizes, label base rates per group and their ratio
 * (disparate impact, the four-fifths rule), and missingness per group. `details.groups` feeds the report chart.
 */
import { type DuckSession, sqlIdent, sqlString } from '../data/readers/index.ts';
import { type AuditContext, count, pct, score } from './context.ts';
import { classCounts } from './labels.ts';
import { isClassTarget } from './leakage.ts';
import { num } from './sql.ts';
import type { Finding } from './types.ts';

/** Disparate-impact ratio below which base rates are flagged (the four-fifths rule); below 0.5 an error. */
export const DISPARATE_IMPACT = 0.8;
/** Groups smaller than this (rows) or this share get a size warning and are left out of the ratio. */
export const MIN_GROUP_ROWS = 20;
export const MIN_GROUP_SHARE = 0.01;
/** Missingness gap (absolute) between groups that is flagged when one group is also twice as often missing. */
export const MISSINGNESS_GAP = 0.05;
const MISSING_GROUP = '(missing)';

/**
 * One row of `details.groups`.
 *
 * @example
 * const g: GroupStats = { group: 'female', count: 120, baseRate: 0.31, missingRate: 0.02 };
 */
export interface GroupStats {
  group: string;
  count: number;
  baseRate?: number;
  missingRate: number;
}

/**
 * The favourable label whose rate is compared: `ctx.positive`, else the rarest class in train.
 *
 * @example
 * await positiveLabel(db, ctx); // 'spam'
 */
export async function positiveLabel(db: DuckSession, ctx: AuditContext): Promise<string | undefined> {
  if (ctx.positive !== undefined) return ctx.positive;
  const t = ctx.target ? ctx.train.byName.get(ctx.target) : undefined;
  if (!t || !isClassTarget(t)) return undefined;
  const classes = await classCounts(db, ctx.train, t.name);
  return classes.length >= 2 ? classes[classes.length - 1].label : undefined;
}

/**
 * Runs the bias checks for every column in `ctx.sensitive` on train.
 *
 * @example
 * await checkBias(db, { ...ctx, sensitive: ['sex'], target: 'income' });
 */
export async function checkBias(db: DuckSession, ctx: AuditContext): Promise<Finding[]> {
  const s = ctx.train;
  const positive = await positiveLabel(db, ctx);
  const out: Finding[] = [];
  for (const name of ctx.sensitive) {
    const g = sqlIdent(name);
    const others = s.profile.columns.filter((c) => c.name !== name && c.name !== ctx.target).map((c) => sqlIdent(c.name));
    const missing = others.length ? `(${others.map((c) => `(${c} IS NULL)::INTEGER`).join(' + ')}) / ${others.length}` : '0';
    const y = ctx.target ? sqlIdent(ctx.target) : null;
    const rate = y && positive !== undefined ? `, avg(CASE WHEN ${y} IS NULL THEN NULL WHEN ${y} = ${sqlString(positive)} THEN 1.0 ELSE 0.0 END) AS rate` : '';
    const rows = await db.all(`SELECT coalesce(${g}, ${sqlString(MISSING_GROUP)}) AS grp, count(*) AS n, avg(${missing}) AS miss${rate} FROM ${s.table} GROUP BY 1 ORDER BY 2 DESC, 1`);
    const groups: GroupStats[] = rows.map((r) => ({ group: String(r.grp), count: num(r.n), missingRate: num(r.miss) || 0, ...(rate ? { baseRate: num(r.rate) } : {}) }));
    const total = groups.reduce((a, x) => a + x.count, 0);
    out.push({
      check: 'bias.groups', severity: 'info', score: 0, column: name,
      message: `'${name}' has ${groups.length} groups: ${groups.slice(0, 6).map((x) => `${x.group} ${pct(x.count / total)}${x.baseRate !== undefined ? ` (rate ${pct(x.baseRate)})` : ''}`).join(', ')}${groups.length > 6 ? ', ...' : ''}.`,
      evidence: { values: groups.map((x) => x.group) }, details: { groups, positive },
    });
    const small = groups.filter((x) => x.count < MIN_GROUP_ROWS || x.count / total < MIN_GROUP_SHARE);
    if (small.length > 0) {
      out.push({
        check: 'bias.group-size', severity: 'warn', score: score(1 - Math.min(...small.map((x) => x.count)) / MIN_GROUP_ROWS), column: name,
        message: `${small.length} group${small.length > 1 ? 's' : ''} of '${name}' ${small.length > 1 ? 'are' : 'is'} too small for reliable estimates: ${small.slice(0, 5).map((x) => `${x.group} (${count(x.count)} rows)`).join(', ')}.`,
        evidence: { values: small.map((x) => x.group) }, details: { groups: small },
      });
    }
    const rated = groups.filter((x) => x.baseRate !== undefined && Number.isFinite(x.baseRate) && !small.includes(x));
    if (rated.length >= 2) {
      const lo = rated.reduce((a, x) => (x.baseRate! < a.baseRate! ? x : a));
      const hi = rated.reduce((a, x) => (x.baseRate! > a.baseRate! ? x : a));
      const ratio = hi.baseRate! > 0 ? lo.baseRate! / hi.baseRate! : 1;
      if (ratio < DISPARATE_IMPACT) {
        out.push({
          check: 'bias.disparate-impact', severity: ratio < 0.5 ? 'error' : 'warn', score: score(1 - ratio), column: name,
          message: `The rate of '${positive}' is ${pct(lo.baseRate!)} for ${name}=${lo.group} and ${pct(hi.baseRate!)} for ${name}=${hi.group}: disparate-impact ratio ${ratio.toFixed(2)} < ${DISPARATE_IMPACT}.`,
          evidence: { values: [lo.group, hi.group] }, details: { ratio, positive, groups: rated },
        });
      }
    }
    const big = groups.filter((x) => !small.includes(x));
    if (big.length >= 2) {
      const lo = big.reduce((a, x) => (x.missingRate < a.missingRate ? x : a));
      const hi = big.reduce((a, x) => (x.missingRate > a.missingRate ? x : a));
      if (hi.missingRate - lo.missingRate >= MISSINGNESS_GAP && hi.missingRate >= 2 * lo.missingRate) {
        out.push({
          check: 'bias.missingness', severity: 'warn', score: score(hi.missingRate - lo.missingRate), column: name,
          message: `Values are missing in ${pct(hi.missingRate)} of cells for ${name}=${hi.group} but ${pct(lo.missingRate)} for ${name}=${lo.group}; imputation will treat the groups differently.`,
          evidence: { values: [hi.group, lo.group] }, details: { groups: big },
        });
      }
    }
  }
  return out;
}
