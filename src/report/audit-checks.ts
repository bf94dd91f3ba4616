/**
 * The pass/fail summary an audit page opens with: one row per check family, failed on errors, to look at on
 * warnings, passed when the family ran and found nothing, skipped (with the flag that would run it) when its
 * input was not given.
 */
import type { AuditResult } from '../audit/types.ts';
import { checkFamily, findingsByFamily, sensitiveColumns, severityCounts } from './audit-view.ts';
import type { CheckRow } from './html.ts';

const FAMILIES: [family: string, title: string, needs: (r: AuditResult) => string | null, passed: (r: AuditResult) => string][] = [
  ['integrity', 'Integrity', () => null, (r) => `no missing-value, type, constant or outlier problem in ${r.splits.reduce((a, s) => a + s.columns.length, 0)} column profiles`],
  ['duplicates', 'Duplicates', () => null, () => 'no exact copies or conflicting labels above the thresholds'],
  ['leakage', 'Train/test leakage', () => null, (r) => (r.splits.length > 1 ? 'no test row copies a training row; no identifier or single-feature giveaway' : 'no identifier or single-feature giveaway')],
  ['contamination', 'Contamination', (r) => (!r.options?.textColumn ? 'no text column' : r.splits.length < 2 ? 'no --test split' : null), () => 'no test text shares long n-grams with training text'],
  ['labels', 'Labels', (r) => (r.options?.target ? null : 'no --target column'), () => 'balance, rare and unseen classes and label drift within thresholds'],
  ['bias', 'Bias', (r) => (sensitiveColumns(r).length ? null : 'no --sensitive column'), (r) => `group sizes and rates of ${sensitiveColumns(r).join(', ')} within thresholds`],
  ['drift', 'Drift', (r) => (r.splits.length > 1 ? null : 'no --test split'), (r) => (r.driftTests ? `${r.driftTests.length} columns tested, none drifted` : 'no column drifted')],
];

/**
 * The checks of an audit, in report order (families without findings and not in the list above are not shown).
 *
 * @example
 * auditChecks(result).map((c) => `${c.status} ${c.check}`); // ['pass Integrity', 'warn Duplicates', 'skipped Bias', …]
 */
export function auditChecks(r: AuditResult): CheckRow[] {
  const byFamily = new Map(findingsByFamily(r.findings));
  const known = new Set(FAMILIES.map(([f]) => f));
  const rows: CheckRow[] = FAMILIES.map(([fam, title, needs, passed]) => {
    const list = (byFamily.get(fam) ?? []).filter((f) => f.severity !== 'info');
    const c = severityCounts(list);
    const section = `findings-${fam}`;
    if (c.error || c.warn) return { check: title, status: c.error ? 'fail' : 'warn', detail: `${c.error} errors, ${c.warn} warnings: ${(list.find((f) => f.severity === 'error') ?? list[0]).message}`, section };
    const missing = needs(r);
    if (missing) return { check: title, status: 'skipped', detail: `not run: ${missing}` };
    const notes = (byFamily.get(fam) ?? []).length;
    return { check: title, status: 'pass', detail: passed(r) + (notes ? ` (${notes} notes below)` : ''), section: notes ? section : fam === 'drift' ? 'drift' : undefined };
  });
  for (const [fam, list] of byFamily) {
    if (known.has(fam)) continue;
    const c = severityCounts(list);
    rows.push({ check: fam, status: c.error ? 'fail' : c.warn ? 'warn' : 'pass', detail: `${c.error} errors, ${c.warn} warnings, ${c.info} notes`, section: `findings-${checkFamily(list[0].check)}` });
  }
  return rows;
}
