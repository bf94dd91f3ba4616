/**
 * The evaluation report page: an {@link EvalResult} as one self-contained HTML page through the shared
 * renderer, with the reliability diagram, ROC curves, robust-accuracy curves, OOD ROC curves and group bars.
 */
import { IMAGE_CORRUPTIONS } from '../eval/image-corruptions.ts';
import type { EvalResult, OodResult } from '../eval/run.ts';
import { barChart, confusionHeatmap, intervalChart, lineChart, reliabilityDiagram, rocChart } from './charts.ts';
import { evalChecks } from './eval-checks.ts';
import { type Block, type Cell, renderReport, type ReportSection, writeReportFiles } from './html.ts';

/** The metrics the page opens with, when the evaluation has them (classification, then regression). */
const HEADLINE_METRICS = ['accuracy', 'balanced_accuracy', 'f1_macro', 'roc_auc', 'log_loss', 'ece', 'rmse', 'mae', 'r2'];
const METRIC_NAMES: Record<string, string> = {
  accuracy: 'accuracy', balanced_accuracy: 'balanced accuracy', f1_macro: 'F1 (macro)', roc_auc: 'ROC AUC', log_loss: 'log loss',
  ece: 'expected calibration error', rmse: 'RMSE', mae: 'MAE', r2: 'R²',
};

const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
const num = (v: number | undefined): Cell => (v === undefined || !Number.isFinite(v) ? null : Number(v.toPrecision(4)));

function metricsSection(r: EvalResult): ReportSection | null {
  const s = r.scores;
  if (!s) return null;
  const rows = Object.values(s.overall).filter((m) => !m.name.includes(':')).map((m): Cell[] => [m.name, num(m.estimate), num(m.low), num(m.high), m.higherIsBetter ? 'higher' : 'lower']);
  const blocks: Block[] = [{ kind: 'table', columns: ['metric', 'estimate', 'CI low', 'CI high', 'better'], rows, caption: `95% percentile bootstrap intervals, ${s.resamples} resamples (seeded)` }];
  const perClass = Object.values(s.overall).filter((m) => m.name.includes(':'));
  if (perClass.length) {
    const classes = [...new Set(perClass.map((m) => m.name.split(':').slice(1).join(':')))];
    const names = [...new Set(perClass.map((m) => m.name.split(':')[0]))];
    blocks.push({ kind: 'table', columns: ['class', ...names], rows: classes.map((c) => [c, ...names.map((n) => num(s.overall[`${n}:${c}`]?.estimate))]), caption: 'per class (one-vs-rest)' });
  }
  if (s.confusion && r.model.classes) blocks.push({ kind: 'chart', svg: confusionHeatmap({ title: 'confusion matrix', labels: r.model.classes, matrix: s.confusion }) });
  if (s.roc?.length) blocks.push({ kind: 'chart', svg: rocChart({ title: 'ROC curves (one-vs-rest)', curves: s.roc.map((c) => ({ name: c.name, auc: c.auc, points: c.x.map((x, i): [number, number] => [x, c.y[i]]) })) }) });
  return { id: 'metrics', title: 'Metrics', blocks };
}

function slicesSection(r: EvalResult): ReportSection | null {
  const reports = r.scores?.slices;
  if (!reports?.length) return null;
  const blocks: Block[] = [];
  for (const rep of reports) {
    const at = (sl: (typeof rep.slices)[number]) => sl.metrics?.find((m) => m.name === rep.metric);
    const overall = r.scores?.overall[rep.metric];
    blocks.push({
      kind: 'chart', caption: `dots: estimates; lines: 95% bootstrap intervals; the axis spans the values, not 0 to 1`,
      svg: intervalChart({ title: `${rep.metric} by ${rep.column}`, valueLabel: rep.metric, rows: rep.slices.map((sl) => ({ label: `${sl.value} (n=${sl.count})`, estimate: at(sl)?.estimate ?? NaN, low: at(sl)?.low ?? NaN, high: at(sl)?.high ?? NaN })), reference: overall ? { value: overall.estimate, label: 'overall' } : undefined }),
    });
    blocks.push({
      kind: 'table', columns: [rep.column, 'rows', rep.metric, 'CI low', 'CI high', 'worst'],
      rows: rep.slices.map((sl) => [sl.value, sl.count, num(at(sl)?.estimate), num(at(sl)?.low), num(at(sl)?.high), rep.worst.includes(sl) ? `#${rep.worst.indexOf(sl) + 1}` : sl.tooSmall ? `< ${rep.minSize} rows` : '']),
      caption: `slices with fewer than ${rep.minSize} rows get no interval and are never ranked worst`,
    });
  }
  return { id: 'slices', title: 'Slices', blocks };
}

