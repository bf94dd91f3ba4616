/**
 * `audit.html`: the audit result as a report page — overview, findings per check family (with group-rate
 * charts for bias findings, cluster tables for near-duplicates, match tables for leakage), per-column
 * profiles, distributions, missingness, label balance, drift and timings. Rendered by {@link renderReport}.
 */
import { DRIFT_EFFECT, DRIFT_P, type AuditResult, type ColumnProfile, type Finding, type SplitProfile } from '../audit/types.ts';
import { checkFamily, clustersOf, driftStats, findingsByFamily, groupsOf, labelProfiles, sensitiveColumns, severityCounts } from './audit-view.ts';
import { barChart, histogramChart } from './charts.ts';
import { auditChecks } from './audit-checks.ts';
import { formatCell, renderReport, writeReportFiles, type Block, type Cell, type ReportSection } from './html.ts';
import { truncate } from './svg.ts';


/** At most this many per-column charts per kind, so huge tables keep a readable page. */
const MAX_COLUMN_CHARTS = 40;

const FAMILY_TITLES: Record<string, string> = {
  integrity: 'Integrity',
  duplicates: 'Duplicates',
  leakage: 'Train/test leakage',
  contamination: 'Contamination',
  labels: 'Label issues',
  balance: 'Class balance',
  bias: 'Bias',
  drift: 'Drift',
};

const pct = (n: number, d: number): string => (d ? `${((100 * n) / d).toFixed(1)}%` : '—');

function familyTitle(fam: string): string {
  return FAMILY_TITLES[fam] ?? fam.charAt(0).toUpperCase() + fam.slice(1);
}

function overview(r: AuditResult): Block[] {
  const counts = severityCounts(r.findings);
  const cols = new Set(r.splits.flatMap((s) => s.columns.map((c) => c.name)));
  const blocks: Block[] = [
    { kind: 'kv', pairs: [['files', r.splits.length], ['rows', r.splits.reduce((a, s) => a + s.rows, 0)], ['columns', cols.size], ['errors', counts.error], ['warnings', counts.warn], ['info', counts.info]] },
    { kind: 'table', caption: 'Inputs', columns: ['split', 'file', 'format', 'rows', 'columns'], rows: r.splits.map((s) => [s.split, s.file, s.format, s.rows, s.columns.length]) },
  ];
  const fams = findingsByFamily(r.findings);
  if (fams.length) {
    blocks.push({ kind: 'table', caption: 'Findings per check family', columns: ['family', 'error', 'warn', 'info', 'worst score'], rows: fams.map(([fam, list]) => {
      const c = severityCounts(list);
      return [familyTitle(fam), c.error, c.warn, c.info, Math.max(...list.map((f) => (Number.isFinite(f.score) ? f.score : 0)))];
    }) });
  }
  const opts = Object.entries(r.options ?? {}).map(([k, v]): [string, string] => [optionLabel(k), optionText(v)]).filter(([, v]) => v !== '');
  if (opts.length) blocks.push({ kind: 'kv', pairs: opts });
  return blocks;
}

/** Audit options in words (audit.json keeps the library's option names). */
const OPTION_LABELS: Record<string, string> = {
  data: 'training data', test: 'test data', target: 'target column', sensitive: 'sensitive columns', textColumn: 'text column',
  columns: 'column kinds set by hand', positive: 'positive class', nearDuplicates: 'near-duplicate settings',
  contaminationN: 'contamination n-gram length (words)', seed: 'seed',
};

/** A label for an option: the table above, else the camelCase name split into words. */
function optionLabel(key: string): string {
  return OPTION_LABELS[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/** An option value as text; empty (and so left out) when unset, an empty list or an empty mapping. */
function optionText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => optionText(x)).filter(Boolean).join(', ');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => [optionLabel(k), optionText(x)]).filter(([, x]) => x).map(([k, x]) => `${k}: ${x}`).join('; ');
  return typeof v === 'number' ? formatCell(v) : truncate(String(v), 200);
}

