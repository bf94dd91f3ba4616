/**
 * The HTTP API (Fastify 5): predict, generate (Server-Sent Events), sample (diffusion runs), health, readiness, Prometheus metrics,
 * OpenAPI, and authenticated admin routes. Every error is a JSON body `{ error: { code, message, hint } }`
 * with a 4xx for the client's mistakes; nothing a client sends crashes the server.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkAliasName } from '../registry/names.ts';
import { SwitchyardError } from '../util/errors.ts';
import { importOptional } from '../util/optional.ts';
import { Rng } from '../util/rng.ts';
import { type ApiKey, KeyChecker, RateLimiter } from './auth.ts';
import { generateRoute, generationQueue } from './generate-route.ts';
import { sampleRoute } from './sample-route.ts';
import type { RollbackGuard } from './guard.ts';
import { checkFiniteResult, DEFAULT_LIMITS, type ServerLimits, timeoutOptions } from './limits.ts';
import { type ServeMetrics, serveMetrics } from './metrics.ts';
import type { PredictionEvent, RequestEvent } from './events.ts';
import type { PredictResult, ServedModel } from './model-runner.ts';
import { ALIAS_BODY, openApiDocument } from './openapi.ts';
import type { ModelRouter, Pick, Slot } from './versions.ts';

export type { PredictionEvent, RequestEvent } from './events.ts';

/**
 * The alias of a served ref (`production` of `churn@production`), or undefined for a pinned version
 * (`churn@3`) or a run directory.
 *
 * @example
 * aliasOfRef('churn@production'); // 'production'
 */
export function aliasOfRef(ref: string | undefined): string | undefined {
  const at = ref?.lastIndexOf('@') ?? -1;
  const alias = at > 0 ? ref!.slice(at + 1) : '';
  return alias && !/^\d+$/.test(alias) && !alias.includes('/') ? alias : undefined;
}

/**
 * One shadow comparison.
 *
 * @example
 * const e: ShadowEvent = { model: 'churn', served: '2', shadow: '3', rows: 4, agreed: 4, error: undefined };
 */
export interface ShadowEvent {
  model: string;
  served: string;
  shadow: string;
  rows: number;
  agreed: number;
  error?: string;
}

/**
 * What plugins (e.g. the monitor's routes) get besides the Fastify instance.
 *
 * @example
 * const plugin: ServePlugin = (app, ctx) => { app.get('/v1/monitor', async () => ({ version: ctx.router.slots.primary.model?.version })); };
 */
