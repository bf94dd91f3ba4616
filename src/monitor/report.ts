/**
 * The drift report of a model in the registry: the logged traffic of a window against the reference, as
 * `drift.json` and a self-contained `drift.html` (per-column reference vs current distributions, drift
 * statistics with the test each column got, prediction drift, live accuracy and calibration).
 */
import { existsSync } from 'node:fs';
import type { ModelVersion, Registry } from '../registry/registry.ts';
import { barChart, reliabilityDiagram } from '../report/charts.ts';
import { type Block, type CheckRow, renderReport, writeReportFiles } from '../report/html.ts';
import { loadModel } from '../serve/model-runner.ts';
import { SwitchyardError } from '../util/errors.ts';
import { type WindowAnalysis } from './analysis.ts';
import { lineageData } from './attach.ts';
import type { ColumnDrift } from './drift.ts';
import { DEFAULT_MONITOR_MAX_WINDOW, Monitor } from './monitor.ts';
import { type AliasTraffic, modelTraffic, type RequestStats, type TrafficSlice } from './traffic.ts';
import { loadReference, type Reference } from './reference.ts';
import { formatWindow, type Window } from './store.ts';

/**
 * The JSON drift report.
 *
 * @example
 * const r: DriftReport = JSON.parse(readFileSync('reports/drift/drift.json', 'utf8'));
 * r.analysis.drift.share;
 */
export interface DriftReport {
  format: 'switchyard.drift-report';
  version: 1;
  model: { name: string; version: number; ref: string };
  reference: { source: string; rows: number; predictions: 'model' | 'target' | null } | null;
  window: string;
  createdAt: string;
  analysis: WindowAnalysis;
  /**
   * Every alias of the model over the same window, in six slices: requests, error and rejected rates, p99, and
   * (for the aliases pointing at the reported version) drift; and the requests refused before a version was
   * picked. Absent in reports written before the request log.
   */
  traffic?: { aliases: AliasTraffic[]; unrouted: RequestStats };
}

/**
 * Builds the report for `ref` (`NAME`, `NAME@ALIAS`, `NAME@3`): the reference is `reference` or the training
 * data in the version's lineage; the model's predictions on it come from loading the version.
 *
 * @example
 * const report = await driftReport(registry, 'churn@production', { window: parseWindow('1000') });
 */
export async function driftReport(registry: Registry, ref: string, o: { reference?: string; window: Window; role?: string }): Promise<DriftReport> {
  const v = await registry.resolve(ref);
  const reference = await versionReference(registry, v, o.reference);
  const monitor = await Monitor.open({ db: registry.db, model: v.name, reference, intervalMs: 0 });
  try {
    const analysis = await monitor.analyze(o.window, { role: o.role });
    if (!analysis.rows) throw new SwitchyardError('E_MONITOR_EMPTY', `${v.name}: no logged predictions in the window ${formatWindow(o.window)}`, 'serve the model with --monitor, or widen --window');
    const aliases = await registry.aliases(v.name);
    const of = async (version: number) => (version === v.version ? reference : null);
    const traffic = await modelTraffic(registry.db, { model: v.name, aliases, window: o.window, reference: of, maxRows: DEFAULT_MONITOR_MAX_WINDOW });
    return { format: 'switchyard.drift-report', version: 1, model: { name: v.name, version: v.version, ref }, reference: { source: reference.source, rows: reference.rows, predictions: reference.predictions?.from ?? null }, window: formatWindow(o.window), createdAt: new Date().toISOString(), analysis, traffic };
  } finally {
    await monitor.close();
  }
}

/**
 * The drift reference of a registry version: `reference`, else the training data its lineage names, typed by
 * the version's input schema and with the model's own predictions on it (the model is loaded and released).
 * Throws `E_MONITOR_REFERENCE` when there is no such data here.
 *
 * @param registry the open registry
 * @param v the version
 * @param reference a reference file instead of the lineage's training data
 * @example
 * const ref = await versionReference(registry, await registry.resolve('churn@production'));
 */
export async function versionReference(registry: Registry, v: ModelVersion, reference?: string): Promise<Reference> {
  const lin = lineageData(v.lineage);
  const path = reference ?? (lin.data && existsSync(lin.data) ? lin.data : undefined);
  if (!path) throw new SwitchyardError('E_MONITOR_REFERENCE', `${v.name}@${v.version}: no reference data (the lineage names ${lin.data ? `'${lin.data}', which does not exist here` : 'no training data'})`, 'pass --reference FILE (the training data)');
  const model = v.kind === 'lm' ? null : await loadModel(await registry.materialize(v), { name: v.name, version: v.version, verify: false }).catch(() => null);
  try {
    return await loadReference(path, { fields: model?.schema?.fields, target: lin.target, ...(model ? { model } : {}) });
  } finally {
    await model?.close();
  }
}

