import { checkOutputs } from '../util/paths.ts';
import { join } from 'node:path';
import { EVAL_RANGES, runEval, type EvalResult } from '../eval/run.ts';
import type { AttackNorm } from '../eval/adversarial.ts';
import type { FairnessResult } from '../eval/score.ts';
import { oodInputName, writeEvalReports } from '../report/eval-report.ts';
import { SwitchyardError } from '../util/errors.ts';
import { COMMON_FLAGS, DEVICE_FLAG, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

/**
 * Flags of `switchyard eval`.
 *
 * @example
 * parseArgs(['--model', 'runs/x', '--data', 'test.csv'], EVAL_SPEC, 'eval');
 */
export const EVAL_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'run directory written by switchyard train (tabular or LM), or an .onnx classifier' },
  data: { type: 'string', required: true, help: 'labelled test CSV (tabular), or text files/folders, comma-separated (LM)' },
  out: { type: 'string', valueName: 'dir', help: 'report directory to write eval.json and eval.html into' },
  target: { type: 'string', help: 'label column (ONNX models; runs know theirs)' },
  classes: { type: 'list', help: 'ONNX models: class labels in output order' },
  sensitive: { type: 'list', help: 'sensitive columns for fairness metrics, e.g. --sensitive sex,age_group' },
  positive: { type: 'string', help: 'favourable class for fairness metrics (default: the second class of a binary model)' },
  'min-group-size': {
    type: 'number', default: 30, min: 1, integer: true, help: 'sensitive groups with fewer rows are listed but left out of the fairness gaps',
  },
  slice: { type: 'list', help: 'columns to slice every metric by; the worst slices are listed' },
  ood: { type: 'string', help: 'CSV of out-of-distribution rows (default: the test rows shifted by --ood-shift stds)' },
  'ood-shift': { type: 'number', ...EVAL_RANGES.oodShift, default: 3, help: 'shift of the built-in OOD set, in standard deviations' },
  reference: { type: 'string', help: 'training-like CSV for the Mahalanobis fit and attack ranges (default: the run\'s training data)' },
  adversarial: { type: 'boolean', help: 'FGSM and PGD attacks (L-inf and L2), robust accuracy vs epsilon; LM: PGD on the token embeddings' },
  norms: { type: 'list', default: ['linf', 'l2'], help: 'attack norms: linf, l2' },
  epsilons: { type: 'list', help: 'L-inf budgets in standardised units (L2 budgets are these x sqrt(attacked features)); default 0,0.05,0.1,0.25,0.5,1; LM: relative to the token-embedding RMS, default 0.05,0.1,0.2' },
  'pgd-steps': { type: 'number', ...EVAL_RANGES.pgdSteps, default: 10, help: 'PGD iterations' },
  'calibrate-on': { type: 'string', help: 'labelled validation CSV: fit temperature scaling and store it with the model' },
  'no-corruptions': { type: 'boolean', help: 'skip the corruption robustness checks' },
  resamples: {
    type: 'number', ...EVAL_RANGES.resamples, default: 1000, deprecatedAlias: 'bootstrap', help: 'bootstrap resamples for confidence intervals',
  },
  seed: { type: 'number', ...EVAL_RANGES.seed, default: 0, help: 'seed of the bootstrap, corruptions and attacks' },
  threads: THREADS_FLAG,
  device: DEVICE_FLAG,
} as const;

function numbers(list: string[] | undefined, flag: string): number[] | undefined {
  if (!list?.length) return undefined;
  return list.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v < 0) throw new SwitchyardError('E_USAGE', `${flag} entry '${s}' is not a non-negative number`, `e.g. ${flag} 0,0.1,0.5`);
    return v;
  });
}

/** A fairness result in words: the gaps, every group with its row count, what was left out, degenerate mitigations. */
function fairnessLines(fr: FairnessResult): string[] {
  const rep = fr.report;
  const f = (v: number) => v.toFixed(4);
  const groups = rep.groups.map((g) => `${g.group} (${g.count})`).join(', ');
  const gaps = `demographic parity difference ${f(rep.demographicParityDifference)}, equalized odds difference ${f(rep.equalizedOddsDifference)}`;
  const lines = [`fairness by ${fr.column} (positive '${fr.positive}'; groups with rows: ${groups}): ${gaps}`];
  if (rep.excluded.length) lines.push(`  left out of the gaps (< ${rep.minGroupSize} rows): ${rep.excluded.join(', ')}`);
  for (const m of fr.mitigations) {
    if (m.degenerate.length) lines.push(`  mitigation equalising ${m.objective} degenerates: ${m.degenerate.join('; ')}`);
  }
  return lines;
}

