/**
 * Read-only views of an {@link AuditResult} shared by the audit report and the datasheet: findings grouped
 * by check family, the typed `details` the charts read (bias groups, near-duplicate clusters, drift
 * statistics) validated on the way in, and the label balance of the target column.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { AuditResult, ColumnProfile, Finding, Severity } from '../audit/types.ts';
import { SwitchyardError } from '../util/errors.ts';

/**
 * Order in which check families are presented; others follow alphabetically.
 *
 * @example
 * FAMILY_ORDER.indexOf('leakage'); // 2
 */
export const FAMILY_ORDER = ['integrity', 'duplicates', 'leakage', 'contamination', 'labels', 'balance', 'bias', 'drift'];

/**
 * The family of a check id: the part before the first dot (`integrity.missing` → `integrity`).
 *
 * @example
 * checkFamily('leakage.near-duplicate'); // 'leakage'
 */
export function checkFamily(check: string): string {
  const i = check.indexOf('.');
  return i < 0 ? check : check.slice(0, i);
}

/**
 * Findings grouped by family, families in {@link FAMILY_ORDER}.
 *
 * @example
 * for (const [family, list] of findingsByFamily(result.findings)) console.log(family, list.length);
 */
export function findingsByFamily(findings: readonly Finding[]): [string, Finding[]][] {
  const map = new Map<string, Finding[]>();
  for (const f of findings) {
    const fam = checkFamily(f.check);
    if (!map.has(fam)) map.set(fam, []);
    map.get(fam)!.push(f);
  }
  const rank = (f: string) => (FAMILY_ORDER.includes(f) ? FAMILY_ORDER.indexOf(f) : FAMILY_ORDER.length);
  return [...map.entries()].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Counts of findings per severity (recomputed, so it holds even when `summary` is missing).
 *
 * @example
 * severityCounts(result.findings); // { info: 3, warn: 2, error: 0 }
 */
export function severityCounts(findings: readonly Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { info: 0, warn: 0, error: 0 };
  for (const f of findings) if (f.severity in out) out[f.severity]++;
  return out;
}

/**
 * One group of a bias finding (`details.groups`).
 *
 * @example
 * const g: GroupStat = { group: 'female', count: 480, baseRate: 0.21, missingRate: 0.05 };
 */
export interface GroupStat {
  group: string;
  count: number;
  baseRate?: number;
  missingRate?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The per-group statistics of a bias finding, or `[]` when `details.groups` is absent or malformed.
 *
 * @example
 * groupsOf(f); // [{ group: 'female', count: 480, baseRate: 0.21 }, { group: 'male', count: 520, baseRate: 0.34 }]
 */
export function groupsOf(f: Finding): GroupStat[] {
  const g = f.details?.groups;
  if (!Array.isArray(g)) return [];
  return g.filter(isObj).map((x) => ({ group: String(x.group ?? ''), count: optNum(x.count) ?? 0, baseRate: optNum(x.baseRate), missingRate: optNum(x.missingRate) }));
}

/**
 * One near-duplicate cluster (`details.clusters`).
 *
 * @example
 * const c: DuplicateCluster = { rows: [3, 17], jaccard: 0.91, preview: 'Dear friend' };
 */
export interface DuplicateCluster {
  rows: number[];
  jaccard?: number;
  preview?: string;
}

/**
 * The clusters of a duplicate finding, or `[]`.
 *
 * @example
 * clustersOf(f); // [{ rows: [3, 17], jaccard: 0.91, preview: 'Dear friend' }]
 */
export function clustersOf(f: Finding): DuplicateCluster[] {
  const c = f.details?.clusters;
  if (!Array.isArray(c)) return [];
  return c.filter(isObj).map((x) => ({
    rows: Array.isArray(x.rows) ? x.rows.filter((r): r is number => typeof r === 'number') : [],
    jaccard: optNum(x.jaccard),
    preview: typeof x.preview === 'string' ? x.preview : undefined,
  }));
}

/**
 * The test statistics of a drift finding.
 *
 * @example
 * const d: DriftStat = { column: 'age', test: 'ks', statistic: 0.31, pValue: 1e-9, severity: 'error', score: 0.31 };
 */
export interface DriftStat {
  column: string;
  split?: string;
  test: string;
  statistic?: number;
  pValue?: number;
  severity: Severity;
  score: number;
}

/**
 * Drift statistics of every finding that carries `details.test` (feature and label drift), most severe first.
 *
 * @example
 * driftStats(result.findings); // [{ column: 'age', test: 'ks', statistic: 0.31, pValue: 1e-9, severity: 'error', score: 0.31 }]
 */
export function driftStats(findings: readonly Finding[]): DriftStat[] {
  const rank: Record<Severity, number> = { error: 2, warn: 1, info: 0 };
  return findings
    .filter((f) => typeof f.details?.test === 'string')
    .map((f) => ({ column: f.column ?? '', split: f.split, test: String(f.details!.test), statistic: optNum(f.details!.statistic), pValue: optNum(f.details!.pValue), severity: f.severity, score: f.score }))
    .sort((a, b) => rank[b.severity] - rank[a.severity] || b.score - a.score);
}

/**
 * The target column's profile in each split (from `options.target`), for label-balance charts and the
 * datasheet; `[]` without a target.
 *
 * @example
 * labelProfiles(result); // [{ split: 'train', column: { name: 'label', topValues: [...] , ... } }]
 */
export function labelProfiles(result: AuditResult): { split: string; column: ColumnProfile }[] {
  const target = typeof result.options?.target === 'string' ? result.options.target : undefined;
  if (!target) return [];
  const out: { split: string; column: ColumnProfile }[] = [];
  for (const s of result.splits) {
    const c = s.columns.find((x) => x.name === target);
    if (c) out.push({ split: s.split, column: c });
  }
  return out;
}

/**
 * The declared sensitive columns (from `options.sensitive`, a list or a comma-separated string).
 *
 * @example
 * sensitiveColumns({ ...result, options: { sensitive: ['sex', 'race'] } }); // ['sex', 'race']
 */
export function sensitiveColumns(result: AuditResult): string[] {
  const s = result.options?.sensitive;
  if (Array.isArray(s)) return s.map(String).filter(Boolean);
  if (typeof s === 'string') return s.split(',').map((x) => x.trim()).filter(Boolean);
  return [];
}

/**
 * Reads and checks an `audit.json` written by `switchyard audit`. A missing file, malformed JSON (with
 * `file:line:column`) or another kind of JSON is a bad-input `SwitchyardError`.
 *
 * @example
 * const audit = readAuditJson('reports/audit/audit.json');
 */
export function readAuditJson(file: string): AuditResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: cannot read the audit file`, 'run switchyard audit --out DIR first; it writes DIR/audit.json');
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    // JSON is YAML: the YAML parser locates the first syntax error when the JSON message has no position.
    const lc = new LineCounter();
    const yamlErr = parseDocument(text, { lineCounter: lc }).errors[0];
    const pos = Number(/position (\d+)/.exec((e as Error).message)?.[1] ?? yamlErr?.pos[0] ?? NaN);
    const at = Number.isFinite(pos) ? `:${lc.linePos(pos).line}:${lc.linePos(pos).col}` : '';
    throw new SwitchyardError('E_AUDIT_JSON', `${file}${at}: not valid JSON (${(e as Error).message})`, 'the file is damaged; run switchyard audit again');
  }
  const r = obj as Partial<AuditResult>;
  if (!isObj(obj) || r.format !== 'switchyard.audit' || !Array.isArray(r.splits) || !Array.isArray(r.findings))
    throw new SwitchyardError('E_AUDIT_FORMAT', `${file}: not an audit result (expected "format": "switchyard.audit" with splits and findings)`, 'pass the audit.json written by switchyard audit');
  return obj as unknown as AuditResult;
}