function fairnessSection(r: EvalResult): ReportSection | null {
  const all = r.scores?.fairness;
  if (!all?.length) return null;
  const blocks: Block[] = [];
  for (const fr of all) {
    const g = fr.report.groups;
    blocks.push({
      kind: 'chart', caption: `decisions: P('${fr.positive}') >= 0.5`,
      svg: barChart({ title: `rates by ${fr.column}`, categories: g.map((x) => x.group), series: [
        { name: 'base rate', values: g.map((x) => x.baseRate) }, { name: 'selection rate', values: g.map((x) => x.selectionRate) },
        { name: 'TPR', values: g.map((x) => x.tpr) }, { name: 'FPR', values: g.map((x) => x.fpr) },
      ], percent: true, domain: [0, 1] }),
    });
    const rep = fr.report;
    blocks.push({
      kind: 'table', columns: [fr.column, 'rows', 'base rate', 'selection rate', 'TPR', 'FPR', 'accuracy', 'in the gaps'],
      rows: g.map((x) => [
        x.group, x.count, pct(x.baseRate), pct(x.selectionRate), pct(x.tpr), pct(x.fpr), pct(x.accuracy),
        x.tooSmall ? `no: < ${rep.minGroupSize} rows` : 'yes',
      ]),
      caption: `groups with fewer than ${rep.minGroupSize} rows are listed but left out of the differences below (--min-group-size)`,
    });
    blocks.push({ kind: 'kv', pairs: [['demographic parity difference', num(rep.demographicParityDifference)], ['demographic parity ratio', num(rep.demographicParityRatio)], ['equalized odds difference', num(rep.equalizedOddsDifference)], ['equal opportunity difference', num(rep.equalOpportunityDifference)], ['groups left out (too small)', rep.excluded.length ? rep.excluded.join(', ') : 'none']] });
    blocks.push({
      kind: 'table', caption: 'post-processing mitigation: one threshold per group, chosen on this data (the accuracy cost is the price)',
      columns: ['equalise', 'thresholds', 'DP difference after', 'EOpp difference after', 'accuracy after', 'accuracy cost', 'degenerate'],
      rows: fr.mitigations.map((m) => [m.objective === 'tpr' ? 'TPR (equal opportunity)' : 'selection rate (demographic parity)', Object.entries(m.thresholds).map(([k, v]) => `${k}: ${Number.isFinite(v) ? v.toFixed(3) : 'none'}`).join(', '), num(m.after.demographicParityDifference), num(m.after.equalOpportunityDifference), pct(m.after.accuracy), num(m.accuracyCost), m.degenerate.length ? `YES: ${m.degenerate.join('; ')}` : 'no']),
    });
  }
  blocks.push({ kind: 'text', text: 'Reweighing, a before-training mitigation, is not run by switchyard eval: give each training row the Kamiran-Calders weight of its (group, label) pair in a column and retrain with switchyard train --weight-column, then evaluate again; library users can run the whole experiment with reweighingExperiment().' });
  return { id: 'fairness', title: 'Fairness', blocks };
}

function calibrationSection(r: EvalResult): ReportSection | null {
  const c = r.scores?.calibration;
  if (!c) return null;
  const bins = (b: typeof c.before) => b.reliability.map((x) => ({ lower: x.lo, upper: x.hi, count: x.count, confidence: x.confidence, accuracy: x.accuracy }));
  const cols = ['', 'ECE', 'ECE (adaptive)', 'MCE', 'classwise ECE', 'Brier'];
  const row = (name: string, b: typeof c.before): Cell[] => [name, num(b.ece), num(b.eceAdaptive), num(b.mce), num(b.classwiseEce), num(b.brier)];
  const blocks: Block[] = [{ kind: 'table', columns: cols, rows: [row('as trained', c.before), ...(c.after ? [row(`temperature ${c.temperature?.toFixed(3)}`, c.after)] : [])] }];
  if (r.calibration) {
    const t = r.calibration;
    blocks.push({ kind: 'kv', pairs: [['temperature', num(t.temperature)], ['fitted on', `${t.fittedOn} (${t.rows} rows)`], ['validation NLL before → after', `${t.nllBefore.toFixed(4)} → ${t.nllAfter.toFixed(4)}`], ['stored in', t.stored], ['fitted by this run', t.fittedNow]] });
  }
  blocks.push({ kind: 'chart', svg: reliabilityDiagram({ title: 'reliability diagram (as trained)', bins: bins(c.before), ece: c.before.ece }) });
  if (c.after) blocks.push({ kind: 'chart', svg: reliabilityDiagram({ title: `reliability diagram (temperature ${c.temperature?.toFixed(2)})`, bins: bins(c.after), ece: c.after.ece }) });
  return { id: 'calibration', title: 'Calibration', blocks };
}

