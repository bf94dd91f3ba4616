/**
 * `runAudit`: loads train (and test) into DuckDB, profiles them, and runs every check family — integrity,
 * duplicates (exact, conflicting labels, near-duplicate text), leakage, contamination, labels (imbalance,
 * drift, confident-learning label issues), bias and feature drift — into one {@link AuditResult}.
 */
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import type { ColumnRole } from '../data/schema.ts';
import { didYouMean, listNames } from '../data/values.ts';
import { DuckSession, type DuckOptions } from '../data/readers/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Progress, type ProgressStream } from '../util/progress.ts';
import { findContamination } from './contamination.ts';
import { type AuditContext, inSplit, splitsOf } from './context.ts';
import { findConflictingLabels, findExactDuplicates } from './duplicates.ts';
import { checkBias } from './bias.ts';
import { checkFeatureDrift } from './feature-drift.ts';
import { checkIntegrity } from './integrity.ts';
import { findLabelIssues } from './label-issues.ts';
import { checkImbalance, checkLabelDrift } from './labels.ts';
import { findIdentifierColumns, findSharedRows, findSingleFeaturePredictors } from './leakage.ts';
import { findCrossSplitNearDuplicates, findNearDuplicateText, type NearDupOptions } from './near-duplicates.ts';
import { loadSplit, type ProfiledSplit } from './profile.ts';
import type { SemanticKind } from './semantic.ts';
import { SEVERITIES, type AuditResult, type DriftTest, type Finding, type Severity } from './types.ts';

/** Label issues train cross-validated models on every row: above this many rows the check is skipped. */
export const LABEL_ISSUES_MAX_ROWS = 50_000;

/**
 * Options of {@link runAudit}.
 *
 * @example
 * const o: AuditOptions = { data: 'train.csv', test: 'test.csv', target: 'label', sensitive: ['sex'] };
 */
export interface AuditOptions {
  /** Training data: CSV, TSV, JSONL, Parquet or a folder of text files. */
  data: string;
  /** Held-out data in the same format family. */
  test?: string;
  target?: string;
  sensitive?: string[];
  /** Free-text column for near-duplicate and contamination checks (default: the first column inferred as text). */
  textColumn?: string;
  /** Kind overrides, `{ zip: 'categorical' }` or `['zip=categorical']`. */
  columns?: Record<string, string> | string[];
  /** Favourable label for bias base rates (default: the rarest class). */
  positive?: string;
  nearDuplicates?: NearDupOptions;
  /** N-gram length of the contamination check (default 13). */
  contaminationN?: number;
  /** Run confident learning when there is a class target (default true). */
  labelIssues?: boolean;
  labelIssueOptions?: { folds?: number; epochs?: number; threads?: number };
  seed?: number;
  engine?: DuckOptions;
  progress?: { enabled?: boolean; stream?: ProgressStream };
}

/**
 * Ranges of the numeric options of {@link runAudit} (near-duplicate options flattened), each with the
 * `switchyard audit` flag that sets it: the CLI's flag spec spreads them in and {@link runAudit} checks them.
 *
 * @example
 * const spec = { ngram: { type: 'number', default: 13, ...AUDIT_RANGES.contaminationN, help: 'n-gram length' } };
 */
export const AUDIT_RANGES = {
  threshold: { flag: '--threshold', above: 0, max: 1 },
  permutations: { flag: '--permutations', min: 1, max: 4096, integer: true },
  shingle: { flag: '--shingle', min: 1, max: 1000, integer: true },
  contaminationN: { flag: '--ngram', min: 1, max: 1000, integer: true },
  seed: COMMON_RANGES.seed,
} as const;

function requireColumn(s: ProfiledSplit, name: string, flag: string): void {
  if (s.loaded.columns.includes(name) && !s.ignored.includes(name)) return;
  const guess = didYouMean(name, s.loaded.columns);
  throw new SwitchyardError(
    'E_COLUMN_MISSING',
    `${s.loaded.file}: no column named '${name}' (${flag}); columns are: ${listNames(s.loaded.columns)}`,
    guess ? `did you mean '${guess}'? (${flag} ${guess})` : `pass ${flag} with one of the column names`,
  );
}

function toRoles(kinds: Record<string, SemanticKind>): Record<string, ColumnRole> {
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v === 'datetime' ? 'ignore' : v]));
}

/**
 * Runs the whole audit. Bad input (unreadable files, unknown `--target` / `--sensitive` / `--text-column`
 * columns) throws a `SwitchyardError` before any check runs.
 *
 * @example
 * const result = await runAudit({ data: 'train.csv', test: 'test.csv', target: 'label' });
 * result.summary; // { info: 4, warn: 2, error: 1 }
 */
