/**
 * The dashboard's HTML pages and its own script and style sheet (no framework, nothing fetched from another
 * host). Pages are complete without a script (long lists are paged, filtered and sorted by the server: paging.ts);
 * chart pages load the chart script (src/ui/charts.ts).
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../report/html.ts';
import { pagerNav, queryPath, type Paged } from './paging.ts';
import type { RunSummary } from './runs.ts';
import type { RunsQuery } from './runs-query.ts';
import { uplotPaths } from './static.ts';

/** The style sheet served at `/ui.css`. */
export const UI_CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header{background:#123;color:#fff;padding:.6rem 1rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem;max-width:1100px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}
th a{color:#123}.pager{margin:.6rem 0;display:flex;gap:1rem;flex-wrap:wrap}
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
  const scripts = opts.charts ? [uplot.script, '/charts.js'] : [];
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
 * A hidden form field, left out when the value is empty.
 *
 * @param name the field's name
 * @param value its value (escaped here)
 * @example
 * hiddenField('token', token); // '<input type="hidden" name="token" value="…">' or ''
 */
export const hiddenField = (name: string, value: string | undefined): string =>
  value ? `<input type="hidden" name="${name}" value="${escapeHtml(value)}">` : '';

/**
 * The runs page: one page of the runs table (kind, status, steps, best metric), filtered and sorted by the server
 * (a GET form and column header links: the state is in the URL, and it works without JavaScript), page links,
 * and checkboxes to compare runs (a plain GET form to `/compare?run=a&run=b`).
 *
 * @param page the runs shown (`queryRuns`)
 * @param query the request's filter, sort and page (`runsQuery`)
 * @param all how many runs the folder holds
 * @param pageSize the dashboard's page size (a `limit` equal to it is left out of links)
 * @param token the access token when bound beyond loopback
 * @example
 * const q = runsQuery({}, 50);
 * const rows = await listRuns('runs');
 * const html = runsPage(queryRuns(rows, q), q, rows.length, 50);
 */
export function runsPage(
  page: Paged<RunSummary>, query: RunsQuery, all: number, pageSize: number, token?: string,
): string {
  const limit = query.limit === pageSize ? undefined : String(query.limit);
  const order = query.order === 'asc' ? undefined : query.order;
  const state = { q: query.q, sort: query.sort === 'id' ? undefined : query.sort, order, limit, token };
  const columns: [string, RunsQuery['sort']][] = [
    ['run', 'id'], ['kind', 'kind'], ['status', 'status'], ['steps', 'steps'], ['best metric', 'bestMetric'],
    ['best value', 'bestValue'],
  ];
  const head = columns.map(([text, key]) => {
    const on = query.sort === key;
    const next = on && query.order === 'asc' ? 'desc' : 'asc';
    const href = queryPath('/', { ...state, sort: key, order: next });
    const asc = query.order === 'asc';
    const sorted = on ? ` aria-sort="${asc ? 'ascending' : 'descending'}"` : '';
    return `<th scope="col"${sorted}><a href="${href}">${text}${on ? (asc ? ' ▲' : ' ▼') : ''}</a></th>`;
  }).join('') + '<th scope="col">compare</th>';
  const link = (r: RunSummary) =>
    `<a href="${uiHref(`/runs/${encodeURIComponent(r.id)}`, token)}">${escapeHtml(r.id)}</a>`;
  const pick = (r: RunSummary) => `<input type="checkbox" form="compare" name="run" value="${escapeHtml(r.id)}"`
    + ` aria-label="compare ${escapeHtml(r.id)}">`;
  const rows = page.items.map((r) => `<tr><td>${link(r)}</td>`
    + `<td>${escapeHtml(r.kind)}</td><td class="status-${r.status}">${r.status}</td>`
    + `<td>${r.steps}</td><td>${escapeHtml(r.bestMetric ?? '')}</td>`
    + `<td>${num(r.bestValue)}</td><td>${pick(r)}</td></tr>`).join('\n');
  const keep = hiddenField('token', token);
  const hidden = hiddenField('sort', state.sort) + hiddenField('order', order) + hiddenField('limit', limit) + keep;
  const filter = `<form id="run-filter-form" method="get" action="/" role="search"><label>filter`
    + ` <input id="run-filter" name="q" type="search" placeholder="name, kind, status" value="${escapeHtml(query.q)}">`
    + `</label>${hidden}<button type="submit">Filter</button></form>`;
  const pager = pagerNav('/', state, page, 'runs');
  const empty = all === 0 ? '<p>No runs in this folder yet.</p>'
    : page.total === 0 ? '<p>No run matches the filter.</p>' : '';
  const body = `<div class="toolbar">${filter}<form id="compare" method="get" action="/compare">${keep}`
    + `<button type="submit">Compare selected</button></form></div>${pager}
<table id="runs"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
${empty}`;
  return uiPage(`Runs (${all})`, body, token);
}