function biasBlocks(f: Finding): Block[] {
  const groups = groupsOf(f);
  if (!groups.length) return [];
  const col = f.column ?? String(f.details?.column ?? 'group');
  const positive = typeof f.details?.positive === 'string' ? ` of '${f.details.positive}'` : '';
  const cats = groups.map((g) => `${g.group} (n=${g.count.toLocaleString('en-US')})`);
  const series = [];
  if (groups.some((g) => g.baseRate !== undefined)) series.push({ name: `label rate${positive}`, values: groups.map((g) => g.baseRate ?? NaN) });
  if (groups.some((g) => g.missingRate !== undefined)) series.push({ name: 'missing rate', values: groups.map((g) => g.missingRate ?? NaN) });
  const blocks: Block[] = [];
  if (series.length) {
    const n = groups.reduce((a, g) => a + g.count, 0);
    const overall = typeof f.details?.overallRate === 'number' ? f.details.overallRate : n && series[0].name.startsWith('label rate') ? groups.reduce((a, g) => a + g.count * (g.baseRate ?? 0), 0) / n : undefined;
    blocks.push({ kind: 'chart', caption: `${f.check}: rates per group of ${col}`, svg: barChart({ title: `${col}: rates per group`, categories: cats, series, horizontal: true, percent: true, domain: [0, 1], valueLabel: 'rate', reference: overall !== undefined ? { value: overall, label: `overall label rate${positive}` } : undefined }) });
  } else {
    blocks.push({ kind: 'chart', caption: `${f.check}: group sizes of ${col}`, svg: barChart({ title: `${col}: group sizes`, categories: groups.map((g) => g.group), series: [{ name: 'rows', values: groups.map((g) => g.count) }], horizontal: true, valueLabel: 'rows' }) });
  }
  return blocks;
}

/** A table block without the columns that are empty in every row. */
function compactTable(caption: string, columns: string[], rows: Cell[][]): Block {
  const keep = columns.map((_, j) => rows.some((r) => r[j] !== undefined && r[j] !== null && r[j] !== ''));
  return { kind: 'table', caption, columns: columns.filter((_, j) => keep[j]), rows: rows.map((r) => r.filter((_, j) => keep[j])) };
}

function clusterBlocks(f: Finding): Block[] {
  const clusters = clustersOf(f);
  if (!clusters.length) return [];
  const rows = [...clusters].sort((a, b) => b.rows.length - a.rows.length).slice(0, 50).map((c, i): Cell[] => [i + 1, truncate(c.rows.join(', '), 120), c.rows.length, c.jaccard, c.preview ? truncate(c.preview, 160) : undefined]);
  return [compactTable(`${f.check}${f.column ? ` (${f.column})` : ''}: ${clusters.length} duplicate clusters, largest first`, ['cluster', 'rows', 'size', 'Jaccard', 'preview'], rows)];
}

function matchBlocks(f: Finding): Block[] {
  const m = f.details?.matches;
  if (!Array.isArray(m) || !m.length) return [];
  const rows = m.slice(0, 50).map((x: any): Cell[] => [typeof x?.test === 'number' ? x.test : undefined, Array.isArray(x?.train) ? truncate(x.train.join(', '), 80) : undefined, typeof x?.jaccard === 'number' ? x.jaccard : undefined, typeof x?.preview === 'string' ? truncate(x.preview, 160) : undefined]);
  return [compactTable(`${f.check}: test rows that copy training rows`, ['test row', 'training rows', 'Jaccard', 'preview'], rows)];
}

/** One group chart per column: several findings (group sizes, rates, missingness) often carry the same groups. */
function groupCharts(list: Finding[]): Block[] {
  const best = new Map<string, Finding>();
  for (const f of list) {
    const key = f.column ?? f.check;
    const n = groupsOf(f).length;
    const cur = best.get(key);
    if (n && (!cur || n > groupsOf(cur).length)) best.set(key, f);
  }
  return [...best.values()].flatMap(biasBlocks);
}

function familySection(fam: string, list: Finding[]): ReportSection {
  const blocks: Block[] = [{ kind: 'findings', findings: list }, ...groupCharts(list)];
  for (const f of list) blocks.push(...clusterBlocks(f), ...matchBlocks(f));
  const c = severityCounts(list);
  const tally = [c.error && `${c.error} error`, c.warn && `${c.warn} warn`, c.info && `${c.info} info`].filter(Boolean).join(', ');
  return { id: `findings-${fam}`, title: `${familyTitle(fam)} (${tally})`, blocks };
}

function profileRow(c: ColumnProfile): Cell[] {
  const top = c.topValues?.slice(0, 3).map((t) => `${truncate(t.value, 24)} (${t.count})`).join(', ');
  return [c.name, c.kind + (c.source === 'override' ? ' (set)' : ''), c.storageType, c.missing, pct(c.missing, c.rows), c.distinct, typeof c.min === 'string' ? truncate(c.min, 24) : c.min, typeof c.max === 'string' ? truncate(c.max, 24) : c.max, c.mean, c.std, c.quantiles?.p50, top ?? (c.meanLength !== undefined ? `mean length ${c.meanLength.toFixed(0)}` : undefined)];
}

