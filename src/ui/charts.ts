/**
 * The dashboard's charts: which curves a run's `metrics.jsonl` holds (chart specs, computed on the server), and
 * the browser script that draws them with uPlot and appends each line the event stream brings. Metrics of
 * different scales never share an axis: losses share one chart, every other metric gets its own.
 *
 * @module
 */

/**
 * One curve of a chart: the value at `path` in each metrics record of `run`.
 *
 * @example
 * const s: ChartSeriesSpec = { label: 'validLoss', run: 'penguins', path: ['validLoss'] };
 */
export interface ChartSeriesSpec {
  label: string;
  run: string;
  /** Keys from the record down to the number (`['aux', 'blocks.0.mlp.router_entropy']`). */
  path: string[];
}

/**
 * One chart: its id (stable across runs, so the compare page can merge the same chart of several runs), title,
 * y-axis label and curves. `moe` marks per-layer MoE telemetry.
 *
 * @example
 * const c: ChartSpec = { id: 'loss', title: 'loss', y: 'loss', series: [], moe: false };
 */
export interface ChartSpec {
  id: string;
  title: string;
  y: string;
  series: ChartSeriesSpec[];
  moe: boolean;
}

/** Fields that place a record on the x axis (or count what was seen so far) rather than measure it. */
const X_FIELDS = new Set(['step', 'updates', 'epoch', 'tokens']);

/** Per-layer MoE telemetry drawn as curves (`tokens_per_expert` is the heatmap of src/ui/moe.ts). */
const MOE_SCALARS: Record<string, string> = {
  router_entropy: 'router entropy (nats)', dropped_tokens: 'dropped tokens', aux_loss: 'load-balancing loss',
  z_loss: 'router z-loss',
};

const isNumberish = (v: unknown): boolean => typeof v === 'number' || v === null;

/** Which chart a top-level field belongs to: losses share one, throughputs share one, the rest stand alone. */
function groupOf(field: string): { id: string; title: string; y: string } {
  if (/(^l|L)oss$/.test(field)) return { id: 'loss', title: 'loss', y: 'loss' };
  if (/PerSecond$/.test(field)) return { id: 'throughput', title: 'throughput', y: 'per second' };
  if (field === 'mfu') return { id: 'mfu', title: 'MFU (share of the measured matmul peak)', y: 'MFU' };
  return { id: `metric-${field}`, title: field, y: field };
}

/**
 * The charts a run's records call for, in order of first appearance (losses first): top-level numeric fields,
 * then per-layer MoE scalars from `aux` (one chart per telemetry kind, one curve per layer).
 *
 * @param run the run id the series read from
 * @param recs the run's metrics records
 * @example
 * chartSpecs('p', [{ epoch: 1, trainLoss: 0.7, validLoss: 0.8, validAccuracy: 0.5 }]);
 * // [{ id: 'loss', series: [trainLoss, validLoss] }, { id: 'metric-validAccuracy', ... }]
 */
export function chartSpecs(run: string, recs: Record<string, unknown>[]): ChartSpec[] {
  const specs = new Map<string, ChartSpec>();
  const add = (group: { id: string; title: string; y: string }, label: string, path: string[], moe: boolean) => {
    const spec = specs.get(group.id) ?? { ...group, series: [], moe };
    specs.set(group.id, spec);
    if (!spec.series.some((s) => s.label === label)) spec.series.push({ label, run, path });
  };
  for (const r of recs) {
    for (const [field, v] of Object.entries(r)) {
      if (!X_FIELDS.has(field) && isNumberish(v)) add(groupOf(field), field, [field], false);
    }
  }
  for (const r of recs) {
    const aux = r.aux;
    if (!aux || typeof aux !== 'object') continue;
    for (const [name, v] of Object.entries(aux)) {
      const m = /^(.*)\.([a-z_]+)$/.exec(name);
      if (!m || !isNumberish(v)) continue;
      const kind = m[2];
      add({ id: `moe-${kind}`, title: MOE_SCALARS[kind] ?? kind, y: kind }, m[1], ['aux', name], true);
    }
  }
  const all = [...specs.values()];
  return [...all.filter((s) => s.id === 'loss'), ...all.filter((s) => s.id !== 'loss')];
}

/**
 * The charts of several runs on one page: the same chart of every run merged into one (curves labelled with
 * their run), MoE telemetry left out (one curve per run and layer would not be readable).
 *
 * @param perRun each run's {@link chartSpecs}
 * @example
 * const specs = mergeChartSpecs([chartSpecs('a', recsA), chartSpecs('b', recsB)]);
 */
