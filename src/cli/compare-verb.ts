import { checkOutputs } from '../util/paths.ts';
import { existsSync } from 'node:fs';
import { requireInput } from '../data/readers/index.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { COMPARE_RANGES, compareModels, type CompareRow } from '../eval/compare.ts';
import { renderReport } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

export const COMPARE_SPEC = {
  ...COMMON_FLAGS,
  baseline: { type: 'string', required: true, help: 'the model in production: run directory or .onnx file' },
  candidate: { type: 'string', required: true, help: 'the model that would replace it' },
  data: { type: 'string', required: true, help: 'labelled test data (CSV/TSV/JSONL/Parquet), the same examples for both' },
  guard: { type: 'list', help: 'metrics that fail the gate, e.g. accuracy,ece (default: accuracy, or mae for regression)' },
  slice: { type: 'list', help: 'columns to compare per value, e.g. region,device' },
  alpha: { type: 'number', ...COMPARE_RANGES.alpha, default: 0.05, help: 'significance level (family-wise, Holm-corrected over all guarded tests)' },
  correction: { type: 'string', default: 'holm', help: 'holm | none' },
  resamples: { type: 'number', ...COMPARE_RANGES.resamples, default: 1000, help: 'paired bootstrap resamples' },
  seed: { type: 'number', ...COMPARE_RANGES.seed, default: 0, help: 'bootstrap seed' },
  'min-slice': { type: 'number', ...COMPARE_RANGES.minSlice, default: 30, help: 'slices with fewer examples are skipped' },
  target: { type: 'string', help: 'target column (ONNX models)' },
  classes: { type: 'list', help: 'class labels in the ONNX output order' },
  out: { type: 'string', valueName: 'dir', help: 'report directory to write compare.json and compare.html into' },
  threads: THREADS_FLAG,
} as const;

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const signed = (v: number): string => (v >= 0 ? '+' : '') + fmt(v);
const pfmt = (p: number): string => (p < 1e-4 ? p.toExponential(1) : fmt(p));

function tableRows(rows: readonly CompareRow[]): string[][] {
  return rows.map((r) => [r.scope, String(r.count), r.metric, fmt(r.baseline), fmt(r.candidate), `${signed(r.diff)} [${signed(r.low)}, ${signed(r.high)}]`, r.test, pfmt(r.pAdjusted), r.worse ? 'WORSE' : 'ok']);
}

const HEADER = ['scope', 'n', 'metric', 'baseline', 'candidate', 'diff [CI]', 'test', 'p (adj)', 'verdict'];

function formatTable(rows: string[][]): string {
  const all = [HEADER, ...rows];
  const w = HEADER.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => r.map((cell, c) => cell.padEnd(w[c])).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * `switchyard compare`: prints the paired comparison table (or --json), writes --out, returns 3 on a regression.
 *
 * @example
 * await compareVerb(['--baseline', 'runs/a', '--candidate', 'runs/b', '--data', 'test.csv', '--guard', 'accuracy,ece', '--slice', 'region']);
 */
export async function compareVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, COMPARE_SPEC, 'compare');
  if (a.help) return void process.stdout.write(formatHelp('compare', 'Regression gate: compare a candidate model with a baseline on the same labelled examples (exit 3 when significantly worse on a guarded metric or slice).', COMPARE_SPEC)), 0;
  for (const [flag, path] of [['--baseline', a.baseline], ['--candidate', a.candidate]] as const)
    if (!existsSync(path)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file or directory (${flag})`, 'check the path');
  requireInput(a.data, '--data');
  if (a.correction !== 'holm' && a.correction !== 'none') throw new SwitchyardError('E_USAGE', `--correction ${a.correction} is not holm or none`, 'e.g. --correction holm');
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], [{ flag: '--baseline', path: a.baseline }, { flag: '--candidate', path: a.candidate }, { flag: '--data', path: a.data }]);
  const r = await compareModels({
    baseline: a.baseline, candidate: a.candidate, data: a.data, guard: a.guard, slice: a.slice, alpha: a.alpha, correction: a.correction,
    resamples: a.resamples, seed: a.seed, minSlice: a['min-slice'], target: a.target, classes: a.classes?.length ? a.classes : undefined, threads: a.threads,
  });
  const code = r.passed ? 0 : 3;
  if (a.out) {
    await mkdir(a.out, { recursive: true });
    await writeJsonAtomic(join(a.out, 'compare.json'), r);
    const html = renderReport({
      title: `Regression gate: ${r.passed ? 'passed' : 'FAILED'}`,
      subtitle: `${r.candidate} vs ${r.baseline} on ${r.data}`,
      meta: [['examples', String(r.n)], ['guarded metrics', r.guard.join(', ')], ['alpha', String(r.alpha)], ['correction', r.correction], ['bootstrap resamples', String(r.resamples)]],
      checks: r.rows.map((x) => ({ check: `${x.metric} (${x.scope})`, status: x.worse ? 'fail' : 'pass', detail: `candidate - baseline ${x.diff.toPrecision(3)}, adjusted p(worse) ${x.pAdjusted.toPrecision(2)}`, section: 'rows' })),
      sections: [
        { id: 'rows', title: 'Paired comparison (candidate - baseline)', blocks: [{ kind: 'table', columns: HEADER, rows: tableRows(r.rows) }] },
        ...(r.skipped.length ? [{ id: 'skipped', title: 'Slices too small to test', blocks: [{ kind: 'table' as const, columns: ['scope', 'n'], rows: r.skipped.map((s) => [s.scope, String(s.count)]) }] }] : []),
      ],
    });
    await writeFileAtomic(join(a.out, 'compare.html'), html);
  }
  if (a.json) emitJson({ ok: r.passed, ...r });
  else {
    process.stdout.write(formatTable(tableRows(r.rows)));
    if (r.skipped.length) process.stdout.write(`skipped (< ${a['min-slice']} examples): ${r.skipped.map((s) => `${s.scope} (${s.count})`).join(', ')}\n`);
    process.stdout.write(r.passed ? `PASS: the candidate is not significantly worse on ${r.guard.join(', ')} (alpha ${r.alpha}, ${r.correction})\n` : `FAIL: ${r.regressions.length} regression(s): ${r.regressions.map((x) => `${x.metric} in ${x.scope}`).join(', ')}\n`);
  }
  return code;
}
