/**
 * `switchyard ui`: a local dashboard over a runs folder and a registry, served by Fastify. Loopback by default;
 * bound beyond loopback it refuses to start without an access token, which every request must then carry
 * (`?token=` or `Authorization: Bearer`).
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { openRegistry, type Registry } from '../registry/registry.ts';
import { checkHost, SERVE_RANGES } from '../serve/options.ts';
import { escapeHtml } from '../report/html.ts';
import { SwitchyardError } from '../util/errors.ts';
import { importOptional } from '../util/optional.ts';
import { checkRanges } from '../util/ranges.ts';
import { RUN_FILES } from '../train/run-dir.ts';
import { CHARTS_CSS, CHARTS_JS } from './charts.ts';
import { comparePage, compareIds } from './compare.ts';
import { liveRoutes } from './live.ts';
import { moePanel } from './moe.ts';
import { html, runsPage, UI_CSS, uiPage } from './pages.ts';
import { MAX_PAGE_SIZE } from './paging.ts';
import { registryRoutes } from './registry-page.ts';
import { reportsTable } from './report-pages.ts';
import { allReports, reportRoutes, type ReportRouteOptions } from './report-routes.ts';
import { runPage, type RunPageView } from './run-page.ts';
import { queryRuns, runsQuery } from './runs-query.ts';
import { listRuns, parseMetricLines, readRunMetrics, runCurveSvg, runDirOf } from './runs.ts';
import { RunsCache } from './runs-cache.ts';
import { registerStatic } from './static.ts';

/** Ranges of the numeric options of {@link startUi}. */
export const UI_RANGES = {
  port: SERVE_RANGES.port,
  watchIntervalMs: { flag: '--watch-interval-ms', min: 250, max: 60_000, integer: true },
  pageSize: { flag: '--page-size', min: 1, max: MAX_PAGE_SIZE, integer: true },
  compareMax: { flag: '--compare-max', min: 2, max: 100, integer: true },
} as const;

/** Rows per page of the runs table and the registry's version lists, unless `--page-size` says otherwise. */
export const UI_PAGE_SIZE = 50;

/** The most runs one compare page draws, unless `--compare-max` says otherwise (more curves are unreadable). */
export const UI_COMPARE_MAX = 8;

/**
 * Options of {@link startUi}.
 *
 * @example
 * const o: UiOptions = { runs: 'runs', registry: 'registry', port: 0 };
 */
export interface UiOptions {
  /** The runs folder (each run directory directly inside). */
  runs: string;
  /** A registry directory or postgres:// URL for the registry page. */
  registry?: string;
  /** The folder the CLI's reports are written to (audit, eval, compress, drift, …), listed on the run pages. */
  reports?: string;
  /** Default `127.0.0.1`. Anything but loopback needs `token`. */
  host?: string;
  /** Default 8090; 0 picks a free port. */
  port?: number;
  /** The access token every request must carry; required beyond loopback. */
  token?: string;
  /** How often `metrics.jsonl` is checked for new lines while a page streams it, ms (default 250, at least 250). */
  watchIntervalMs?: number;
  /** Rows per page of the runs table and of a model's versions and history (default 50, 1 to 1000). */
  pageSize?: number;
  /** The most runs the compare page takes (default 8, 2 to 100); more is answered 400 (`E_USAGE`). */
  compareMax?: number;
}

/**
 * A started dashboard.
 *
 * @example
 * const ui = await startUi({ runs: 'runs' }); console.log(ui.url); await ui.close();
 */
export interface RunningUi {
  /** The address to open, with `?token=` when a token is set. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Whether `host` is a loopback address or `localhost` (the dashboard needs no token there).
 *
 * @param host an address to listen on
 * @example
 * isLoopback('127.0.0.1'); // true
 * isLoopback('0.0.0.0');   // false
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function givenToken(req: FastifyRequest): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string') return q;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

/** Streams lines appended to `file` after the request arrived as server-sent events until the client leaves. */
async function streamAppends(
  file: string, req: FastifyRequest, reply: FastifyReply, intervalMs: number, streams: Set<ServerResponse>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  streams.add(res);
  const headers = {
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive',
  };
  res.writeHead(200, headers);
  let offset = existsSync(file) ? (await stat(file)).size : 0;
  let partial = '';
  const readNew = async (size: number): Promise<void> => {
    if (size < offset) [offset, partial] = [0, '']; // rewritten from the start (a resumed run)
    if (size === offset) return;
    const h = await open(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      await h.read(buf, 0, buf.length, offset);
      offset = size;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const rec of parseMetricLines(lines.join('\n'))) res.write(`data: ${JSON.stringify(rec)}\n\n`);
    } finally {
      await h.close();
    }
  };
  // Polled against the size read above rather than fs.watchFile, whose own first stat may come after an append
  // (on a busy thread pool) and then never report it.
  let polling = false;
  const poll = (): void => {
    if (polling) return; // the last poll is still reading
    polling = true;
    stat(file).then((cur) => readNew(cur.size), () => undefined).catch(() => undefined).finally(() => (polling = false));
  };
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  req.raw.on('close', () => (clearInterval(timer), streams.delete(res)));
  // Written after the size above was read: a line appended once the client has this comment is sure to come.
  res.write(': watching metrics.jsonl\n\n');
}

