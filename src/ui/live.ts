/**
 * The live page (`/live`): per alias what it serves, request rate, error rate, rejected rate, sample rate, p99
 * latency and drift per feature over time (see `live-data.ts`), drawn with uPlot (`live-charts.ts`) above the
 * tables they come from (the fallback without JavaScript, and for screen readers), and the incident log with acknowledge and resolve forms that go
 * through the incident log's own `acknowledge` / `resolve`, as `switchyard monitor incidents ack|resolve` do.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Incident } from '../monitor/incidents.ts';
import { openIncidentLog } from '../monitor/incidents.ts';
import type { Reference } from '../monitor/reference.ts';
import { formatWindow, parseWindow } from '../monitor/store.ts';
import { defaultUser, type Registry } from '../registry/registry.ts';
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { RequestStats } from '../monitor/traffic.ts';
import { liveView, NOT_RECORDED, type LiveAlias, type LiveSlice, type LiveView } from './live-data.ts';
import { chartsId, LIVE_CHARTS_JS, liveChartsBlock } from './live-charts.ts';
import { uiHref, html, uiPage, table, versionPath } from './pages.ts';

const num = (v: number | null | undefined): string =>
  (v === null || v === undefined ? '—' : String(+v.toPrecision(3)));
const pct = (v: number | null | undefined): string =>
  (v === null || v === undefined ? '—' : `${+(v * 100).toPrecision(3)}%`);
const notRecorded = '<span class="not-recorded">not recorded</span>';

/** A request-log number of a slice: "not recorded" where the log (format 1) has none. */
const recorded = (t: RequestStats | null, show: (t: RequestStats) => string): string => (t ? show(t) : notRecorded);

/** Error codes and how many requests got each (`E_MODEL_OUTPUT 2, E_BAD_INPUT 1`). */
const codeList = (t: RequestStats): string =>
  Object.entries(t.codes).map(([c, n]) => `${escapeHtml(c)} ${n}`).join(', ');

function aliasRow(name: string, a: LiveAlias, token?: string): string[] {
  const o = a.overall;
  const drifted = o.drift.length ? `${o.drift.filter((d) => d.drifted).length} of ${o.drift.length}` : '—';
  return [
    escapeHtml(a.alias), `<a href="${uiHref(versionPath(name, a.version), token)}">v${a.version}</a>`,
    String(o.requests) + (a.capped ? ' (newest rows only)' : ''), num(o.perMinute),
    recorded(o.traffic, (t) => pct(t.errorRate)), recorded(o.traffic, (t) => pct(t.rejectedRate)),
    recorded(o.traffic, (t) => codeList(t) || '—'), recorded(o.traffic, (t) => t.sampleRates.join(', ') || '—'),
    num(o.p99), drifted,
  ];
}

/** Drift and traffic of one alias in six slices of the window: one column per slice (the charts' fallback). */
function overTime(name: string, a: LiveAlias): string {
  const title = `<h3>${escapeHtml(`${name}@${a.alias}`)} over time</h3>`;
  if (!a.slices.length) return `${title}<p>No logged requests of ${escapeHtml(a.alias)} in this window.</p>`;
  const cols = ['', ...a.slices.map((s) => `to ${escapeHtml(s.end.slice(11, 19))}`)];
  const cell = (s: LiveSlice, v: string) => (s.rows || s.requests ? v : '—');
  const rows = [
    ['requests / min', ...a.slices.map((s) => cell(s, num(s.perMinute)))],
    ['error rate (5xx)', ...a.slices.map((s) => cell(s, recorded(s.traffic, (t) => pct(t.errorRate))))],
    ['rejected rate (4xx)', ...a.slices.map((s) => cell(s, recorded(s.traffic, (t) => pct(t.rejectedRate))))],
    ['p99 latency (ms)', ...a.slices.map((s) => cell(s, num(s.p99)))],
  ];
  for (const col of a.overall.drift.map((d) => d.column)) {
    rows.push([`drift: ${escapeHtml(col)}`, ...a.slices.map((s) => {
      const d = s.drift.find((x) => x.column === col);
      const mark = d?.drifted ? ' <b class="drifted">drifted</b>' : '';
      return d ? `${escapeHtml(d.test)} ${num(d.statistic)}${mark}` : '—';
    })]);
  }
  const why = a.noDrift ? `<p>No drift: ${escapeHtml(a.noDrift)}</p>` : '';
  const charts = `<div class="charts live-charts" id="${chartsId(name, a.alias)}"></div>`;
  return `${title}${why}${charts}${table('over-time', cols, rows)}`;
}

/** The requests refused before a version was picked, when there were any. */
function unroutedNote(t: RequestStats | null): string {
  if (!t?.logged) return '';
  return `<p class="unrouted">${t.logged} logged request(s) refused before a version was picked: ${codeList(t)}.</p>`;
}

function incidentForm(i: Incident, action: 'acknowledge' | 'resolve', token?: string): string {
  const label = action === 'acknowledge' ? 'Acknowledge' : 'Resolve';
  return `<form method="post" action="${uiHref(`/live/incidents/${action}`, token)}" class="${action}">
<input type="hidden" name="id" value="${escapeHtml(i.id)}">
<label>note <input name="note" required></label><button type="submit">${label}</button></form>`;
}

