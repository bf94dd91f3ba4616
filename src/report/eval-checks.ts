/**
 * The pass/fail summary an evaluation page opens with: one row per analysis the evaluation ran (or could not
 * run, and why), judged against the thresholds of {@link EVAL_CHECK_THRESHOLDS}. A threshold broken is a
 * `warn`, never a `fail`: only a gate the user set (`compare`, `compress --min-agreement`) fails a run.
 */
import type { EvalResult } from '../eval/run.ts';
import type { CheckRow } from './html.ts';

/**
 * Where the evaluation summary starts to warn. Documented in docs/guide-eval.md.
 *
 * @example
 * EVAL_CHECK_THRESHOLDS.ece; // 0.05
 */
export const EVAL_CHECK_THRESHOLDS = {
  /** Expected calibration error above this warns. */
  ece: 0.05,
  /** Demographic parity or equalized odds difference above this warns. */
  fairnessGap: 0.1,
  /** A corruption that lowers the metric by more than this warns. */
  corruptionDrop: 0.05,
  /** PGD accuracy at the smallest attacked epsilon more than this below clean accuracy warns. */
  adversarialDrop: 0.1,
  /** The best OOD score's AUROC below this warns. */
  oodAuroc: 0.8,
} as const;

const f3 = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(3))) : '—');

function sliceCheck(r: EvalResult): CheckRow {
  const reps = r.scores?.slices ?? [];
  if (!reps.length) return { check: 'Slices', status: 'skipped', detail: 'no --slice or --sensitive column given' };
  const worse: string[] = [];
  for (const rep of reps) {
    const overall = r.scores?.overall[rep.metric]?.estimate;
    for (const sl of rep.worst) {
      const m = sl.metrics?.find((x) => x.name === rep.metric);
      if (m && overall !== undefined && Number.isFinite(m.high) && m.high < overall) worse.push(`${rep.column}=${sl.value} (${f3(m.estimate)}, CI up to ${f3(m.high)} < overall ${f3(overall)})`);
    }
  }
  return worse.length
    ? { check: 'Slices', status: 'warn', detail: `slices significantly worse than overall: ${worse.join('; ')}`, section: 'slices' }
    : { check: 'Slices', status: 'pass', detail: `no slice of ${reps.map((x) => x.column).join(', ')} is significantly worse than overall`, section: 'slices' };
}

function fairnessCheck(r: EvalResult): CheckRow {
  const all = r.scores?.fairness ?? [];
  if (!all.length) return { check: 'Fairness', status: 'skipped', detail: 'no --sensitive column given' };
  const t = EVAL_CHECK_THRESHOLDS.fairnessGap;
  const gaps = all.map((fr) => `${fr.column}: demographic parity difference ${f3(fr.report.demographicParityDifference)}, equalized odds difference ${f3(fr.report.equalizedOddsDifference)}`);
  const over = all.some((fr) => fr.report.demographicParityDifference > t || fr.report.equalizedOddsDifference > t);
  return { check: 'Fairness', status: over ? 'warn' : 'pass', detail: `${gaps.join('; ')} (warn above ${t})`, section: 'fairness' };
}

function robustnessChecks(r: EvalResult): CheckRow[] {
  const out: CheckRow[] = [];
  const corr = r.robustness?.corruptions ?? [];
  if (corr.length) {
    const worst = corr.reduce((a, b) => (b.delta < a.delta ? b : a));
    const t = EVAL_CHECK_THRESHOLDS.corruptionDrop;
    const higherIsBetter = r.scores?.overall[worst.metric]?.higherIsBetter ?? true;
    const drop = higherIsBetter ? -worst.delta : worst.delta;
    out.push({ check: 'Corruptions', status: drop > t ? 'warn' : 'pass', detail: `worst: ${worst.kind} at severity ${worst.severity} changes ${worst.metric} by ${f3(worst.delta)} (warn when worse by more than ${t})`, section: 'robustness' });
  } else if (!r.lm) out.push({ check: 'Corruptions', status: 'skipped', detail: 'run without corruptions (--no-corruptions)' });
  const adv = r.robustness?.adversarial ?? [];
  if (!adv.length && !r.lm?.adversarial) out.push({ check: 'Adversarial attacks', status: 'skipped', detail: 'not run (--adversarial)' });
  for (const a of adv) {
    const clean = a.points.find((p) => p.eps === 0)?.pgdAccuracy;
    const first = a.points.filter((p) => p.eps > 0).sort((x, y) => x.eps - y.eps)[0];
    if (clean === undefined || !first) continue;
    const drop = clean - first.pgdAccuracy;
    out.push({ check: `Adversarial (${a.norm})`, status: drop > EVAL_CHECK_THRESHOLDS.adversarialDrop ? 'warn' : 'pass', detail: `PGD accuracy ${f3(clean)} at epsilon 0, ${f3(first.pgdAccuracy)} at epsilon ${f3(first.eps)}`, section: 'robustness' });
  }
  return out;
}

/**
 * The checks of an evaluation, in page order.
 *
 * @example
 * evalChecks(result).map((c) => `${c.status} ${c.check}`); // ['pass Metrics', 'warn Calibration', 'skipped Slices', …]
 */
export function evalChecks(r: EvalResult): CheckRow[] {
  const out: CheckRow[] = [];
  const s = r.scores;
  if (s) out.push({ check: 'Metrics', status: 'pass', detail: `${Object.keys(s.overall).filter((k) => !k.includes(':')).length} metrics with 95% bootstrap intervals (${s.resamples} resamples)`, section: 'metrics' });
  if (r.lm) out.push({ check: 'Language model', status: 'pass', detail: `perplexity ${f3(r.lm.clean.perplexity)} on ${r.lm.clean.tokens} tokens`, section: 'lm' });
  if (s && !r.lm) out.push(sliceCheck(r), fairnessCheck(r));
  const cal = s?.calibration;
  if (cal) {
    const ece = cal.after?.ece ?? cal.before.ece;
    const t = EVAL_CHECK_THRESHOLDS.ece;
    out.push({ check: 'Calibration', status: ece > t ? 'warn' : 'pass', detail: `ECE ${f3(ece)}${cal.after ? ' after temperature scaling' : ''} (warn above ${t})`, section: 'calibration' });
  }
  out.push(...robustnessChecks(r));
  if (r.ood) {
    const best = Math.max(...Object.values(r.ood.scores).map((x) => x.auroc));
    const t = EVAL_CHECK_THRESHOLDS.oodAuroc;
    out.push({ check: 'Out-of-distribution detection', status: best < t ? 'warn' : 'pass', detail: `best AUROC ${f3(best)} on ${r.ood.set} (warn below ${t})`, section: 'ood' });
  }
  for (const n of r.notes) out.push({ check: 'Note', status: 'warn', detail: n });
  return out;
}
