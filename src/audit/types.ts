/**
 * The uniform shapes every audit check returns and the report renders: one {@link Finding} per problem (or
 * per clean bill of health), and an {@link AuditResult} that holds the findings with the column profiles the
 * charts are drawn from.
 */

/** How much a finding matters: `error` should block training, `warn` deserves a look, `info` is context. */
export type Severity = 'info' | 'warn' | 'error';

/** Ordered severities, lowest first, for `--fail-on` comparisons. */
export const SEVERITIES: readonly Severity[] = ['info', 'warn', 'error'];

/**
 * One result of one check.
 *
 * @example
 * const f: Finding = {
 *   check: 'duplicates.exact', severity: 'warn', score: 0.02,
 *   message: '200 of 10,000 rows (2.0%) are exact copies of an earlier row.',
 *   evidence: { rows: [17, 4031] }, details: { duplicateRows: 200 },
 * };
 */
export interface Finding {
  /** Stable check id, `family.name`, e.g. `integrity.missing`, `leakage.near-duplicate`, `contamination.ngram`. */
  check: string;
  severity: Severity;
  /** How bad, from 0 (nothing wrong) to 1 (as bad as it gets); comparable within one check. */
  score: number;
  /** One human sentence with the numbers that matter. */
  message: string;
  /** The column the finding is about, when there is one. */
  column?: string;
  /** The split the finding is about (`train`, `test`, or `train/test` for cross-split checks). */
  split?: string;
  /**
   * What a person would look at to confirm it. `rows` are 0-based data-row indices in file order (header
   * excluded) of the split named by `split` (train when absent); at most {@link MAX_EVIDENCE_ROWS}.
   */
  evidence: { rows?: number[]; values?: unknown[]; [key: string]: unknown };
  /** The numbers behind the message, for JSON consumers and charts. */
  details?: Record<string, unknown>;
}

/** Feature drift is reported when p < DRIFT_P and the effect (KS statistic or JS distance) is at least DRIFT_EFFECT. */
export const DRIFT_P = 0.001;
/** See {@link DRIFT_P}. */
export const DRIFT_EFFECT = 0.1;

/** Evidence lists are capped so reports stay readable; the count is always in `details`. */
export const MAX_EVIDENCE_ROWS = 50;

/** A histogram with `edges.length === counts.length + 1`. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/**
 * What the profiler learned about one column of one split.
 *
 * @example
 * { name: 'age', kind: 'numeric', rows: 1000, missing: 3, distinct: 61, min: 18, max: 90, mean: 41.2, std: 12.9,
 *   quantiles: { p01: 19, p25: 31, p50: 41, p75: 51, p99: 84 }, histogram: { edges: [...], counts: [...] } }
 */
export interface ColumnProfile {
  name: string;
  /** Semantic kind after inference and user overrides. */
  kind: 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'text' | 'identifier';
  /** Where the kind came from. */
  source: 'inferred' | 'override';
  /** Storage type the engine read (e.g. DuckDB `DOUBLE`, `VARCHAR`). */
  storageType: string;
  rows: number;
  missing: number;
  distinct: number;
  min?: number | string;
  max?: number | string;
  mean?: number;
  std?: number;
  quantiles?: Record<string, number>;
  histogram?: Histogram;
  /** Most frequent values with counts (categorical, boolean, identifier, text). */
  topValues?: { value: string; count: number }[];
  /** Mean length in characters (text). */
  meanLength?: number;
}

/** Profile of one input file. */
export interface SplitProfile {
  /** `train`, `test`, ... */
  split: string;
  file: string;
  format: 'csv' | 'tsv' | 'jsonl' | 'parquet' | 'text';
  rows: number;
  columns: ColumnProfile[];
}

/**
 * Everything `switchyard audit` learned: written as `audit.json`, rendered as `audit.html`, read by
 * `switchyard datasheet`.
 */
export interface AuditResult {
  format: 'switchyard.audit';
  version: 1;
  created: string;
  /** The options the audit ran with (target, sensitive columns, text column, thresholds). */
  options: Record<string, unknown>;
  splits: SplitProfile[];
  findings: Finding[];
  /** Counts of findings per severity. */
  summary: Record<Severity, number>;
  /** Wall-clock seconds per check family, for the report footer. */
  timings: Record<string, number>;
  /** Every train/test drift test the audit ran, drifted or not (absent in audits written before it was recorded). */
  driftTests?: DriftTest[];
}

/**
 * One train/test drift test of one column: what passed is recorded as well as what drifted.
 *
 * @example
 * const t: DriftTest = { column: 'age', test: 'ks', statistic: 0.04, pValue: 0.61, effect: 0.04, drifted: false };
 */
export interface DriftTest {
  column: string;
  /** `ks` (numeric) or `chi-square` (categorical and boolean). */
  test: string;
  statistic: number;
  pValue: number;
  /** KS statistic or Jensen-Shannon distance, compared with the effect threshold. */
  effect: number;
  drifted: boolean;
}