/** Where a run trained, from its `metrics.json` (written when it finishes); undefined before that. */
async function runDevice(dir: string): Promise<RunPageView['device']> {
  try {
    const device = JSON.parse(await readFile(join(dir, RUN_FILES.summary), 'utf8')).device;
    return device && typeof device.name === 'string' ? device : undefined;
  } catch {
    return undefined;
  }
}

/** The run pages: list, run (with its reports), compare, and the API and event stream behind their charts. */
function runRoutes(app: FastifyInstance, o: UiOptions, ro: ReportRouteOptions, streams: Set<ServerResponse>): void {
  const { token, cache } = ro;
  const pageSize = o.pageSize ?? UI_PAGE_SIZE;
  const runsOf = async (q: unknown) => {
    const query = runsQuery((q ?? {}) as Record<string, unknown>, pageSize);
    const rows = await listRuns(o.runs, cache);
    return { query, all: rows.length, page: queryRuns(rows, query) };
  };
  app.get('/', async (req, reply) => {
    const { query, all, page } = await runsOf(req.query);
    return html(reply, runsPage(page, query, all, pageSize, token));
  });
  app.get('/api/runs', async (req) => {
    const { items, ...page } = (await runsOf(req.query)).page;
    return { runs: items, ...page };
  });
  const configOf = async (id: string) =>
    JSON.parse(await readFile(join(runDirOf(o.runs, id), RUN_FILES.config), 'utf8')) as unknown;
  app.get<{ Params: { id: string } }>('/runs/:id', async (req, reply) => {
    const { id } = req.params;
    const [config, records, device] =
      await Promise.all([configOf(id), readRunMetrics(o.runs, id), runDevice(runDirOf(o.runs, id))]);
    const reports = (await allReports(ro)).filter((r) => r.runs.includes(id));
    const extra = `<h2>Reports</h2>${reportsTable(reports, token)}`;
    return html(reply, runPage({ id, config, records, curveSvg: runCurveSvg(records), device, extra }, token));
  });
  app.get<{ Params: { id: string } }>('/runs/:id/moe', async (req, reply) =>
    html(reply, moePanel(await readRunMetrics(o.runs, req.params.id))));
  app.get('/compare', async (req, reply) => {
    const ids = compareIds((req.query ?? {}) as Record<string, unknown>, o.compareMax ?? UI_COMPARE_MAX);
    const runs = await Promise.all(ids.map(async (id) =>
      ({ id, config: await configOf(id), records: await readRunMetrics(o.runs, id) })));
    return html(reply, comparePage(runs, token));
  });
  app.get<{ Params: { id: string } }>('/api/runs/:id/metrics', async (req) => ({
    records: await readRunMetrics(o.runs, req.params.id),
  }));
  app.get<{ Params: { id: string } }>('/api/runs/:id/curve.svg', async (req, reply) =>
    reply.type('image/svg+xml; charset=utf-8').send(runCurveSvg(await readRunMetrics(o.runs, req.params.id))));
  app.get<{ Params: { id: string } }>('/api/runs/:id/events', async (req, reply) =>
    streamAppends(join(runDirOf(o.runs, req.params.id), RUN_FILES.metrics), req, reply, o.watchIntervalMs ?? 250,
      streams)
  );
}

function routes(
  app: FastifyInstance, o: UiOptions, reg: Registry | undefined, streams: Set<ServerResponse>, cache: RunsCache,
): void {
  const token = o.token;
  const ro: ReportRouteOptions = { ...o, registry: reg, cache };
  app.get('/ui.css', (_q, reply) => reply.type('text/css; charset=utf-8').send(UI_CSS + CHARTS_CSS));
  app.get('/charts.js', (_q, reply) => reply.type('text/javascript; charset=utf-8').send(CHARTS_JS));
  registerStatic(app);
  runRoutes(app, o, ro, streams);
  registryRoutes(app, reg, o.pageSize ?? UI_PAGE_SIZE, token);
  reportRoutes(app, ro);
  liveRoutes(app, reg, token);
}