function profileSection(splits: SplitProfile[]): ReportSection {
  return {
    id: 'columns',
    title: 'Columns',
    blocks: splits.map((s) => ({
      kind: 'table' as const,
      caption: `${s.split}: ${s.file} (${s.rows.toLocaleString('en-US')} rows, ${s.columns.length} columns)`,
      columns: ['column', 'kind', 'storage', 'missing', 'missing %', 'distinct', 'min', 'max', 'mean', 'std', 'median', 'top values'],
      rows: s.columns.map(profileRow),
    })),
  };
}

function distributionSection(splits: SplitProfile[]): ReportSection {
  const [first, ...rest] = splits;
  const blocks: Block[] = [];
  const cols = first?.columns ?? [];
  const other = (name: string) => rest.map((s) => ({ split: s.split, col: s.columns.find((c) => c.name === name) })).find((x) => x.col);
  const numeric = cols.filter((c) => c.histogram && c.histogram.counts.length);
  for (const c of numeric.slice(0, MAX_COLUMN_CHARTS)) {
    const o = other(c.name);
    const overlay = o?.col?.histogram?.counts.length ? { name: o.split, histogram: o.col.histogram } : undefined;
    blocks.push({ kind: 'chart', caption: `${c.name}: ${c.kind}, ${c.rows - c.missing} values${overlay ? `; ${first.split} bars, ${overlay.name} outline` : ''}`, svg: histogramChart({ title: c.name, xLabel: c.name, histogram: c.histogram!, name: first.split, overlay }) });
  }
  const categorical = cols.filter((c) => !c.histogram && (c.kind === 'categorical' || c.kind === 'boolean') && c.topValues?.length);
  for (const c of categorical.slice(0, MAX_COLUMN_CHARTS)) {
    const tv = c.topValues!;
    blocks.push({ kind: 'chart', caption: `${c.name}: ${c.distinct} distinct values, most frequent shown`, svg: barChart({ title: `${c.name}: most frequent values`, categories: tv.map((t) => t.value), series: [{ name: first.split, values: tv.map((t) => t.count) }], horizontal: true, valueLabel: 'rows' }) });
  }
  const skipped = numeric.length + categorical.length - Math.min(numeric.length, MAX_COLUMN_CHARTS) - Math.min(categorical.length, MAX_COLUMN_CHARTS);
  if (skipped > 0) blocks.push({ kind: 'text', text: `${skipped} more columns are not charted; their profiles are in the Columns table and audit.json.` });
  return { id: 'distributions', title: 'Distributions', blocks };
}

function missingSection(splits: SplitProfile[]): ReportSection {
  const names = [...new Set(splits.flatMap((s) => s.columns.map((c) => c.name)))];
  const anyMissing = splits.some((s) => s.columns.some((c) => c.missing > 0));
  if (!anyMissing) return { id: 'missing', title: 'Missing values', blocks: [{ kind: 'text', text: 'No column has missing values.' }] };
  const rate = (s: SplitProfile, n: string) => {
    const c = s.columns.find((x) => x.name === n);
    return c && c.rows ? c.missing / c.rows : NaN;
  };
  const shown = names.filter((n) => splits.some((s) => rate(s, n) > 0)).sort((a, b) => Math.max(...splits.map((s) => rate(s, b) || 0)) - Math.max(...splits.map((s) => rate(s, a) || 0)));
  return {
    id: 'missing',
    title: 'Missing values',
    blocks: [
      { kind: 'chart', caption: `Share of missing values per column (${shown.length} of ${names.length} columns have any)`, svg: barChart({ title: 'missing values per column', categories: shown, series: splits.map((s) => ({ name: s.split, values: shown.map((n) => rate(s, n)) })), horizontal: true, percent: true, domain: [0, 1], valueLabel: 'share missing' }) },
    ],
  };
}

function labelSection(r: AuditResult): ReportSection | null {
  const lp = labelProfiles(r).filter((x) => x.column.topValues?.length);
  if (!lp.length) return null;
  const classes = [...new Set(lp.flatMap((x) => x.column.topValues!.map((t) => t.value)))];
  const share = (col: ColumnProfile, v: string) => {
    const n = col.rows - col.missing;
    const t = col.topValues!.find((x) => x.value === v);
    return n ? (t ? t.count / n : 0) : NaN;
  };
  return {
    id: 'labels',
    title: `Label balance (${lp[0].column.name})`,
    blocks: [{ kind: 'chart', caption: 'Share of each class per split', svg: barChart({ title: `${lp[0].column.name}: class shares`, categories: classes, series: lp.map((x) => ({ name: x.split, values: classes.map((c) => share(x.column, c)) })), horizontal: true, percent: true, domain: [0, 1], valueLabel: 'share of rows' }) }],
  };
}