const fmt = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || Number.isNaN(x) ? '—' : +x.toPrecision(d) + '');

function columnChart(f: ColumnDrift): Block[] {
  if (!f.bins) return [];
  const share = (c: number[]) => {
    const n = c.reduce((s, v) => s + v, 0) || 1;
    return c.map((v) => v / n);
  };
  const svg = barChart({ title: `${f.column}: reference vs current (${f.test} ${fmt(f.statistic)}${f.pValue !== undefined ? `, p ${fmt(f.pValue, 2)}` : ''})`, categories: f.bins.labels, series: [{ name: 'reference', values: share(f.bins.reference) }, { name: 'current', values: share(f.bins.current) }], percent: true, horizontal: f.bins.labels.length > 8 });
  return [{ kind: 'chart', svg, caption: `${f.drifted ? 'DRIFTED' : 'stable'} — PSI ${fmt(f.psi)}` }];
}

/** Names of the drift tests, for chart titles. */
const TEST_NAMES: Record<string, string> = {
  ks: 'Kolmogorov-Smirnov statistic', 'chi-square': 'chi-square statistic', wasserstein: 'normed Wasserstein distance',
  'jensen-shannon': 'Jensen-Shannon distance', mmd: 'MMD statistic',
};

/**
 * One chart per kind of test: a chi-square statistic of 60 and a KS statistic of 0.1 live on different scales,
 * so each kind gets its own axis rather than sharing one.
 */
function statisticPanels(features: ColumnDrift[]): Block[] {
  const kinds = [...new Set(features.map((f) => f.test))];
  return kinds.map((k) => {
    const fs = features.filter((f) => f.test === k);
    const svg = barChart({ title: `${TEST_NAMES[k] ?? k} per column`, categories: fs.map((f) => f.column), series: [{ name: k, values: fs.map((f) => f.statistic) }], horizontal: true, valueLabel: TEST_NAMES[k] ?? k });
    return { kind: 'chart', svg, caption: `${fs.length} column(s) tested with ${TEST_NAMES[k] ?? k}` };
  });
}

/** The checks a drift page opens with: the dataset, the predictions and each column. */
function driftChecks(a: WindowAnalysis): CheckRow[] {
  const d = a.drift;
  const rows: CheckRow[] = [{ check: 'Dataset drift', status: d.dataset ? 'fail' : 'pass', detail: `${d.drifted} of ${d.columns} columns drifted (share ${fmt(d.share)}; dataset drift at ≥ ${d.driftShare})`, section: 'columns' }];
  rows.push(d.prediction ? { check: 'Prediction drift', status: d.prediction.drifted ? 'warn' : 'pass', detail: `${d.prediction.test} ${fmt(d.prediction.statistic)}`, section: 'prediction' } : { check: 'Prediction drift', status: 'skipped', detail: 'no reference predictions' });
  for (const f of d.features) rows.push({ check: `Column ${f.column}`, status: f.drifted ? 'warn' : 'pass', detail: `${TEST_NAMES[f.test] ?? f.test} ${fmt(f.statistic)}${f.pValue !== undefined ? `, p ${fmt(f.pValue, 2)}` : ''}`, section: 'columns' });
  return rows;
}