/** Codes of ids that name nothing: answered 404. */
const NOT_FOUND = new Set([
  'E_RUN_ID', 'E_UI_REPORT', 'E_UI_VERSION', 'E_REGISTRY_UNKNOWN_MODEL', 'E_REGISTRY_UNKNOWN_VERSION',
  'E_INCIDENT_NOT_FOUND',
]);

/**
 * Starts the dashboard. Throws `E_UI_TOKEN` when `host` is beyond loopback and no token is given.
 *
 * @param o see {@link UiOptions}
 * @example
 * const token = randomBytes(18).toString('base64url');
 * const ui = await startUi({ runs: 'runs', registry: 'registry', host: '0.0.0.0', token });
 * console.log(ui.url); // http://0.0.0.0:8090/?token=...
 */
export async function startUi(o: UiOptions): Promise<RunningUi> {
  checkRanges(o, UI_RANGES);
  const host = o.host ?? '127.0.0.1';
  checkHost(host);
  if (!isLoopback(host) && !o.token) {
    throw new SwitchyardError(
      'E_UI_TOKEN',
      `--host ${host}: the dashboard is reachable beyond this machine but has no access token`,
      'switchyard ui creates one when --host is not loopback; library callers pass token',
    );
  }
  const fastify = await importOptional<typeof import('fastify')>('fastify', 'the dashboard (switchyard ui)');
  const Fastify = fastify.default;
  const reg = o.registry ? await openRegistry(o.registry) : undefined;
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))));
  const refuse = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).send({ error: { code, message } });
  app.addHook('onRequest', async (req, reply) => {
    if (o.token && !tokenMatches(givenToken(req), o.token)) {
      return refuse(reply, 401, 'E_UI_TOKEN', 'missing or wrong access token');
    }
    // Forms only from the dashboard's own pages: a page on another site cannot promote a model.
    const origin = req.headers.origin;
    if (req.method === 'POST' && origin && new URL(origin).host !== req.headers.host) {
      return refuse(reply, 403, 'E_UI_ORIGIN', `cross-origin request from ${origin} refused`);
    }
  });
  app.setErrorHandler((err, req, reply) => {
    const e = err as Error & { code?: string; statusCode?: number };
    const status = e instanceof SwitchyardError ? (NOT_FOUND.has(e.code) ? 404 : 400) : (e.statusCode ?? 500);
    const error = { code: e.code ?? 'E_INTERNAL', message: e.message, hint: (e as SwitchyardError).hint };
    reply.code(status);
    // A page opened in a browser gets the message as a page; scripts and the API get JSON.
    if (req.method === 'GET' && !req.url.startsWith('/api/') && req.headers.accept?.includes('text/html')) {
      const body = `<p id="error" role="alert">${escapeHtml(e.message)} (${escapeHtml(error.code)})</p>`
        + (error.hint ? `<p>${escapeHtml(error.hint)}</p>` : '');
      return html(reply, uiPage(status === 404 ? 'Not found' : 'Cannot show this page', body, o.token));
    }
    return reply.send({ error });
  });
  app.setNotFoundHandler((req, reply) => refuse(reply, 404, 'E_NOT_FOUND', `no page ${req.url.split('?')[0]}`));
  const streams = new Set<ServerResponse>();
  const cache = new RunsCache();
  routes(app, o, reg, streams, cache);
  try {
    await app.listen({ host, port: o.port ?? 8090 });
  } catch (e) {
    await reg?.close();
    const why = `cannot listen on ${host}:${o.port ?? 8090} (${(e as Error).message})`;
    throw new SwitchyardError('E_LISTEN', why, 'pick another --port, or 0 for a free one');
  }
  // Read the runs folder now, so the first page finds its summaries ready (a request meanwhile joins the reads).
  listRuns(o.runs, cache).catch(() => undefined);
  const port = (app.server.address() as { port: number }).port;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/${o.token ? `?token=${encodeURIComponent(o.token)}` : ''}`,
    port,
    close: async () => {
      for (const res of streams) res.end(); // event streams never end on their own
      await app.close();
      await reg?.close();
    },
  };
}