const TABLE_CAPTION = 'noise severity in training standard deviations; dropout and swap severity = share of cells changed; typo severity = per-letter rate in text columns (seeded)';
const IMAGE_CAPTION = 'pixel corruptions (seeded): noise std and brightness offset in units of the pixel range, blur sigma in pixels, contrast = share removed, shift = largest offset in pixels, rotation = largest angle in degrees';

function robustnessSection(r: EvalResult): ReportSection | null {
  const rob = r.robustness;
  if (!rob) return null;
  const blocks: Block[] = [];
  if (rob.corruptions.length) {
    blocks.push({ kind: 'table', columns: ['corruption', 'severity', 'metric', 'value', 'change'], rows: rob.corruptions.map((c) => [c.kind, c.severity, c.metric, num(c.value), num(c.delta)]), caption: rob.corruptions.some((c) => c.kind in IMAGE_CORRUPTIONS) ? IMAGE_CAPTION : TABLE_CAPTION });
  }
  for (const a of rob.adversarial ?? []) {
    blocks.push({
      kind: 'chart',
      caption: `${a.surface}; PGD-${a.steps} with random start (reported as the stronger of PGD and FGSM per example)`,
      svg: lineChart({ title: `robust accuracy vs epsilon (${a.norm === 'linf' ? 'L∞' : 'L2'})`, xLabel: 'epsilon (standardised units)', yLabel: 'accuracy', yDomain: [0, 1], series: [
        { name: 'FGSM', points: a.points.map((p) => [p.eps, p.fgsmAccuracy]) },
        { name: `PGD-${a.steps}`, points: a.points.map((p) => [p.eps, p.pgdAccuracy]) },
      ] }),
    });
    blocks.push({ kind: 'table', columns: ['epsilon', 'FGSM accuracy', 'PGD accuracy', 'mean loss increase'], rows: a.points.map((p) => [num(p.eps), pct(p.fgsmAccuracy), pct(p.pgdAccuracy), num(p.meanLossIncrease)]) });
  }
  return blocks.length ? { id: 'robustness', title: 'Robustness', blocks } : null;
}

/**
 * What an OOD score read, in words (eval.json's `ood.inputs`).
 *
 * @example
 * oodInputName('penultimate'); // 'penultimate features'
 */
export function oodInputName(kind: OodResult['inputs'][keyof OodResult['inputs']]): string {
  if (kind === 'penultimate') return 'penultimate features';
  if (kind === 'logits') return 'logits';
  return 'log-probabilities (the model exposes nothing earlier)';
}

function oodSection(r: EvalResult): ReportSection | null {
  const o = r.ood;
  if (!o) return null;
  const names = { msp: 'max softmax probability', energy: `energy (T = 1) on ${oodInputName(o.inputs.energy)}`, mahalanobis: `Mahalanobis on ${oodInputName(o.inputs.mahalanobis)}` };
  const entries = (Object.keys(names) as (keyof typeof names)[]).map((k) => [k, o.scores[k]] as const);
  return {
    id: 'ood', title: 'Out-of-distribution detection', blocks: [
      { kind: 'kv', pairs: [['OOD set', o.set], ['in-distribution rows', o.rows.in], ['OOD rows', o.rows.ood], ['Mahalanobis fitted on', o.reference], ['energy computed on', oodInputName(o.inputs.energy)], ['Mahalanobis features', oodInputName(o.inputs.mahalanobis)]] },
      { kind: 'table', columns: ['score', 'AUROC', 'AUPR', 'FPR at 95% TPR'], rows: entries.map(([k, s]) => [names[k], num(s.auroc), num(s.aupr), num(s.fpr95)]) },
      { kind: 'chart', svg: rocChart({ title: 'OOD detection ROC', curves: entries.map(([k, s]) => ({ name: k, auc: s.auroc, points: s.roc.x.map((x, i): [number, number] => [x, s.roc.y[i]]) })) }) },
    ],
  };
}