export function mergeChartSpecs(perRun: ChartSpec[][]): ChartSpec[] {
  const merged = new Map<string, ChartSpec>();
  for (const specs of perRun) {
    for (const s of specs.filter((x) => !x.moe)) {
      const m = merged.get(s.id) ?? { ...s, series: [] };
      merged.set(s.id, m);
      m.series.push(...s.series.map((c) => ({ ...c, label: `${c.run} ${c.label}` })));
    }
  }
  return [...merged.values()];
}

/** Extra rules of the style sheet for charts and the heatmap colour scale (text contrast at least 4.5:1). */
export const CHARTS_CSS = `
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:1rem;margin:1rem 0}
.chart{margin:0;min-width:0}.chart .u-title{font-size:1rem;font-weight:600}.chart .u-legend{font-size:.85rem}
table.facts{width:auto}table.facts th{font-weight:600}
.heat td{text-align:right;font-variant-numeric:tabular-nums;min-width:2.6rem}
.heat-0{background:#053061;color:#fff}.heat-1{background:#2166ac;color:#fff}.heat-2{background:#92c5de}
.heat-3{background:#f7f7f7}.heat-4{background:#f4a582}.heat-5{background:#d6604d}.heat-6{background:#b2182b;color:#fff}
.scroll{overflow-x:auto;max-width:100%}
`;

/**
 * What both chart scripts (`/charts.js`, `/live.js`) share, pasted into each one's scope: the palette, widths,
 * tick labels, the keyboard legend and resizing with the window.
 *
 * @example
 * const script = `(function () {${CHART_KIT_JS} keyboardLegend(new uPlot(opts, data, box)); })();`;
 */
export const CHART_KIT_JS = `
  var COLORS = ['#1f5fa8', '#c0392b', '#1e7b3a', '#7b3fa0', '#b35900', '#0f7a7a', '#5a5a5a', '#a0306a'];
  // A chart fills its grid cell (the figure); uPlot needs the width in pixels.
  function width(box) { return Math.max(240, box.clientWidth); }
  function ticks(u, vals) { return vals.map(function (v) { return v == null ? '' : String(Number(v.toPrecision(3))); }); }
  // The legend's series labels toggle their curve on click (uPlot); these make them buttons for the keyboard too.
  function legendLabels(u) {
    var rows = u.root.querySelectorAll('.u-legend tr.u-series');
    var first = rows.length === u.series.length ? 0 : 1; // a legend without the x row starts at series 1
    var out = [];
    Array.prototype.forEach.call(rows, function (row, k) {
      var label = row.querySelector('.u-label');
      if (k + first > 0 && label) out.push({ i: k + first, label: label });
    });
    return out;
  }
  function showPressed(u) {
    legendLabels(u).forEach(function (l) { l.label.setAttribute('aria-pressed', String(u.series[l.i].show)); });
  }
  function keyboardLegend(u) {
    legendLabels(u).forEach(function (l) {
      l.label.setAttribute('tabindex', '0');
      l.label.setAttribute('role', 'button');
      l.label.setAttribute('title', 'show or hide this curve (Enter or Space)');
      l.label.addEventListener('keydown', function (e) {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        u.setSeries(l.i, { show: !u.series[l.i].show });
      });
    });
    showPressed(u);
  }
  function resizeWithWindow(charts, height) {
    window.addEventListener('resize', function () {
      charts.forEach(function (c) { c.u.setSize({ width: width(c.box), height: height }); });
    });
  }
`;

/**
 * The browser script served at `/charts.js`. On a page with `[data-charts]` it reads the chart specs from
 * `#chart-specs`, loads each run's records from `data-sources` and draws one uPlot per spec. With `data-events`
 * it opens the run's event stream first, then appends every record newer than the last one drawn, updates
 * `td[data-field]` cells of the last-values table and reloads `[data-fragment]` sections (the MoE heatmap); the
 * first record of a run that had none reloads the page, whose charts are laid out from the records. Legend labels
 * are buttons (`aria-pressed`): a click, Enter or Space shows or hides their curve.
 */