export async function runAudit(opts: AuditOptions): Promise<AuditResult> {
  checkRanges({ ...opts.nearDuplicates, contaminationN: opts.contaminationN, seed: opts.seed }, AUDIT_RANGES);
  const db = await DuckSession.open(opts.engine);
  const timings: Record<string, number> = {};
  const findings: Finding[] = [];
  const families = ['profile', 'integrity', 'duplicates', 'leakage', 'labels', 'bias', 'drift', 'text', 'label-issues'];
  const bar = new Progress({ total: families.length, label: 'audit', unit: 'step', enabled: opts.progress?.enabled ?? true, stream: opts.progress?.stream });
  const timed = async <T>(family: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[family] = (timings[family] ?? 0) + (performance.now() - t0) / 1000;
      bar.tick(1, { step: family });
    }
  };
  try {
    const { train, test, kinds } = await timed('profile', async () => {
      const train = await loadSplit(db, opts.data, 'train', opts.columns ?? []);
      const test = opts.test ? await loadSplit(db, opts.test, 'test', train.overrides, { lenient: true }) : undefined;
      return { train, test, kinds: train.overrides };
    });
    if (opts.target) requireColumn(train, opts.target, '--target');
    for (const s of opts.sensitive ?? []) requireColumn(train, s, '--sensitive');
    if (opts.textColumn) requireColumn(train, opts.textColumn, '--text-column');
    const textColumn = opts.textColumn ?? train.profile.columns.find((c) => c.kind === 'text' && c.name !== opts.target)?.name;
    const ctx: AuditContext = { db, train, test, target: opts.target, sensitive: opts.sensitive ?? [], textColumn, positive: opts.positive };

    await timed('integrity', async () => {
      for (const s of splitsOf(ctx)) findings.push(...inSplit(await checkIntegrity(db, s), s.split));
    });
    await timed('duplicates', async () => {
      for (const s of splitsOf(ctx)) {
        findings.push(...inSplit(await findExactDuplicates(db, s), s.split));
        findings.push(...inSplit(await findConflictingLabels(db, s, ctx), s.split));
      }
    });
    await timed('leakage', async () => {
      findings.push(...(await findSharedRows(db, ctx)), ...(await findIdentifierColumns(ctx)), ...(await findSingleFeaturePredictors(db, ctx)));
    });
    await timed('labels', async () => {
      findings.push(...(await checkImbalance(db, ctx)), ...(await checkLabelDrift(db, ctx)));
    });
    await timed('bias', async () => findings.push(...(await checkBias(db, ctx))));
    const driftTests: DriftTest[] = [];
    await timed('drift', async () => findings.push(...(await checkFeatureDrift(db, ctx, driftTests))));
    await timed('text', async () => {
      if (!textColumn) return;
      const docs = async (s: ProfiledSplit): Promise<string[]> => (await db.column(`SELECT coalesce("${textColumn.replace(/"/g, '""')}", '') FROM ${s.table} ORDER BY rowid`)).map(String);
      const trainDocs = await docs(train);
      findings.push(...findNearDuplicateText(trainDocs, { ...opts.nearDuplicates, split: 'train', column: textColumn }));
      if (test && test.loaded.columns.includes(textColumn)) {
        const testDocs = await docs(test);
        findings.push(...findNearDuplicateText(testDocs, { ...opts.nearDuplicates, split: 'test', column: textColumn }));
        findings.push(...findCrossSplitNearDuplicates(trainDocs, testDocs, { ...opts.nearDuplicates, column: textColumn }));
        findings.push(...findContamination(trainDocs, testDocs, { n: opts.contaminationN, column: textColumn, split: 'test' }));
      }
    });
    await timed('label-issues', async () => {
      const t = opts.target ? train.byName.get(opts.target) : undefined;
      if (!t || opts.labelIssues === false) return;
      if (train.loaded.rows > LABEL_ISSUES_MAX_ROWS) {
        findings.push({ check: 'labels.issues', severity: 'info', score: 0, column: t.name, split: 'train', message: `Label issues were not searched: ${train.loaded.rows} rows is above the ${LABEL_ISSUES_MAX_ROWS}-row limit of the cross-validated check.`, evidence: {}, details: { skipped: 'too many rows' } });
        return;
      }
      const table = await db.toTable(`SELECT * FROM ${train.table} ORDER BY rowid`, opts.data);
      const roles: Record<string, ColumnRole> = { ...toRoles(kinds) };
      for (const c of train.profile.columns) if (c.kind === 'datetime' && !roles[c.name]) roles[c.name] = 'ignore';
      for (const c of train.ignored) roles[c] = 'ignore';
      const r = await findLabelIssues(table, t.name, { ...opts.labelIssueOptions, columns: roles, seed: opts.seed ?? 0, split: 'train', progress: { enabled: false } });
      findings.push(...r.findings);
    });
    bar.done();
    const summary = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
    const order = (f: Finding): number => -SEVERITIES.indexOf(f.severity);
    findings.sort((a, b) => order(a) - order(b) || b.score - a.score);
    return {
      format: 'switchyard.audit', version: 1, created: new Date().toISOString(),
      options: {
        data: opts.data, test: opts.test ?? null, target: opts.target ?? null, sensitive: opts.sensitive ?? [], textColumn: textColumn ?? null,
        columns: kinds, positive: opts.positive ?? null, nearDuplicates: opts.nearDuplicates ?? {}, contaminationN: opts.contaminationN ?? 13, seed: opts.seed ?? 0,
      },
      splits: splitsOf(ctx).map((s) => s.profile),
      findings, summary, timings, ...(test ? { driftTests } : {}),
    };
  } finally {
    db.close();
  }
}

/**
 * The highest severity among the findings, or `null` when there are none.
 *
 * @example
 * worstSeverity(result.findings); // 'warn'
 */
export function worstSeverity(findings: readonly Finding[]): Severity | null {
  let worst = -1;
  for (const f of findings) worst = Math.max(worst, SEVERITIES.indexOf(f.severity));
  return worst < 0 ? null : SEVERITIES[worst];
}
