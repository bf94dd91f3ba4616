/**
 * The dashboard's HTML pages and its own script and style sheet (no framework, nothing fetched from another
 * host). Pages are complete without the script; it adds table filtering and sorting and live curves.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../report/html.ts';
import type { HistoryEntry, ModelVersion } from '../registry/registry.ts';
import type { RunSummary } from './runs.ts';

/** The style sheet served at `/ui.css`. */
export const UI_CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header{background:#123;color:#fff;padding:.6rem 1rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem;max-width:1100px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:#123}
form{margin:.6rem 0;display:flex;gap:.5rem;flex-wrap:wrap;align-items:end}
label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;padding:.25rem .4rem}
pre{background:#f4f4f4;padding:.6rem;overflow:auto;max-height:24rem}
#curve svg{max-width:100%;height:auto}
iframe#report{width:100%;height:70vh;border:1px solid #ccc}
td{overflow-wrap:anywhere}.not-recorded{color:#555;font-style:italic}.drifted{color:#a00}
article.incident{border:1px solid #ccc;border-radius:4px;padding:0 .8rem;margin:.8rem 0}
.status-running{color:#8a5a00}.status-damaged{color:#a00}
`;

/**
 * The script served at `/ui.js`: filter and sort for tables marked `data-sortable`, and on a run page an
 * EventSource on `data-events` that reloads the curve from `data-chart` when a metrics line arrives.
 */
export const UI_JS = `
(function () {
  var token = new URLSearchParams(location.search).get('token');
  function withToken(u) {
    return token ? u + (u.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token) : u;
  }
  document.querySelectorAll('table[data-sortable]').forEach(function (table) {
    var body = table.tBodies[0];
    var filter = document.getElementById(table.getAttribute('data-filter'));
    if (filter) filter.addEventListener('input', function () {
      var q = filter.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (r) { r.hidden = r.textContent.toLowerCase().indexOf(q) < 0; });
    });
    table.querySelectorAll('th button').forEach(function (btn, col) {
      btn.addEventListener('click', function () {
        var asc = btn.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('th button').forEach(function (b) { b.removeAttribute('aria-sort'); });
        btn.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute('data-value') || a.cells[col].textContent;
          var y = b.cells[col].getAttribute('data-value') || b.cells[col].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var curve = document.getElementById('curve');
  if (curve && window.EventSource) {
    var es = new EventSource(withToken(curve.getAttribute('data-events')));
    var pending = false;
    // The server answers once its watch is set, so an open stream misses no line appended from now on.
    es.onopen = function () { curve.setAttribute('data-live', 'open'); };
    es.onmessage = function () {
      if (pending) return;
      pending = true;
      fetch(withToken(curve.getAttribute('data-chart'))).then(function (r) { return r.text(); }).then(function (svg) {
        curve.innerHTML = svg;
        var n = document.getElementById('records');
        if (n) n.textContent = String(Number(n.textContent) + 1);
      }).finally(function () { pending = false; });
    };
  }
})();
`;

/**
 * A link (escaped for an attribute) that keeps the token of a dashboard bound beyond loopback.
 *
 * @param path the dashboard path
 * @param token the access token, if any
 * @example
 * href('/registry', 'abc'); // '/registry?token=abc'
 */
export function href(path: string, token?: string): string {
  return escapeHtml(token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path);
}

/**
 * The dashboard path of a version's page.
 *
 * @param name the model
 * @param version the version number
 * @example
 * versionPath('penguins', 3); // '/registry/penguins/3'
 */
export const versionPath = (name: string, version: number): string =>
  `/registry/${encodeURIComponent(name)}/${version}`;

/**
 * Sends a dashboard page as HTML.
 *
 * @param reply the Fastify reply
 * @param body the whole page
 * @example
 * return html(reply, page('Live', '<p>…</p>'));
 */
export function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body);
}

/**
 * A whole dashboard page: the header with its navigation, the title and `body` (already escaped HTML).
 *
 * @param title the page title
 * @param body the page's HTML
 * @param token the access token, if any
 * @example
 * const html = page('Live', '<p>nothing served yet</p>');
 */
export function page(title: string, body: string, token?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="${href('/ui.css', token)}"></head><body>
<header><nav><a href="${href('/', token)}">Runs</a><a href="${href('/registry', token)}">Registry</a><!--
--><a href="${href('/reports', token)}">Reports</a><a href="${href('/live', token)}">Live</a></nav></header>
<main><h1>${escapeHtml(title)}</h1>${body}</main><script src="${href('/ui.js', token)}"></script></body></html>`;
}

const num = (v: number | undefined): string => (v === undefined ? '' : Number(v.toPrecision(4)).toString());

/** A table row of already-escaped cells. */
const row = (cells: string[]): string => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;

/**
 * A table with plain column headers and rows of already-escaped cells.
 *
 * @param cls the table's class
 * @param columns header texts (already escaped)
 * @param rows cells (already escaped)
 * @example
 * table('aliases', ['alias', 'version'], [['production', '3']]);
 */
export function table(cls: string, columns: string[], rows: string[][]): string {
  const head = columns.map((c) => `<th scope="col">${c}</th>`).join('');
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>${rows.map(row).join('')}</tbody></table>`;
}

/**
 * The runs page: a table of runs (kind, status, steps, best metric) with a filter box.
 *
 * @param runs rows of `listRuns`
 * @param token the access token when bound beyond loopback
 * @example
 * const html = runsPage(await listRuns('runs'));
 */
export function runsPage(runs: RunSummary[], token?: string): string {
  const head = ['run', 'kind', 'status', 'steps', 'best metric', 'best value']
    .map((c) => `<th scope="col"><button type="button">${c}</button></th>`).join('');
  const link = (r: RunSummary) =>
    `<a href="${href(`/runs/${encodeURIComponent(r.id)}`, token)}">${escapeHtml(r.id)}</a>`;
  const rows = runs.map((r) => `<tr><td>${link(r)}</td>`
    + `<td>${escapeHtml(r.kind)}</td><td class="status-${r.status}">${r.status}</td>`
    + `<td data-value="${r.steps}">${r.steps}</td><td>${escapeHtml(r.bestMetric ?? '')}</td>`
    + `<td data-value="${r.bestValue ?? ''}">${num(r.bestValue)}</td></tr>`).join('\n');
  const body = `<label>filter <input id="run-filter" type="search" placeholder="name, kind, status"></label>
<table id="runs" data-sortable data-filter="run-filter"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
${runs.length ? '' : '<p>No runs in this folder yet.</p>'}`;
  return page(`Runs (${runs.length})`, body, token);
}

/**
 * A run page: its loss curve (updated live while it trains) and its `config.json`.
 *
 * @param id the run id
 * @param config the parsed config
 * @param records how many metric records the curve has
 * @param curveSvg the curve, from `runCurveSvg`
 * @param token the access token when bound beyond loopback
 * @param extra more sections (already escaped HTML), e.g. the run's reports
 * @example
 * const html = runPage('penguins', cfg, recs.length, runCurveSvg(recs));
 */
export function runPage(
  id: string, config: unknown, records: number, curveSvg: string, token?: string, extra = '',
): string {
  const base = `/api/runs/${encodeURIComponent(id)}`;
  const json = `<a href="${href(`${base}/metrics`, token)}">metrics as JSON</a>`;
  const live = `data-events="${escapeHtml(`${base}/events`)}" data-chart="${escapeHtml(`${base}/curve.svg`)}"`;
  const body = `<p><span id="records">${records}</span> metric records. ${json}</p>
<figure id="curve" ${live}>${curveSvg}</figure>
<h2>Config</h2><pre id="config">${escapeHtml(JSON.stringify(config, null, 2))}</pre>${extra}`;
  return page(`Run ${id}`, body, token);
}

/**
 * One model of the registry page: its versions, aliases and history.
 *
 * @example
 * const m: RegistryModelView = {
 *   name: 'penguins', versions: await reg.list('penguins'),
 *   aliases: await reg.aliases('penguins'), history: await reg.history('penguins'),
 * };
 */
export interface RegistryModelView {
  name: string;
  versions: ModelVersion[];
  aliases: Record<string, number>;
  history: HistoryEntry[];
}

function modelSection(m: RegistryModelView, token?: string): string {
  const n = escapeHtml(m.name);
  const versionLink = (v: ModelVersion) =>
    `<a href="${href(versionPath(m.name, v.version), token)}">v${v.version}</a>`;
  const versions = m.versions.map((v) =>
    [versionLink(v), ...[v.kind, v.status, v.createdAt, v.createdBy, v.reason ?? ''].map(escapeHtml)]);
  const aliases = Object.entries(m.aliases).map(([a, v]) => `<li><b>${escapeHtml(a)}</b> &rarr; v${v}</li>`).join('');
  const moved = (h: HistoryEntry) => h.version ?? (h.from !== undefined ? `${h.from} → ${h.to}` : h.to ?? '');
  const history = m.history.map((h) => [h.at, h.by, h.action, h.alias ?? '', moved(h), h.reason ?? ''].map(escapeHtml));
  const options = m.versions.map((v) => `<option value="${v.version}">v${v.version}</option>`).join('');
  const hidden = `<input type="hidden" name="name" value="${n}">`;
  return `<section class="model" id="model-${n}"><h2>${n}</h2>
<h3>Aliases</h3><ul class="aliases">${aliases || '<li>none</li>'}</ul>
<form method="post" action="${href('/registry/promote', token)}" class="promote">${hidden}
<label>alias <input name="alias" required value="production"></label>
<label>version <select name="version">${options}</select></label>
<label>reason <input name="reason" required></label><button type="submit">Promote</button></form>
<form method="post" action="${href('/registry/rollback', token)}" class="rollback">${hidden}
<label>alias <input name="alias" required value="production"></label>
<label>reason <input name="reason" required></label><button type="submit">Roll back</button></form>
<h3>Versions</h3>${table('versions', ['version', 'kind', 'status', 'created', 'by', 'reason'], versions)}
<h3>History</h3>${table('history', ['at', 'by', 'action', 'alias', 'version', 'reason'], history)}</section>`;
}

/**
 * The registry page: per model its aliases, promote and rollback forms, versions and history.
 *
 * @param models one view per model name
 * @param location the registry's location, shown in the title line
 * @param token the access token when bound beyond loopback
 * @example
 * const html = registryPage([view], 'registry');
 */
export function registryPage(models: RegistryModelView[], location: string | undefined, token?: string): string {
  if (location === undefined) {
    return page('Registry', '<p>No registry: start the dashboard with --registry DIR.</p>', token);
  }
  const sections = models.map((m) => modelSection(m, token)).join('\n') || '<p>No models registered.</p>';
  const body = `<p>${escapeHtml(location)}</p>${sections}`;
  return page('Registry', body, token);
}
