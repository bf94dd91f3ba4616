/**
 * A run's page: its curves (uPlot, appended live from the event stream), a table of the last record's values
 * (the page's content without JavaScript, with the hand-drawn loss curve), throughput and MFU, the MoE panel
 * for MoE runs, and its `config.json`.
 *
 * @module
 */
import { escapeHtml } from '../report/html.ts';
import { chartSpecs, type ChartSpec } from './charts.ts';
import { moePanel } from './moe.ts';
import { uiHref, uiPage } from './pages.ts';

/**
 * What a run page shows.
 *
 * @example
 * const v: RunPageView = { id: 'lm', config, records, curveSvg: runCurveSvg(records), device: { name: 'cpu' } };
 */
export interface RunPageView {
  id: string;
  config: unknown;
  records: Record<string, unknown>[];
  /** The loss curve as SVG, shown when JavaScript is off. */
  curveSvg: string;
  /** Where the run trained, from `metrics.json` (written when it finishes). */
  device?: { name: string; adapter?: string };
  /** More sections after the config (already escaped HTML), e.g. the run's reports. */
  extra?: string;
}

/** A number as the pages show it (4 significant digits), `n/a` for null or NaN (JSON writes NaN as null). */
export const showNumber = (v: unknown): string =>
  typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : 'n/a';

/**
 * The chart specs as a JSON data block (`type="application/json"` is not run, so the page's policy allows it);
 * `<` is escaped so no value can close the element.
 *
 * @param specs the page's charts
 * @example
 * const html = chartSpecsBlock(chartSpecs('a', recs));
 */
export function chartSpecsBlock(specs: ChartSpec[]): string {
  const json = JSON.stringify(specs).replace(/</g, '\\u003c');
  return `<script type="application/json" id="chart-specs">${json}</script>`;
}

/** Why MFU is missing: it is measured against the CPU's matmul rate, which no other device has here. */
function mfuNote(records: Record<string, unknown>[], device: RunPageView['device']): string {
  if (!records.some((r) => 'mfu' in r)) return '';
  if (records.some((r) => typeof r.mfu === 'number')) return '';
  const where = device && device.name !== 'cpu'
    ? `this run trained on ${escapeHtml(device.name)}${device.adapter ? ` (${escapeHtml(device.adapter)})` : ''}`
    : 'this run has no ceiling recorded (runs on WebGPU have none)';
  return `<p id="mfu-note">MFU n/a: MFU is measured against ONNX Runtime's matmul rate on this CPU, measured when`
    + ` training starts; ${where}.</p>`;
}

function lastValuesTable(records: Record<string, unknown>[]): string {
  const last = records.at(-1);
  if (!last) return '<p>No metric records yet.</p>';
  const rows = Object.entries(last).filter(([, v]) => typeof v === 'number' || v === null)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th>`
      + `<td data-field="${escapeHtml(k)}">${showNumber(v)}</td></tr>`).join('');
  return `<table class="facts" id="last-values"><caption>Last record</caption><tbody>${rows}</tbody></table>`;
}

/**
 * The run page's HTML.
 *
 * @param v see {@link RunPageView}
 * @param token the access token when bound beyond loopback
 * @example
 * const html = runPage({ id: 'penguins', config, records, curveSvg: runCurveSvg(records) });
 */
export function runPage(v: RunPageView, token?: string): string {
  const base = `/api/runs/${encodeURIComponent(v.id)}`;
  const json = `<a href="${uiHref(`${base}/metrics`, token)}">metrics as JSON</a>`;
  const sources = escapeHtml(JSON.stringify({ [v.id]: `${base}/metrics` }));
  const live = `data-charts data-run="${escapeHtml(v.id)}" data-sources="${sources}"`
    + ` data-events="${escapeHtml(`${base}/events`)}"`;
  const moe = moePanel(v.records);
  const moeSection = moe
    ? `<section id="moe" aria-labelledby="moe-title"><h2 id="moe-title">Mixture of experts</h2>`
      + `<div data-fragment="${escapeHtml(`/runs/${encodeURIComponent(v.id)}/moe`)}">${moe}</div></section>`
    : '';
  const body = `<p><span id="records">${v.records.length}</span> metric records. ${json}</p>
${lastValuesTable(v.records)}${mfuNote(v.records, v.device)}
<h2>Curves</h2>${chartSpecsBlock(chartSpecs(v.id, v.records))}
<div class="charts" id="charts" ${live}><noscript><figure id="curve">${v.curveSvg}</figure></noscript></div>
${moeSection}
<h2>Config</h2><pre id="config" tabindex="0">${escapeHtml(JSON.stringify(v.config, null, 2))}</pre>${v.extra ?? ''}`;
  return uiPage(`Run ${v.id}`, body, token, { charts: true });
}