export interface ServeContext {
  router: ModelRouter;
  metrics: ServeMetrics;
  guard: RollbackGuard | null;
  /** Sends 401/403 and returns null unless the request carries a valid API key. */
  requireKey(req: FastifyRequest, reply: FastifyReply): ApiKey | null;
  /** The same check as a `preValidation` hook: the key is checked before a route schema looks at the request. */
  adminOnly(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
}

/**
 * A registration function for more routes (called inside the app, after the built-in routes).
 *
 * @example
 * buildApp({ router, plugins: [(app, ctx) => app.post('/v1/feedback', async (req, reply) => { if (!ctx.requireKey(req, reply)) return; return { ok: true }; })] });
 */
export type ServePlugin = (app: FastifyInstance, ctx: ServeContext) => void | Promise<void>;

/**
 * Options of {@link buildApp}.
 *
 * @example
 * const o: AppOptions = { router, keys: [{ name: 'ops', sha256: hashApiKey('s3cret') }], rateLimit: { rate: 100 } };
 */
export interface AppOptions {
  /** The models served (primary, canary, shadow) and how requests are split between them. */
  router: ModelRouter;
  /** Prometheus counters and histograms (default: fresh ones). */
  metrics?: ServeMetrics;
  /** The automatic rollback watcher (none when null). */
  guard?: RollbackGuard | null;
  /** Hashed API keys that state-changing routes accept. */
  keys?: readonly ApiKey[];
  /** Token bucket per API key (or client IP): `rate` requests/s, `burst` at most. Off when absent. */
  rateLimit?: { rate: number; burst?: number };
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Timeouts, rows per request, tokens, images and steps per sample, queued generations (`DEFAULT_LIMITS`). */
  limits?: ServerLimits;
  /** Monitoring hook, called after a prediction is answered, for a `sampleRate` share of requests. */
  onPrediction?: (e: PredictionEvent) => void;
  /**
   * Monitoring hook, called once a `POST /v1/predict` request is answered or refused, for the same sampled
   * requests as `onPrediction` (one draw per request).
   */
  onRequest?: (e: RequestEvent) => void;
  /** Share of predict requests passed to `onPrediction` and `onRequest`, 0..1 (default 1). */
  sampleRate?: number;
  /** Called with the primary's and the shadow's answers to a mirrored request. */
  onShadow?: (e: ShadowEvent) => void;
  /** Extra Fastify routes registered on the app. */
  plugins?: ServePlugin[];
  /** Seed of the canary split and of sampling (default 0). */
  seed?: number;
}

const PUBLIC = new Set(['/healthz', '/readyz', '/metrics']);


function fail(status: number, code: string, message: string, hint: string): SwitchyardError & { statusCode: number } {
  return Object.assign(new SwitchyardError(code, message, hint), { statusCode: status });
}

/** What the monitor learns of one sampled predict request while it runs. */
interface Traced {
  id?: string;
  /** When the prediction was logged: the request's time too, so a window of predictions holds its request. */
  at?: string;
  pick?: Pick;
  code?: string;
}

/** Sampled predict requests in flight (only while a monitoring hook is set). */
const traced = new WeakMap<FastifyRequest, Traced>();

function sendError(reply: FastifyReply, status: number, code: string, message: string, hint: string): FastifyReply {
  const t = traced.get(reply.request);
  if (t) t.code = code;
  return reply.code(status).send({ error: { code, message, hint } });
}

const FASTIFY_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'E_BAD_JSON', 'send valid JSON with Content-Type: application/json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'E_BAD_JSON', 'send a JSON body'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'E_BODY_TOO_LARGE', 'send fewer rows per request'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'E_MEDIA_TYPE', 'send Content-Type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'E_BAD_REQUEST', 'send a correct Content-Length'],
};

/**
 * Builds the Fastify app (not listening; see `startServer`).
 *
 * @example
 * const app = await buildApp({ router });
 * await app.listen({ host: '127.0.0.1', port: 0 });
 */