function incidentArticle(i: Incident, token?: string): string {
  const timeline = i.timeline.map((e) => `<li>${escapeHtml(`${e.at} ${e.action} by ${e.by}`)}`
    + `${e.version ? ` v${escapeHtml(e.version)}` : ''}${e.note ? ` — ${escapeHtml(e.note)}` : ''}</li>`).join('');
  const forms = (i.status === 'open' ? incidentForm(i, 'acknowledge', token) : '') + incidentForm(i, 'resolve', token);
  const id = escapeHtml(i.id);
  return `<article class="incident" id="incident-${id}"><h3>#${id} ${escapeHtml(i.title)}</h3>
<p><span class="status">${escapeHtml(i.status)}</span> · ${escapeHtml(i.kind)} · ${escapeHtml(i.model)}
v${escapeHtml(i.versions.join(', v'))} · opened ${escapeHtml(i.openedAt)}</p>
<ol class="timeline">${timeline}</ol>${forms}</article>`;
}

/**
 * The live page.
 *
 * @param v what {@link liveView} read
 * @param window the window as text (`1h`, `1000 predictions`)
 * @param location the registry's location, or undefined without a registry
 * @param token the access token, if any
 * @example
 * const html = livePage(await liveView(reg, parseWindow('1h'), new Map()), '1h', reg.location);
 */
export function livePage(v: LiveView, window: string, location: string | undefined, token?: string): string {
  if (location === undefined) {
    return uiPage('Live', '<p>No registry: start the dashboard with --registry DIR.</p>', token);
  }
  const keep = token ? `<input type="hidden" name="token" value="${escapeHtml(token)}">` : '';
  const form = `<form method="get" action="/live" class="window">${keep}
<label>window <input name="window" value="${escapeHtml(window)}"></label><button type="submit">Show</button></form>`;
  const cols = [
    'alias', 'version', 'logged requests', 'requests / min', 'error rate (5xx)', 'rejected rate (4xx)', 'error codes',
    'sample rate', 'p99 latency (ms)', 'drifted features',
  ];
  const models = v.models.map((m) => `<section class="live-model" id="live-${escapeHtml(m.name)}">
<h2>${escapeHtml(m.name)}</h2>
${m.aliases.length ? table('aliases', cols, m.aliases.map((a) => aliasRow(m.name, a, token))) : '<p>No aliases.</p>'}
${unroutedNote(m.unrouted)}${m.aliases.map((a) => overTime(m.name, a)).join('\n')}</section>`).join('\n');
  const logged = v.logged
    ? '' : '<p>Nothing logged yet: serve a model with <code>--monitor</code> against this registry.</p>';
  const old = v.models.some((m) => m.aliases.some((a) => a.slices.some((s) => !s.traffic)));
  const notes = old ? Object.values(NOT_RECORDED).map((n) => `<li>${escapeHtml(n)}</li>`).join('') : '';
  const resolved = v.resolved.map((i) =>
    [i.id, i.openedAt, i.kind, i.model, i.title, i.timeline.at(-1)?.by ?? ''].map(escapeHtml));
  const open = v.unresolved.map((i) => incidentArticle(i, token)).join('\n') || '<p>None.</p>';
  const body = `<p>${escapeHtml(location)}: logged predictions of the last ${escapeHtml(window)}.</p>${form}${logged}
${models || '<p>No models registered.</p>'}${liveChartsBlock(v)}
${notes ? `<h2>Not recorded</h2><ul class="not-recorded-list">${notes}</ul>` : ''}
<h2>Open incidents (${v.unresolved.length})</h2>${open}
<h2>Resolved incidents</h2>${table('resolved', ['id', 'opened', 'kind', 'model', 'title', 'resolved by'], resolved)}`;
  return uiPage('Live', `${body}<script defer src="${uiHref('/live.js', token)}"></script>`, token, { charts: true });
}

function incidentChange(body: unknown): { id: string; note: string } {
  const b = (body ?? {}) as Record<string, string | undefined>;
  const [id, note] = [b.id?.trim(), b.note?.trim()];
  if (!id || !note) {
    const hint = 'fill in the note; it is recorded in the incident timeline';
    throw new SwitchyardError('E_USAGE', 'acknowledging or resolving an incident needs its id and a note', hint);
  }
  return { id, note };
}

/**
 * Registers `/live`, `/api/live` and the incident forms on the dashboard's Fastify app.
 *
 * @param app the dashboard's Fastify instance
 * @param reg the open registry, if any
 * @param token the access token, if any
 * @example
 * liveRoutes(app, reg, token);
 */
export function liveRoutes(app: FastifyInstance, reg: Registry | undefined, token?: string): void {
  const references = new Map<string, Promise<Reference | string>>();
  type Q = { Querystring: { window?: string } };
  const view = async (q: Q['Querystring']) => {
    const w = parseWindow(q.window ?? '1h');
    return { w, v: reg ? await liveView(reg, w, references) : undefined };
  };
  app.get<Q>('/live', async (req, reply) => {
    const { w, v } = await view(req.query);
    const empty: LiveView = { models: [], logged: false, unresolved: [], resolved: [] };
    return html(reply, livePage(v ?? empty, formatWindow(w), reg?.location, token));
  });
  app.get<Q>('/api/live', async (req) => ({ ...(await view(req.query)).v, notRecorded: NOT_RECORDED }));
  app.get('/live.js', (_q, reply) => reply.type('text/javascript; charset=utf-8').send(LIVE_CHARTS_JS));
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  for (const action of ['acknowledge', 'resolve'] as const) {
    app.post(`/live/incidents/${action}`, async (req, reply) => {
      const f = incidentChange(req.body);
      if (!reg) throw new SwitchyardError('E_USAGE', 'no registry', 'start the dashboard with --registry DIR');
      const log = await openIncidentLog(reg.db);
      await log[action](f.id, { by: defaultUser(), note: f.note });
      return reply.redirect(`/live${query}#incident-${encodeURIComponent(f.id)}`, 303);
    });
  }
}
