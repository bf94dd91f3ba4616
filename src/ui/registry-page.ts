/**
 * The registry pages and their routes: `/registry` (per model its aliases, promote and rollback forms, the first
 * page of its versions and history, newest first), `/registry/NAME` (one model, its versions and history paged
 * by the server: a registry may hold thousands of versions), `GET /api/registry/NAME/versions` (the same pages
 * as JSON), and the promote and rollback forms, which call the registry's own `setAlias` / `rollback`.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { HistoryEntry, ModelVersion, Registry } from '../registry/registry.ts';
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { pageQuery, pagerNav, type Paged } from './paging.ts';
import { html, table, uiHref, uiPage, versionPath } from './pages.ts';

/** Up to this many versions the promote form offers a list of them; past it, a number field. */
const VERSION_LIST_MAX = 100;

/**
 * One model on a registry page: a page of its versions and of its history (both newest first), its aliases,
 * and for the promote form its newest version number and, up to {@link VERSION_LIST_MAX} versions, all of them.
 *
 * @example
 * const m = await modelView(reg, 'penguins', { offset: 0, limit: 50 }, 0);
 */
export interface RegistryModelView {
  name: string;
  versions: Paged<ModelVersion>;
  aliases: Record<string, number>;
  history: Paged<HistoryEntry>;
  /** Every version number, oldest first, when there are at most {@link VERSION_LIST_MAX}; else empty. */
  numbers: number[];
  latest: number;
}

/**
 * A model's view, read a page at a time from the registry (a model may hold thousands of versions).
 *
 * @param reg the registry
 * @param name the model
 * @param page the versions page (its `limit` is the history page's too)
 * @param historyOffset where the history page starts
 * @example
 * const m = await modelView(reg, 'tiny', { offset: 0, limit: 50 }, 0);
 */
export async function modelView(
  reg: Registry, name: string, page: { offset: number; limit: number }, historyOffset: number,
): Promise<RegistryModelView> {
  const historyPage = { offset: historyOffset, limit: page.limit };
  const [counts, versions, history, aliases] = await Promise.all([
    reg.counts(name), reg.list(name, page), reg.history(name, historyPage), reg.aliases(name),
  ]);
  const listed = counts.versions <= VERSION_LIST_MAX
    ? (await reg.list(name, { offset: 0, limit: VERSION_LIST_MAX })).map((v) => v.version).reverse() : [];
  return {
    name, aliases, numbers: listed, latest: counts.latest,
    versions: { items: versions, total: counts.versions, ...page },
    history: { items: history, total: counts.history, ...historyPage },
  };
}

/** The promote form's version field: a list of every version, or a number field past {@link VERSION_LIST_MAX}. */
function versionField(numbers: number[], latest: number): string {
  if (!numbers.length) {
    return `<label>version <input name="version" type="number" min="1" max="${latest}" value="${latest}" required>`
      + '</label>';
  }
  return `<label>version <select name="version">${numbers.map((v) => `<option value="${v}">v${v}</option>`).join('')}`
    + '</select></label>';
}

function modelSection(m: RegistryModelView, pageSize: number, token?: string): string {
  const n = escapeHtml(m.name);
  const versionLink = (v: ModelVersion) =>
    `<a href="${uiHref(versionPath(m.name, v.version), token)}">v${v.version}</a>`;
  const versions = m.versions.items.map((v) =>
    [versionLink(v), ...[v.kind, v.status, v.createdAt, v.createdBy, v.reason ?? ''].map(escapeHtml)]);
  const aliases = Object.entries(m.aliases).map(([a, v]) => `<li><b>${escapeHtml(a)}</b> &rarr; v${v}</li>`).join('');
  const moved = (h: HistoryEntry) => h.version ?? (h.from !== undefined ? `${h.from} → ${h.to}` : h.to ?? '');
  const history = m.history.items
    .map((h) => [h.at, h.by, h.action, h.alias ?? '', moved(h), h.reason ?? ''].map(escapeHtml));
  const hidden = `<input type="hidden" name="name" value="${n}">`;
  // Page links lead to the model's own page, which keeps the other list's place.
  const path = `/registry/${encodeURIComponent(m.name)}`;
  const limit = m.versions.limit === pageSize ? undefined : String(m.versions.limit);
  const at = (offset: number) => (offset ? String(offset) : undefined);
  const versionPager = pagerNav(path, { limit, history: at(m.history.offset), token }, m.versions, 'versions');
  const historyPager = pagerNav(path, { limit, offset: at(m.versions.offset), token }, m.history, 'history entries',
    'history');
  return `<section class="model" id="model-${n}"><h2>${n}</h2>
<h3>Aliases</h3><ul class="aliases">${aliases || '<li>none</li>'}</ul>
<form method="post" action="${uiHref('/registry/promote', token)}" class="promote">${hidden}
<label>alias <input name="alias" required value="production"></label>
${versionField(m.numbers, m.latest)}
<label>reason <input name="reason" required></label><button type="submit">Promote</button></form>
<form method="post" action="${uiHref('/registry/rollback', token)}" class="rollback">${hidden}
<label>alias <input name="alias" required value="production"></label>
<label>reason <input name="reason" required></label><button type="submit">Roll back</button></form>
<h3>Versions (${m.versions.total}, newest first)</h3>${versionPager}
${table('versions', ['version', 'kind', 'status', 'created', 'by', 'reason'], versions)}
<h3>History (newest first)</h3>${historyPager}
${table('history', ['at', 'by', 'action', 'alias', 'version', 'reason'], history)}</section>`;
}

