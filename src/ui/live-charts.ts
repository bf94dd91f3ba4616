/**
 * The live page's charts: per alias, over the slices of the window, requests per minute, error and rejected
 * rates, p99 latency and the drift statistic of each feature, drawn by uPlot (the dashboard's chart library) from
 * a JSON data block, by the script served at `/live.js` (the page's policy allows no inline script). Drift
 * statistics of different tests live on different scales (chi-square 60, KS 0.1), so each test gets its own chart.
 * The tables under the charts hold the same numbers: the fallback without JavaScript and for screen readers.
 *
 * @module
 */
import { escapeHtml } from '../report/html.ts';
import { CHART_KIT_JS } from './charts.ts';
import type { LiveAlias, LiveView } from './live-data.ts';

/**
 * One chart: x is the end of each slice (seconds since the epoch), one value per slice and series (null where the
 * slice logged nothing).
 *
 * @example
 * const c: LiveChart = { id: 'p99', title: 'p99 latency', y: 'ms', x: [1700000000], series: [{ label: 'production', values: [3.1] }] };
 */
export interface LiveChart {
  id: string;
  title: string;
  y: string;
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}

/**
 * The element id the charts of `name@alias` are drawn into.
 *
 * @param name the model
 * @param alias the alias
 * @example
 * chartsId('churn', 'production'); // 'live-charts-churn-production'
 */
export const chartsId = (name: string, alias: string): string => escapeHtml(`live-charts-${name}-${alias}`);

/**
 * The charts of one alias, from its slices.
 *
 * @param a the alias's traffic
 * @example
 * aliasCharts(view.models[0].aliases[0]).map((c) => c.id); // ['requests', 'errors', 'p99', 'drift-ks', …]
 */
export function aliasCharts(a: LiveAlias): LiveChart[] {
  const x = a.slices.map((s) => Date.parse(s.end) / 1000);
  const some = (s: LiveAlias['slices'][number]) => s.rows > 0 || s.requests > 0;
  const per = (f: (s: LiveAlias['slices'][number]) => number | null | undefined) =>
    a.slices.map((s) => (some(s) ? (f(s) ?? null) : null));
  const percent = (v: number | null | undefined) => (v === null || v === undefined ? null : v * 100);
  const charts: LiveChart[] = [
    { id: 'requests', title: 'requests / min', y: 'per minute', x, series: [{ label: a.alias, values: per((s) => s.perMinute) }] },
    { id: 'errors', title: 'error rate (5xx) and rejected rate (4xx)', y: '% of requests', x, series: [
      { label: 'error rate (5xx)', values: per((s) => percent(s.traffic?.errorRate)) },
      { label: 'rejected rate (4xx)', values: per((s) => percent(s.traffic?.rejectedRate)) },
    ] },
    { id: 'p99', title: 'p99 latency', y: 'ms', x, series: [{ label: a.alias, values: per((s) => s.p99) }] },
  ];
  const tests = [...new Set(a.overall.drift.map((d) => d.test))];
  for (const test of tests) {
    const columns = a.overall.drift.filter((d) => d.test === test).map((d) => d.column);
    const series = columns.map((column) => ({
      label: column, values: per((s) => s.drift.find((d) => d.column === column)?.statistic),
    }));
    charts.push({ id: `drift-${test}`, title: `drift: ${test} statistic per feature`, y: test, x, series });
  }
  return charts;
}

/**
 * The page's charts as a JSON data block (`type="application/json"` is not run, so the policy allows it; `<` is
 * escaped so no value can close the element).
 *
 * @param v the live page's data
 * @example
 * const html = liveChartsBlock(await liveView(reg, parseWindow('1h'), new Map()));
 */
export function liveChartsBlock(v: LiveView): string {
  const groups = v.models.flatMap((m) => m.aliases.filter((a) => a.slices.length)
    .map((a) => ({ target: `live-charts-${m.name}-${a.alias}`, charts: aliasCharts(a) })));
  const json = JSON.stringify(groups).replace(/</g, '\\u003c');
  return `<script type="application/json" id="live-charts-data">${json}</script>`;
}

/** The script served at `/live.js`: draws every chart of `#live-charts-data` into its alias's element. */
export const LIVE_CHARTS_JS = `
(function () {
  var block = document.getElementById('live-charts-data');
  if (!block || !window.uPlot) return;
${CHART_KIT_JS}
  var charts = [];
  JSON.parse(block.textContent).forEach(function (group) {
    var root = document.getElementById(group.target);
    if (!root) return;
    group.charts.forEach(function (c) {
      var box = document.createElement('figure');
      box.className = 'chart';
      box.id = group.target + '-' + c.id;
      var names = c.series.map(function (s) { return s.label; }).join(', ');
      box.setAttribute('aria-label', c.title + ' over time (' + names + '); the table below holds the numbers');
      root.appendChild(box);
      var series = [{ label: 'time' }].concat(c.series.map(function (s, i) {
        return { label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false, points: { size: 6 } };
      }));
      var opts = { title: c.title, width: width(box), height: 220, series: series, scales: { x: { time: true } },
        axes: [{}, { label: c.y, size: 70, values: ticks }], hooks: { setSeries: [showPressed] } };
      var u = new uPlot(opts, [c.x].concat(c.series.map(function (s) { return s.values; })), box);
      keyboardLegend(u);
      box.setAttribute('data-points', String(c.x.length));
      charts.push({ u: u, box: box });
    });
    root.setAttribute('data-drawn', 'true');
  });
  resizeWithWindow(charts, 220);
})();
`;