function lmSection(r: EvalResult): ReportSection | null {
  const lm = r.lm;
  if (!lm) return null;
  const row = (name: string, s: typeof lm.clean, delta?: number): Cell[] => [name, num(s.loss), num(s.perplexity), num(s.bitsPerByte), s.tokens, num(delta)];
  return {
    id: 'lm', title: 'Language model', blocks: [
      { kind: 'table', columns: ['text', 'loss (nats/token)', 'perplexity', 'bits per byte', 'tokens', 'loss increase'], rows: [row('clean', lm.clean), ...lm.corruptions.map((c) => row(`${c.kind} ${c.rate}`, c.scores, c.lossIncrease))] },
      ...(lm.adversarial ? [
        { kind: 'chart' as const, caption: `PGD-${lm.adversarial.steps} (L∞) on the token embeddings of ${lm.adversarial.windows} windows; budget relative to the RMS of the embedding table`, svg: lineChart({ title: 'loss under embedding attacks', xLabel: 'epsilon (x embedding RMS)', yLabel: 'loss (nats/token)', series: [{ name: 'PGD', points: lm.adversarial.points.map((p): [number, number] => [p.eps, p.loss]) }] }) },
        { kind: 'table' as const, columns: ['epsilon (relative)', 'epsilon (absolute)', 'loss', 'loss increase'], rows: lm.adversarial.points.map((p): Cell[] => [num(p.eps), num(p.epsAbsolute), num(p.loss), num(p.lossIncrease)]) },
      ] : []),
      { kind: 'chart', svg: barChart({ title: 'loss under text corruptions', categories: ['clean', ...lm.corruptions.map((c) => `${c.kind} ${c.rate}`)], series: [{ name: 'loss', values: [lm.clean.loss, ...lm.corruptions.map((c) => c.scores.loss)] }], horizontal: true }) },
    ],
  };
}

/**
 * Renders an evaluation result as one self-contained HTML page.
 *
 * @example
 * await writeFileAtomic('reports/eval/eval.html', renderEvalHtml(await runEval({ model: 'runs/x', data: 'test.csv' })));
 */
export function renderEvalHtml(r: EvalResult, extra: ReportSection[] = []): string {
  const summary: Block[] = [];
  const headline = HEADLINE_METRICS.map((k) => r.scores?.overall[k]).filter((m) => m !== undefined);
  if (headline.length) summary.push({ kind: 'kv', pairs: headline.map((m): [string, Cell] => [METRIC_NAMES[m.name] ?? m.name, `${num(m.estimate)} (95% CI ${num(m.low)} – ${num(m.high)})`]) });
  if (r.lm) summary.push({ kind: 'kv', pairs: [['perplexity', num(r.lm.clean.perplexity)], ['bits per byte', num(r.lm.clean.bitsPerByte)]] });
  for (const n of r.notes) summary.push({ kind: 'text', text: n });
  const sections = [metricsSection(r), slicesSection(r), fairnessSection(r), ...extra, calibrationSection(r), robustnessSection(r), oodSection(r), lmSection(r)].filter((s): s is ReportSection => s !== null);
  return renderReport({
    title: `Evaluation of ${r.model.source}`,
    subtitle: `${r.model.kind} ${r.model.task} on ${r.data.file}`,
    meta: [['model', r.model.source], ['data', r.data.file], ['rows', r.data.rows ?? null], ['target', r.model.target ?? null], ['created', r.created]],
    checks: evalChecks(r),
    summary,
    sections,
  });
}

/**
 * Writes `eval.json` and `eval.html` into `dir` (each atomically) and returns their paths.
 *
 * @example
 * await writeEvalReports('reports/eval', await runEval({ model: 'runs/x', data: 'test.csv' }));
 */
export function writeEvalReports(dir: string, result: EvalResult): Promise<{ json: string; html: string }> {
  return writeReportFiles(dir, 'eval', result, renderEvalHtml(result));
}