export const CHARTS_JS = `
(function () {
  var root = document.querySelector('[data-charts]');
  if (!root || !window.uPlot) return;
${CHART_KIT_JS}  var token = new URLSearchParams(location.search).get('token');
  function withToken(u) {
    return token ? u + (u.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token) : u;
  }
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var sources = JSON.parse(root.getAttribute('data-sources'));
  var records = {};
  function xOf(r, i) {
    var keys = ['step', 'updates', 'epoch'];
    for (var k = 0; k < keys.length; k++) if (typeof r[keys[k]] === 'number') return r[keys[k]];
    return i + 1;
  }
  function valueAt(r, path) {
    var v = r;
    for (var i = 0; i < path.length && v != null; i++) v = v[path[i]];
    return typeof v === 'number' && isFinite(v) ? v : null;
  }
  function dataOf(spec) {
    var runs = [];
    spec.series.forEach(function (s) { if (runs.indexOf(s.run) < 0) runs.push(s.run); });
    var tables = runs.map(function (run) {
      var recs = records[run] || [];
      var table = [recs.map(xOf)];
      spec.series.forEach(function (s) {
        if (s.run === run) table.push(recs.map(function (r) { return valueAt(r, s.path); }));
      });
      return table;
    });
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }
  var charts = [];
  function draw() {
    specs.forEach(function (spec, k) {
      var box = document.createElement('figure');
      box.className = 'chart';
      box.id = 'chart-' + spec.id;
      box.setAttribute('aria-label', spec.title + ': ' + spec.series.map(function (s) { return s.label; }).join(', '));
      root.appendChild(box);
      var series = [{ label: 'step' }].concat(spec.series.map(function (s, i) {
        return { label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { size: 5 } };
      }));
      var opts = { title: spec.title, width: width(box), height: 240, scales: { x: { time: false } }, series: series,
        axes: [{ label: 'step' }, { label: spec.y, size: 70, values: ticks }], hooks: { setSeries: [showPressed] } };
      var data = dataOf(spec);
      var u = new uPlot(opts, data, box);
      keyboardLegend(u);
      box.setAttribute('data-points', String(data[0].length));
      charts.push({ spec: spec, u: u, box: box });
    });
  }
  function redraw(run) {
    charts.forEach(function (c) {
      if (!c.spec.series.some(function (s) { return s.run === run; })) return;
      var data = dataOf(c.spec);
      c.u.setData(data);
      c.box.setAttribute('data-points', String(data[0].length));
    });
  }
  resizeWithWindow(charts, 240);
  function fmt(v) { return typeof v === 'number' ? (isFinite(v) ? String(Number(v.toPrecision(4))) : 'n/a') : 'n/a'; }
  function showLast(rec) {
    document.querySelectorAll('td[data-field]').forEach(function (td) {
      var f = td.getAttribute('data-field');
      if (f in rec) td.textContent = fmt(rec[f]);
    });
    var n = document.getElementById('records');
    if (n) n.textContent = String(Number(n.textContent) + 1);
  }
  var refreshing = false;
  function refreshFragments() {
    if (refreshing) return;
    refreshing = true;
    var parts = Array.prototype.slice.call(document.querySelectorAll('[data-fragment]'));
    Promise.all(parts.map(function (el) {
      return fetch(withToken(el.getAttribute('data-fragment'))).then(function (r) { return r.text(); })
        .then(function (html) { el.innerHTML = html; });
    })).finally(function () { refreshing = false; });
  }
  var live = root.getAttribute('data-events');
  var liveRun = root.getAttribute('data-run');
  var pending = [];
  var loaded = false;
  function append(rec) {
    if (!specs.length) { location.reload(); return; } // a run's first record: lay its charts out from it
    var recs = records[liveRun];
    var last = recs.length ? xOf(recs[recs.length - 1], recs.length - 1) : -Infinity;
    if (xOf(rec, recs.length) <= last) return; // already in what was loaded
    recs.push(rec);
    redraw(liveRun);
    showLast(rec);
    refreshFragments();
  }
  function load() {
    var runs = Object.keys(sources);
    Promise.all(runs.map(function (run) {
      return fetch(withToken(sources[run])).then(function (r) { return r.json(); })
        .then(function (j) { records[run] = j.records; });
    })).then(function () {
      draw();
      loaded = true;
      pending.splice(0).forEach(append);
      root.setAttribute('data-drawn', 'true');
    });
  }
  if (live && window.EventSource) {
    // The stream first, then the records: a line written in between comes by the stream and is kept once.
    var es = new EventSource(withToken(live));
    es.onopen = function () {
      root.setAttribute('data-live', 'open');
      if (!charts.length && !root.hasAttribute('data-loading')) { root.setAttribute('data-loading', ''); load(); }
    };
    es.onmessage = function (m) {
      var rec = JSON.parse(m.data);
      if (loaded) append(rec); else pending.push(rec);
    };
  } else {
    load();
  }
})();
`;