function driftSection(r: AuditResult): ReportSection | null {
  const stats = driftStats(r.findings);
  const tests = r.driftTests ?? [];
  if (tests.length) {
    const drifted = tests.filter((t) => t.drifted).length;
    const rows = [...tests].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.effect - a.effect).map((t): Cell[] => [t.column, t.test === 'ks' ? 'Kolmogorov-Smirnov' : 'chi-square', t.statistic, t.pValue, t.effect, t.drifted ? 'DRIFTED' : 'no drift']);
    const labelRows = stats.filter((d) => d.test && !tests.some((t) => t.column === d.column)).map((d): Cell[] => [d.column, d.test, d.statistic, d.pValue, null, d.severity === 'info' ? 'no drift' : 'DRIFTED']);
    return {
      id: 'drift', title: `Drift between splits (${drifted} of ${tests.length} columns)`, blocks: [{
        kind: 'table', columns: ['column', 'test', 'statistic', 'p-value', 'effect', 'result'], rows: [...rows, ...labelRows],
        caption: `every column in both splits; drifted when p < ${DRIFT_P} and the effect (KS statistic, or Jensen-Shannon distance for categories) is at least ${DRIFT_EFFECT}`,
      }],
    };
  }
  if (!stats.length) return null;
  return {
    id: 'drift',
    title: 'Drift between splits',
    blocks: [{ kind: 'table', caption: 'Per-column drift tests, most severe first', columns: ['column', 'split', 'test', 'statistic', 'p-value', 'severity', 'score'], rows: stats.map((d) => [d.column, d.split, d.test, d.statistic, d.pValue, d.severity, d.score]) }],
  };
}

/**
 * Renders an audit result as the self-contained `audit.html` page.
 *
 * @example
 * const result = JSON.parse(readFileSync('reports/audit/audit.json', 'utf8')) as AuditResult;
 * await writeFileAtomic('reports/audit/audit.html', renderAuditHtml(result));
 */
export function renderAuditHtml(result: AuditResult): string {
  const files = result.splits.map((s) => s.file);
  const sensitive = sensitiveColumns(result);
  const sections: ReportSection[] = [{ id: 'overview', title: 'Overview', blocks: overview(result) }];
  const fams = findingsByFamily(result.findings);
  if (!fams.length) sections.push({ id: 'findings', title: 'Findings', blocks: [{ kind: 'text', text: 'No check found a problem.' }] });
  for (const [fam, list] of fams) sections.push(familySection(fam, list));
  sections.push(profileSection(result.splits), distributionSection(result.splits), missingSection(result.splits));
  const labels = labelSection(result);
  if (labels) sections.push(labels);
  const drift = driftSection(result);
  if (drift) sections.push(drift);
  const timings = Object.entries(result.timings ?? {});
  if (timings.length) sections.push({ id: 'timings', title: 'Timings', blocks: [{ kind: 'table', columns: ['check family', 'seconds'], rows: timings.map(([k, v]) => [k, v]) }] });
  const counts = severityCounts(result.findings);
  const worst = result.findings.filter((f) => f.severity === 'error').slice(0, 5);
  return renderReport({
    title: `Data audit: ${files.map((f) => f.split('/').pop()).join(', ') || 'no files'}`,
    subtitle: `${counts.error} errors, ${counts.warn} warnings, ${counts.info} notes across ${new Set(result.findings.map((f) => checkFamily(f.check))).size} check families`,
    meta: [['created', result.created], ['files', files.join(', ')], ['target', typeof result.options?.target === 'string' ? result.options.target : undefined], ['sensitive columns', sensitive.join(', ') || undefined]],
    checks: auditChecks(result),
    summary: worst.length ? [{ kind: 'text', text: 'Errors to fix before training:' }, { kind: 'findings', findings: worst }] : undefined,
    sections,
  });
}

/**
 * Writes `audit.json` and `audit.html` into `dir` (each atomically) and returns their paths.
 *
 * @example
 * await writeAuditReports('reports/audit', await runAudit({ data: 'train.csv', target: 'label' }));
 */
export function writeAuditReports(dir: string, result: AuditResult): Promise<{ json: string; html: string }> {
  return writeReportFiles(dir, 'audit', result, renderAuditHtml(result));
}
