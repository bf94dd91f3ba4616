import { checkOutputs } from '../util/paths.ts';
import { join } from 'node:path';
import { AUDIT_RANGES, runAudit, worstSeverity } from '../audit/run.ts';
import { SEVERITIES, type AuditResult, type Severity } from '../audit/types.ts';
import { writeAuditReports } from '../report/audit-report.ts';
import { SwitchyardError } from '../util/errors.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

const AUDIT_SPEC = {
  ...COMMON_FLAGS,
  data: { type: 'string', required: true, help: 'training data: CSV, TSV, JSONL, Parquet or a folder of text files' },
  test: { type: 'string', help: 'held-out data to check for leakage, contamination and drift against --data' },
  target: { type: 'string', help: 'label column (enables label, leakage-by-feature, bias-rate and label-issue checks)' },
  sensitive: { type: 'list', help: 'columns whose groups the bias checks compare, e.g. --sensitive sex,race' },
  positive: { type: 'string', help: 'favourable label for bias base rates (default: the rarest class)' },
  'text-column': { type: 'string', help: 'free-text column for near-duplicate and contamination checks (default: the first text column)' },
  columns: { type: 'list', help: 'override column kinds, e.g. --columns zip=categorical,notes=ignore' },
  'fail-on': { type: 'string', help: 'exit 3 when a finding reaches this severity: error | warn' },
  out: { type: 'string', required: true, valueName: 'dir', help: 'report directory to write audit.json and audit.html into' },
  threshold: { type: 'number', ...AUDIT_RANGES.threshold, default: 0.8, help: 'Jaccard similarity for near-duplicate text' },
  shingle: { type: 'number', ...AUDIT_RANGES.shingle, help: 'near-duplicate shingle length (default 5 characters)' },
  permutations: { type: 'number', ...AUDIT_RANGES.permutations, default: 128, help: 'MinHash permutations' },
  ngram: { type: 'number', ...AUDIT_RANGES.contaminationN, default: 13, help: 'n-gram length (words) of the contamination check' },
  'label-issues': { type: 'boolean', default: true, help: 'search for likely mislabelled rows (--no-label-issues to skip)' },
  seed: { type: 'number', ...AUDIT_RANGES.seed, default: 0, help: 'random seed (label-issue folds, MinHash)' },
  'memory-limit': { type: 'string', default: '2GB', help: 'DuckDB memory limit; larger data spills to the temp directory' },
  threads: { ...THREADS_FLAG, help: 'ONNX Runtime intra-op threads of the label-issue models; default: all cores' },
} as const;

function summaryTable(r: AuditResult): string {
  const lines = [`audit of ${r.splits.map((s) => `${s.split} ${s.file} (${s.rows} rows x ${s.columns.length} columns)`).join(', ')}`];
  lines.push(`findings: ${SEVERITIES.slice().reverse().map((s) => `${r.summary[s]} ${s}`).join(', ')}`);
  const shown = r.findings.filter((f) => f.severity !== 'info').slice(0, 25);
  if (shown.length) {
    const w = Math.max(...shown.map((f) => f.check.length));
    lines.push('', `${'severity'.padEnd(8)}  ${'check'.padEnd(w)}  ${'split'.padEnd(10)}  message`);
    for (const f of shown) lines.push(`${f.severity.padEnd(8)}  ${f.check.padEnd(w)}  ${(f.split ?? '').padEnd(10)}  ${f.message}`);
    const more = r.findings.filter((f) => f.severity !== 'info').length - shown.length;
    if (more > 0) lines.push(`... and ${more} more (see audit.json)`);
  }
  return lines.join('\n') + '\n';
}

/** `switchyard audit` */
export async function auditVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, AUDIT_SPEC, 'audit');
  if (a.help) return void process.stdout.write(formatHelp('audit', 'Audit a dataset before training: integrity, duplicates, leakage, contamination, label issues, bias and drift.', AUDIT_SPEC)), 0;
  const failOn = a['fail-on'] as Severity | undefined;
  if (failOn !== undefined && failOn !== 'error' && failOn !== 'warn') throw new SwitchyardError('E_USAGE', `--fail-on ${failOn} is not error or warn`, 'e.g. --fail-on error');
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir' }], [{ flag: '--data', path: a.data }, { flag: '--test', path: a.test }]);
  const result = await runAudit({
    data: a.data, test: a.test, target: a.target, sensitive: a.sensitive, positive: a.positive, textColumn: a['text-column'], columns: a.columns,
    nearDuplicates: { threshold: a.threshold, permutations: a.permutations, shingle: a.shingle, seed: a.seed }, contaminationN: a.ngram,
    labelIssues: a['label-issues'], labelIssueOptions: { threads: a.threads }, seed: a.seed, engine: { memoryLimit: a['memory-limit'] }, progress: { enabled: !a.quiet && !a.json },
  });
  await writeAuditReports(a.out, result);
  const worst = worstSeverity(result.findings);
  const failed = failOn !== undefined && worst !== null && SEVERITIES.indexOf(worst) >= SEVERITIES.indexOf(failOn);
  if (a.json) emitJson({ ok: !failed, out: a.out, summary: result.summary, findings: result.findings.length, worst, failOn: failOn ?? null, timings: result.timings });
  else {
    process.stdout.write(summaryTable(result));
    process.stdout.write(`wrote ${join(a.out, 'audit.json')} and ${join(a.out, 'audit.html')}\n`);
    if (failed) process.stdout.write(`failing: a finding reached --fail-on ${failOn}\n`);
  }
  return failed ? 3 : 0;
}