/** Per alias, the window's slices as a table: requests per minute, error rate (5xx), rejected rate (4xx), p99. */
function trafficBlocks(t: NonNullable<DriftReport['traffic']>): Block[] {
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${fmt(v * 100)}%`);
  const rate = (s: TrafficSlice, k: 'errorRate' | 'rejectedRate') => (s.traffic ? pct(s.traffic[k]) : 'not recorded');
  const blocks: Block[] = [{ kind: 'text', text: 'Error rate: share of requests answered 5xx (the model or the server failed). Rejected rate: share answered 4xx (bad JSON, input the schema refuses, too many rows, rate limited: the client\'s mistakes). Requests per minute scale each logged request by 1 / its sample rate.' }];
  for (const a of t.aliases) {
    const rows = [a.overall, ...a.slices].map((s, i) => [i ? `to ${s.end.slice(11, 19)}` : 'whole window', s.requests, fmt(s.perMinute), rate(s, 'errorRate'), rate(s, 'rejectedRate'), fmt(s.p99), Object.entries(s.traffic?.codes ?? {}).map(([c, n]) => `${c} ${n}`).join(', ') || '—']);
    blocks.push({ kind: 'text', text: `${a.alias} → v${a.version}${a.overall.traffic?.sampleRates.length ? ` (sample rate ${a.overall.traffic.sampleRates.join(', ')})` : ''}` });
    blocks.push({ kind: 'table', columns: ['slice', 'logged requests', 'requests / min', 'error rate', 'rejected rate', 'p99 ms', 'error codes'], rows });
  }
  if (t.unrouted.logged) blocks.push({ kind: 'text', text: `Refused before a version was picked: ${t.unrouted.logged} (${Object.entries(t.unrouted.codes).map(([c, n]) => `${c} ${n}`).join(', ')}).` });
  return blocks;
}

/**
 * The HTML page of a drift report.
 *
 * @example
 * writeFileSync('drift.html', renderDriftHtml(report));
 */
export function renderDriftHtml(r: DriftReport): string {
  const a = r.analysis;
  const d = a.drift;
  const table = (fs: ColumnDrift[]): Block => ({
    kind: 'table',
    columns: ['column', 'type', 'test', 'statistic', 'p-value', 'threshold', 'PSI', 'drifted', 'reference rows', 'current rows'],
    rows: fs.map((f) => [f.column, f.type, f.test, fmt(f.statistic), f.pValue === undefined ? '—' : fmt(f.pValue, 2), `${f.pValue === undefined ? '≥' : 'p <'} ${f.threshold}`, fmt(f.psi), f.drifted ? 'yes' : 'no', f.referenceRows, f.currentRows]),
  });
  const live: Block[] = [{ kind: 'kv', pairs: [['labelled predictions', a.live.labelled], ['accuracy', fmt(a.live.accuracy)], ['ECE (10 bins)', fmt(a.live.ece)], ['latency p50 (ms)', fmt(a.latency.p50)], ['latency p99 (ms)', fmt(a.latency.p99)]] }];
  if (a.live.reliability.length) live.push({ kind: 'chart', svg: reliabilityDiagram({ title: 'live calibration', ece: a.live.ece ?? undefined, bins: a.live.reliability.map((b) => ({ lower: b.lo, upper: b.hi, count: b.count, confidence: b.confidence, accuracy: b.accuracy })) }) });
  return renderReport({
    title: `Drift report — ${r.model.name}@${r.model.version}`,
    subtitle: `${a.rows} logged predictions (${r.window}) against ${r.reference?.source ?? 'no reference'}`,
    meta: [['model', `${r.model.ref} → version ${r.model.version}`], ['window', r.window], ['from', a.from ?? '—'], ['to', a.to ?? '—'], ['versions seen', a.versions.join(', ')], ['reference rows', r.reference?.rows ?? '—'], ['created', r.createdAt]],
    checks: driftChecks(a),
    summary: [{ kind: 'kv', pairs: [['dataset drift', d.dataset ? 'YES' : 'no'], ['drifted columns', `${d.drifted} of ${d.columns} (share ${fmt(d.share)}; dataset drift at ≥ ${d.driftShare})`], ['prediction drift', d.prediction ? (d.prediction.drifted ? `yes (${d.prediction.test} ${fmt(d.prediction.statistic)})` : 'no') : '—'], ['live accuracy', fmt(a.live.accuracy)]] }],
    sections: [
      { id: 'columns', title: 'Column drift', blocks: [{ kind: 'text', text: 'Numeric columns: Kolmogorov-Smirnov (p < 0.05) when the reference has at most 1000 rows, else Wasserstein distance normed by the reference standard deviation (≥ 0.1). Categorical columns: chi-square (p < 0.05) up to 1000 rows, else Jensen-Shannon distance (≥ 0.1). Text columns: MMD on hashed character-3-gram embeddings (p < 0.05). PSI over reference-quantile bins or categories is shown for every column.' }, table(d.features), ...statisticPanels(d.features)] },
      { id: 'distributions', title: 'Distributions', blocks: d.features.flatMap(columnChart) },
      { id: 'prediction', title: 'Prediction drift', blocks: d.prediction ? [table([d.prediction]), ...columnChart(d.prediction), { kind: 'text', text: `Reference predictions: ${r.reference?.predictions === 'model' ? "the model's own predictions on the reference rows" : 'the reference target column'}.` }] : [{ kind: 'text', text: 'No reference predictions.' }] },
      { id: 'live', title: 'Live quality', blocks: live },
      ...(r.traffic ? [{ id: 'traffic', title: 'Traffic by alias', blocks: trafficBlocks(r.traffic) }] : []),
    ],
  });
}

/**
 * Writes `drift.json` and `drift.html` into `dir` (atomically); returns their paths.
 *
 * @example
 * await writeDriftReport(report, 'reports/drift');
 */
export function writeDriftReport(r: DriftReport, dir: string): Promise<{ json: string; html: string }> {
  return writeReportFiles(dir, 'drift', r, renderDriftHtml(r));
}