function summaryLines(r: EvalResult): string[] {
  const lines: string[] = [`evaluated ${r.model.kind} ${r.model.task} ${r.model.source} on ${r.data.file}${r.data.rows !== undefined ? ` (${r.data.rows} rows)` : ''}`];
  const f = (v: number) => v.toFixed(4);
  const h = r.scores?.overall.accuracy ?? r.scores?.overall.rmse;
  if (h) lines.push(`${h.name} ${f(h.estimate)} (95% CI ${f(h.low)}–${f(h.high)})`);
  const cal = r.scores?.calibration;
  if (cal) lines.push(`ECE ${f(cal.before.ece)}${cal.after ? ` → ${f(cal.after.ece)} with temperature ${cal.temperature!.toFixed(3)}` : ''}`);
  for (const c of r.robustness?.corruptions ?? []) lines.push(`${c.kind} ${c.severity}: ${c.metric} ${f(c.value)} (${c.delta >= 0 ? '+' : ''}${f(c.delta)})`);
  for (const a of r.robustness?.adversarial ?? []) lines.push(`PGD-${a.steps} ${a.norm}: ${a.points.map((p) => `eps ${p.eps.toPrecision(3)} → ${(p.pgdAccuracy * 100).toFixed(1)}%`).join(', ')}`);
  for (const fr of r.scores?.fairness ?? []) lines.push(...fairnessLines(fr));
  if (r.ood) {
    const { scores, inputs } = r.ood;
    const energy = `energy on ${oodInputName(inputs.energy)} ${f(scores.energy.auroc)}`;
    lines.push(`OOD AUROC: msp ${f(scores.msp.auroc)}, ${energy}, mahalanobis on ${oodInputName(inputs.mahalanobis)} ${f(scores.mahalanobis.auroc)}`);
  }
  if (r.lm) lines.push(`loss ${f(r.lm.clean.loss)}, perplexity ${r.lm.clean.perplexity.toFixed(3)}, bits per byte ${f(r.lm.clean.bitsPerByte)}`);
  if (r.lm?.adversarial) lines.push(`embedding PGD-${r.lm.adversarial.steps}: ${r.lm.adversarial.points.map((p) => `eps ${p.eps} → loss ${f(p.loss)}`).join(', ')}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}

/**
 * `switchyard eval`: runs {@link runEval} and writes eval.json + eval.html into --out.
 *
 * @example
 * await evalVerb(['--model', 'runs/x', '--data', 'test.csv', '--adversarial', '--out', 'reports/eval']);
 */
export async function evalVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, EVAL_SPEC, 'eval');
  if (a.help) return void process.stdout.write(formatHelp('eval', 'Evaluate a model: metrics with CIs, slices, calibration, fairness, robustness, OOD detection.', EVAL_SPEC)), 0;
  const norms = a.norms.map((n) => {
    if (n !== 'linf' && n !== 'l2') throw new SwitchyardError('E_USAGE', `--norms entry '${n}' is not linf or l2`, 'e.g. --norms linf,l2');
    return n as AttackNorm;
  });
  const inputs = [a.model, ...a.data.split(',')].map((path, i) => ({ flag: i ? '--data' : '--model', path }));
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], [...inputs, { flag: '--ood', path: a.ood }, { flag: '--reference', path: a.reference }, { flag: '--calibrate-on', path: a['calibrate-on'] }]);
  const result = await runEval({
    model: a.model, data: a.data, target: a.target, classes: a.classes.length ? a.classes : undefined, sensitive: a.sensitive, positive: a.positive, minGroupSize: a['min-group-size'], slice: a.slice,
    ood: a.ood, oodShift: a['ood-shift'], reference: a.reference, adversarial: a.adversarial, norms, epsilons: numbers(a.epsilons, '--epsilons'),
    pgdSteps: a['pgd-steps'], calibrateOn: a['calibrate-on'], corruptions: !a['no-corruptions'], resamples: a.resamples, seed: a.seed, threads: a.threads, device: a.device,
    progress: { enabled: !a.quiet && !a.json },
  });
  if (a.out) await writeEvalReports(a.out, result);
  if (a.json) emitJson({ ok: true, out: a.out ?? null, ...result });
  else {
    process.stdout.write(summaryLines(result).join('\n') + '\n');
    if (a.out) process.stdout.write(`wrote ${join(a.out, 'eval.json')} and ${join(a.out, 'eval.html')}\n`);
  }
  return 0;
}