export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const { router } = o;
  const metrics = o.metrics ?? serveMetrics();
  const keys = new KeyChecker(o.keys ?? []);
  const limiter = o.rateLimit && o.rateLimit.rate > 0 ? new RateLimiter(o.rateLimit) : null;
  const sampler = new Rng(o.seed ?? 0);
  const sampleRate = o.sampleRate ?? 1;
  const monitored = Boolean(o.onPrediction || o.onRequest);
  const bodyLimit = o.bodyLimit ?? 1 << 20;
  const maxRows = o.limits?.maxRows ?? DEFAULT_LIMITS.maxRows;
  // Route schemas validate types strictly: Fastify's default coercion would turn ["production"] into "production".
  const ajv = { customOptions: { coerceTypes: false as const, removeAdditional: false as const } };
  const timeouts = timeoutOptions(o.limits?.timeouts);
  const closing = { forceCloseConnections: 'idle' as const, return503OnClosing: true };
  const { default: Fastify } = await importOptional<typeof import('fastify')>('fastify');
  const app = Fastify({ bodyLimit, logger: false, ...closing, ajv, ...timeouts });
  const started = new WeakMap<FastifyRequest, number>();
  let agreed = 0;
  let compared = 0;

  app.addHook('onRequest', async (req, reply) => {
    started.set(req, performance.now());
    // One draw per predict request, before anything can refuse it: requests and predictions share the sample.
    if (monitored && req.routeOptions.url === '/v1/predict' && sampler.next() < sampleRate) traced.set(req, {});
    metrics.inflight.inc({}, 1);
    // 'close' comes once for every response, answered or aborted ('onResponse' misses aborted requests).
    reply.raw.once('close', () => metrics.inflight.inc({}, -1));
    const route = req.routeOptions.url ?? '';
    if (!limiter || PUBLIC.has(route)) return;
    const key = keys.check(req.headers.authorization);
    const r = limiter.take(key ? `key:${key.name}` : `ip:${req.ip}`);
    if (!r.ok) {
      metrics.rateLimited.inc({ route });
      reply.header('retry-after', String(r.retryAfterS));
      return sendError(reply, 429, 'E_RATE_LIMITED', `rate limit of ${o.rateLimit!.rate} requests/s exceeded`, `retry after ${r.retryAfterS} s`);
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = (performance.now() - (started.get(req) ?? performance.now())) / 1000;
    metrics.requests.inc({ route, method: req.method, status: reply.statusCode });
    metrics.latency.observe({ route }, seconds);
    const t = o.onRequest && traced.get(req);
    if (t) o.onRequest!(requestEvent(req, reply.statusCode, t, seconds * 1000));
  });
  const requestEvent = (req: FastifyRequest, status: number, t: Traced, latencyMs: number): RequestEvent => {
    const pick = t.pick;
    const rows = (req.body as { rows?: unknown } | null)?.rows;
    return {
      id: t.id ?? randomUUID(), model: pick?.model.name ?? router.slots.primary.model?.name ?? '',
      alias: pick ? (aliasOfRef(router.slots[pick.role]?.ref) ?? null) : null, version: pick?.model.version ?? null,
      role: pick?.role ?? null, status, code: status >= 400 ? (t.code ?? `HTTP_${status}`) : null, latencyMs,
      rows: Array.isArray(rows) ? rows.length : 0, sampleRate, at: t.at ?? new Date().toISOString(),
    };
  };

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof SwitchyardError) {
      const status = (err as { statusCode?: number }).statusCode ?? (err.exitCode === 2 ? 400 : 500);
      return sendError(reply, status, err.code, err.message, err.hint);
    }
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (known) {
      const msg = known[1] === 'E_BODY_TOO_LARGE' ? `request body is larger than the limit of ${bodyLimit} bytes` : err.message;
      return sendError(reply, known[0], known[1], msg, known[2]);
    }
    if (err.statusCode && err.statusCode < 500) return sendError(reply, err.statusCode, 'E_BAD_REQUEST', err.message, 'check the request against /openapi.json');
    return sendError(reply, 500, 'E_INTERNAL', `${req.method} ${req.url}: ${err.message}`, 'a server error; the request may be retried');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'E_NOT_FOUND', `no route ${req.method} ${req.url}`, 'see GET /openapi.json'));

  const requireKey = (req: FastifyRequest, reply: FastifyReply): ApiKey | null => {
    if (!keys.enabled) {
      sendError(reply, 403, 'E_NO_KEYS', 'this server has no API keys configured, so state-changing routes are off', 'start it with --api-keys FILE');
      return null;
    }
    const k = keys.check(req.headers.authorization);
    if (!k) {
      reply.header('www-authenticate', 'Bearer');
      sendError(reply, 401, 'E_UNAUTHORIZED', req.headers.authorization ? 'the API key is not valid' : 'this route needs an API key', 'send Authorization: Bearer <key>');
    }
    return k;
  };

  const primary = (): ServedModel => {
    const m = router.slots.primary.model;
    if (!m) throw fail(503, 'E_NOT_READY', 'no model version is loaded', 'wait for /readyz');
    return m;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    // Public: registry refs and error codes only; a run directory's path and error messages (they name files)
    // stay in the log.
    const registry = Boolean(router.source.setAlias);
    const slot = (s?: Slot) =>
      s && {
        ...(registry ? { ref: s.ref } : {}),
        version: s.model?.version ?? null,
        ...(s.failed ? { failed: { version: s.failed.version, code: s.failed.code } } : {}),
      };
    const body = { ready: router.ready, model: router.slots.primary.model?.name ?? null, primary: slot(router.slots.primary), canary: slot(router.slots.canary), shadow: slot(router.slots.shadow) };
    return reply.code(router.ready ? 200 : 503).send(body);
  });
  app.get('/metrics', async (req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metrics.registry.render()));
  // A relative server: the Host header is the client's to choose, so it is never copied into the document.
  app.get('/openapi.json', async () => openApiDocument(primary(), '/'));

  app.post('/v1/predict', async (req, reply) => {
    primary();
    const rows = (req.body as { rows?: unknown } | null)?.rows;
    if (Array.isArray(rows) && rows.length > maxRows) {
      const what = `the request has ${rows.length} rows; this server takes at most ${maxRows} per request`;
      throw fail(413, 'E_TOO_MANY_ROWS', what, "split the rows over several requests (the server's --max-rows)");
    }
    const pick = router.pick();
    const t = traced.get(req);
    if (t) t.pick = pick;
    const t0 = performance.now();
    let result: PredictResult;
    try {
      result = await pick.model.predict(req.body);
      checkFiniteResult(result, `${pick.model.name}@${pick.model.version}`);
    } catch (e) {
      reply.header('x-model-version', pick.model.version);
      const client = e instanceof SwitchyardError && e.exitCode === 2;
      if (!client) o.guard?.observe(pick.role, pick.model.version, { ok: false, ms: performance.now() - t0 });
      router.release({ ...pick, shadow: null });
      if (pick.shadow) pick.shadow.inflight--;
      throw e;
    }
    const ms = performance.now() - t0;
    router.release({ ...pick, shadow: null });
    o.guard?.observe(pick.role, pick.model.version, { ok: true, ms });
    metrics.predictions.inc({ version: pick.model.version, role: pick.role });
    const m = pick.model;
    const id = randomUUID();
    if (t) {
      [t.id, t.at] = [id, new Date().toISOString()];
      const alias = aliasOfRef(router.slots[pick.role]?.ref);
      const inputs = (req.body as { rows: unknown[] }).rows;
      o.onPrediction?.({ id, model: m.name, ...(alias ? { alias } : {}), version: m.version, role: pick.role, inputs, outputs: result, latencyMs: ms, at: t.at });
    }
    if (pick.shadow) {
      const shadow = pick.shadow;
      setImmediate(() => {
        void shadow
          .predict(req.body)
          .then((s) => ({ agreed: s.predictions.filter((p, i) => p === result.predictions[i]).length }), (e: Error) => ({ agreed: 0, error: e.message }))
          .then((r) => {
            shadow.inflight--;
            compared += result.predictions.length;
            agreed += r.agreed;
            metrics.shadowCompared.inc({ version: shadow.version });
            metrics.shadowAgreement.set({ served: m.version, shadow: shadow.version }, agreed / compared);
            o.onShadow?.({ model: m.name, served: m.version, shadow: shadow.version, rows: result.predictions.length, ...r });
          });
      });
    }
    reply.header('x-model-version', m.version).header('x-request-id', id);
    return { id, model: { name: m.name, version: m.version }, ...result };
  });

  const queue = generationQueue(app, metrics, o.limits?.maxQueuedGenerations ?? DEFAULT_LIMITS.maxQueuedGenerations);
  generateRoute(app, { router, metrics, maxTokens: o.limits?.maxTokens }, queue);
  sampleRoute(app, { router, maxCount: o.limits?.maxSampleCount, maxSteps: o.limits?.maxSampleSteps }, queue);

  // The key is checked before the body is validated: a client without one learns nothing about the schema.
  const adminOnly = async (req: FastifyRequest, reply: FastifyReply) => (requireKey(req, reply) ? undefined : reply);
  app.post('/v1/admin/reload', { preValidation: adminOnly }, async () => {
    await router.refresh({ force: true });
    return { ok: true, version: primary().version, lastError: router.slots.primary.failed?.error ?? null };
  });
  app.post('/v1/admin/alias', { schema: { body: ALIAS_BODY }, preValidation: adminOnly }, async (req) => {
    const key = keys.check(req.headers.authorization)!;
    const b = req.body as { alias?: string; version: number; reason?: string };
    const ref = router.slots.primary.ref;
    const at = ref.indexOf('@');
    const alias = b.alias ?? (at > 0 ? ref.slice(at + 1) : '');
    if (!router.source.setAlias || at < 0) throw fail(400, 'E_NO_REGISTRY', 'this server does not serve from a registry', 'start it with --model NAME@ALIAS --registry DIR_OR_URL');
    checkAliasName(alias);
    await router.source.setAlias(ref.slice(0, at), alias, b.version, { by: key.name, reason: b.reason });
    await router.refresh();
    const s = [router.slots.primary, router.slots.canary, router.slots.shadow].find((x) => x?.ref === `${ref.slice(0, at)}@${alias}`);
    return { ok: true, alias, version: b.version, serving: s?.model?.version ?? null, lastError: s?.failed?.error ?? null };
  });

  for (const p of o.plugins ?? []) await p(app, { router, metrics, guard: o.guard ?? null, requireKey, adminOnly });
  return app;
}