/**
 * The registry page (every model), or one model's page when `title` names it.
 *
 * @param models one view per model name
 * @param location the registry's location, shown in the title line (undefined: no registry)
 * @param pageSize the dashboard's page size (a `limit` equal to it is left out of links)
 * @param token the access token when bound beyond loopback
 * @param title the page title (`Registry` by default)
 * @example
 * const html = registryPage([view], 'registry', 50);
 */
export function registryPage(
  models: RegistryModelView[], location: string | undefined, pageSize: number, token?: string, title = 'Registry',
): string {
  if (location === undefined) {
    return uiPage('Registry', '<p>No registry: start the dashboard with --registry DIR.</p>', token);
  }
  const sections = models.map((m) => modelSection(m, pageSize, token)).join('\n') || '<p>No models registered.</p>';
  const all = title === 'Registry' ? '' : ` <a href="${uiHref('/registry', token)}">all models</a>`;
  return uiPage(title, `<p>${escapeHtml(location)}${all}</p>${sections}`, token);
}

function registryForm(body: unknown): { name: string; alias: string; reason: string; version?: number } {
  const b = (body ?? {}) as Record<string, string | undefined>;
  const [name, alias, reason] = [b.name?.trim(), b.alias?.trim(), b.reason?.trim()];
  if (!name || !alias || !reason) {
    const hint = 'fill in every field of the form; the reason is recorded in the history';
    throw new SwitchyardError('E_USAGE', 'a registry change needs name, alias and reason', hint);
  }
  const version = b.version === undefined ? undefined : Number(b.version);
  if (version !== undefined && !Number.isInteger(version)) {
    const what = `version ${JSON.stringify(b.version)} is not a whole number`;
    throw new SwitchyardError('E_USAGE', what, 'pick a version from the list');
  }
  return { name, alias, reason, version };
}

/**
 * The registry's routes (pages, JSON, forms) on the dashboard `app`.
 *
 * @param app the dashboard's Fastify instance
 * @param reg the registry, if the dashboard has one
 * @param pageSize rows per page by default (`--page-size`)
 * @param token the access token when bound beyond loopback
 * @example
 * registryRoutes(app, reg, 50, token);
 */
export function registryRoutes(
  app: FastifyInstance, reg: Registry | undefined, pageSize: number, token?: string,
): void {
  const needRegistry = (): Registry => reg ?? (() => {
    throw new SwitchyardError('E_USAGE', 'no registry', 'start the dashboard with --registry DIR');
  })();
  const query = (q: unknown) => (q ?? {}) as Record<string, unknown>;
  const view = (r: Registry, name: string, q: Record<string, unknown>) =>
    modelView(r, name, pageQuery(q, pageSize), pageQuery(q, pageSize, 'history').offset);
  app.get('/registry', async (_req, reply) => {
    if (!reg) return html(reply, registryPage([], undefined, pageSize, token));
    // Every model's first page: paging parameters belong to a model's own page.
    const models = await Promise.all((await reg.models()).map((name) => view(reg, name, {})));
    return html(reply, registryPage(models, reg.location, pageSize, token));
  });
  app.get<{ Params: { name: string } }>('/registry/:name', async (req, reply) => {
    const r = needRegistry();
    const m = await view(r, req.params.name, query(req.query));
    return html(reply, registryPage([m], r.location, pageSize, token, `Registry: ${req.params.name}`));
  });
  app.get<{ Params: { name: string } }>('/api/registry/:name/versions', async (req) => {
    const m = await view(needRegistry(), req.params.name, query(req.query));
    const { items, ...page } = m.versions;
    return { name: m.name, versions: items, ...page };
  });
  const keep = token ? `?token=${encodeURIComponent(token)}` : '';
  const back = (reply: FastifyReply, name: string) =>
    reply.redirect(`/registry${keep}#model-${encodeURIComponent(name)}`, 303);
  app.post('/registry/promote', async (req, reply) => {
    const f = registryForm(req.body);
    if (f.version === undefined) {
      throw new SwitchyardError('E_USAGE', 'promote needs a version', 'pick a version from the list');
    }
    await needRegistry().setAlias(f.name, f.alias, f.version, { reason: f.reason });
    return back(reply, f.name);
  });
  app.post('/registry/rollback', async (req, reply) => {
    const f = registryForm(req.body);
    await needRegistry().rollback(f.name, f.alias, { reason: f.reason });
    return back(reply, f.name);
  });
}
