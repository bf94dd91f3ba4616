/**
 * The dashboard's HTML pages and its own script and style sheet (no framework, nothing fetched from another
 * host). Pages are complete without the script; it adds table filtering and sorting (charts: src/ui/charts.ts).
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../report/html.ts';
import type { HistoryEntry, ModelVersion } from '../registry/registry.ts';
import type { RunSummary } from './runs.ts';
import { uplotPaths } from './static.ts';

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
.toolbar{display:flex;gap:1rem;align-items:end;flex-wrap:wrap}
:focus-visible{outline:3px solid #1f5fa8;outline-offset:2px}
.status-running{color:#8a5a00}.status-damaged{color:#a00}
`;

/**
 * The script served at `/ui.js`: filter and sort for tables marked `data-sortable` (charts are src/ui/charts.ts).
 */
export const UI_JS = `
(function () {
  document.querySelectorAll('table[data-sortable]').forEach(function (table) {
    var body = table.tBodies[0];
    var filter = document.getElementById(table.getAttribute('data-filter'));
    if (filter) filter.addEventListener('input', function () {
      var q = filter.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (r) { r.hidden = r.textContent.toLowerCase().indexOf(q) < 0; });
    });
    table.querySelectorAll('th button').forEach(function (btn) {
      var col = btn.parentNode.cellIndex;
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
})();
`;

/**
 * A same-origin link that keeps the access token of a dashboard bound beyond loopback, HTML-escaped.
 *
 * @param path the path (and query) on the dashboard
 * @param token the access token, if any
 * @example
 * uiHref('/runs/a', 'tok'); // '/runs/a?token=tok'
 */
export function uiHref(path: string, token?: string): string {
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
 * return html(reply, uiPage('Live', '<p>…</p>'));
 */
export function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body);
}

/**
 * A complete dashboard page: header with navigation, the title as `h1`, the body, the style sheets and scripts.
 * Chart pages pass `charts: true` to load uPlot (served by the dashboard from its package) and `/charts.js`.
 *
 * @param title the page title
 * @param body already-escaped HTML of the main content
 * @param token the access token when bound beyond loopback
 * @param opts `charts`: load the chart library and script
 * @example
 * const html = uiPage('Runs', '<p>none</p>');
 */
export function uiPage(title: string, body: string, token?: string, opts: { charts?: boolean } = {}): string {
  const uplot = uplotPaths();
  const styles = ['/ui.css', ...(opts.charts ? [uplot.style] : [])];
  const scripts = ['/ui.js', ...(opts.charts ? [uplot.script, '/charts.js'] : [])];
  const links = styles.map((s) => `<link rel="stylesheet" href="${uiHref(s, token)}">`).join('');
  const tags = scripts.map((s) => `<script src="${uiHref(s, token)}"></script>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,">${links}</head><body>
<header><nav><a href="${uiHref('/', token)}">Runs</a><a href="${uiHref('/registry', token)}">Registry</a><!--
--><a href="${uiHref('/reports', token)}">Reports</a><a href="${uiHref('/live', token)}">Live</a></nav></header>
<main><h1>${escapeHtml(title)}</h1>${body}</main>${tags}</body></html>`;
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
 * The runs page: a table of runs (kind, status, steps, best metric) with a filter box, and checkboxes to
 * compare runs (a plain GET form to `/compare?run=a&run=b`, so it works without JavaScript).
 *
 * @param runs rows of `listRuns`
 * @param token the access token when bound beyond loopback
 * @example
 * const html = runsPage(await listRuns('runs'));
 */
export function runsPage(runs: RunSummary[], token?: string): string {
  const head = ['run', 'kind', 'status', 'steps', 'best metric', 'best value']
    .map((c) => `<th scope="col"><button type="button">${c}</button></th>`).join('') + '<th scope="col">compare</th>';
  const link = (r: RunSummary) =>
    `<a href="${uiHref(`/runs/${encodeURIComponent(r.id)}`, token)}">${escapeHtml(r.id)}</a>`;
  const pick = (r: RunSummary) => `<input type="checkbox" form="compare" name="run" value="${escapeHtml(r.id)}"`
    + ` aria-label="compare ${escapeHtml(r.id)}">`;
  const rows = runs.map((r) => `<tr><td>${link(r)}</td>`
    + `<td>${escapeHtml(r.kind)}</td><td class="status-${r.status}">${r.status}</td>`
    + `<td data-value="${r.steps}">${r.steps}</td><td>${escapeHtml(r.bestMetric ?? '')}</td>`
    + `<td data-value="${r.bestValue ?? ''}">${num(r.bestValue)}</td><td>${pick(r)}</td></tr>`).join('\n');
  const keep = token ? `<input type="hidden" name="token" value="${escapeHtml(token)}">` : '';
  const body = `<div class="toolbar"><label>filter <input id="run-filter" type="search" placeholder="name, kind, status">
</label><form id="compare" method="get" action="/compare">${keep}<button type="submit">Compare selected</button></form></div>
<table id="runs" data-sortable data-filter="run-filter"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
${runs.length ? '' : '<p>No runs in this folder yet.</p>'}`;
  return uiPage(`Runs (${runs.length})`, body, token);
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
    `<a href="${uiHref(versionPath(m.name, v.version), token)}">v${v.version}</a>`;
  const versions = m.versions.map((v) =>
    [versionLink(v), ...[v.kind, v.status, v.createdAt, v.createdBy, v.reason ?? ''].map(escapeHtml)]);
  const aliases = Object.entries(m.aliases).map(([a, v]) => `<li><b>${escapeHtml(a)}</b> &rarr; v${v}</li>`).join('');
  const moved = (h: HistoryEntry) => h.version ?? (h.from !== undefined ? `${h.from} → ${h.to}` : h.to ?? '');
  const history = m.history.map((h) => [h.at, h.by, h.action, h.alias ?? '', moved(h), h.reason ?? ''].map(escapeHtml));
  const options = m.versions.map((v) => `<option value="${v.version}">v${v.version}</option>`).join('');
  const hidden = `<input type="hidden" name="name" value="${n}">`;
  return `<section class="model" id="model-${n}"><h2>${n}</h2>
<h3>Aliases</h3><ul class="aliases">${aliases || '<li>none</li>'}</ul>
<form method="post" action="${uiHref('/registry/promote', token)}" class="promote">${hidden}
<label>alias <input name="alias" required value="production"></label>
<label>version <select name="version">${options}</select></label>
<label>reason <input name="reason" required></label><button type="submit">Promote</button></form>
<form method="post" action="${uiHref('/registry/rollback', token)}" class="rollback">${hidden}
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
    return uiPage('Registry', '<p>No registry: start the dashboard with --registry DIR.</p>', token);
  }
  const sections = models.map((m) => modelSection(m, token)).join('\n') || '<p>No models registered.</p>';
  const body = `<p>${escapeHtml(location)}</p>${sections}`;
  return uiPage('Registry', body, token);
}
