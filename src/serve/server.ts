/**
 * Starts a model server: resolves the model (registry or run directory), loads and warms it, listens, polls
 * aliases, and on SIGTERM/SIGINT stops accepting, drains in-flight requests and streams, and exits.
 */
import { checkServeOptions } from './options.ts';
import type { FastifyInstance } from 'fastify';
import { attachMonitor, type ServeMonitorOptions } from '../monitor/attach.ts';
import { openIncidentLog } from '../monitor/incidents.ts';
import type { Monitor } from '../monitor/monitor.ts';
import { openRegistry, type Registry } from '../registry/registry.ts';
import { isModelRef } from '../registry/names.ts';
import { SwitchyardError } from '../util/errors.ts';
import { type AppOptions, buildApp } from './app.ts';
import { readApiKeys } from './auth.ts';
import { type IncidentRecorder, RollbackGuard, type RollbackRules } from './guard.ts';
import { serveMetrics } from './metrics.ts';
import type { LoadOptions } from './model-runner.ts';
import { directorySource, ModelRouter, registrySource } from './versions.ts';

/**
 * Options of {@link startServer}.
 *
 * @example
 * const o: ServerOptions = { model: 'churn@production', registry: './registry', port: 0 };
 */
export interface ServerOptions extends Omit<AppOptions, 'router' | 'metrics' | 'guard' | 'keys'> {
  /** `NAME@ALIAS` (with `registry`), or a run directory / ONNX file. */
  model: string;
  /** Registry directory or `postgres://` URL; needed for `NAME@ALIAS` models and for `monitor`. */
  registry?: string;
  /** A second model reference (e.g. `churn@canary`) that takes `canaryWeight` of the traffic. */
  canary?: string;
  /** Share of requests sent to the canary, 0..1 (default 0.1). */
  canaryWeight?: number;
  /** A model reference that sees mirrored traffic; its answers are compared, never returned. */
  shadow?: string;
  /** Address to listen on (default `'127.0.0.1'`). */
  host?: string;
  /** Port to listen on (default 8080; 0 picks a free one). */
  port?: number;
  /** JSON keys file (see `readApiKeys`). */
  apiKeys?: string;
  /** How models are loaded: micro-batching (`maxBatch`, `batchWaitMs`), `threads`, unknown fields. */
  load?: LoadOptions;
  /** When the canary (and with `primary`, the primary) is rolled back: error rate, p99 latency, minimum requests. */
  rollback?: RollbackRules;
  /** Incident sink (default: the monitor's incident log in the registry database). */
  incidents?: IncidentRecorder;
  /** Live monitoring (needs `registry`): sampled logging, drift, feedback, alerts, canary drift rollback. */
  monitor?: ServeMonitorOptions;
  /** Alias poll interval, ms (default 1000; 0 = no polling). */
  pollMs?: number;
  /** Longest wait for in-flight requests on shutdown, ms (default 30000). */
  drainMs?: number;
  /** Install SIGTERM/SIGINT handlers (default true). */
  signals?: boolean;
  /** Where log lines go (default: stderr, prefixed `serve:`). */
  log?: (line: string) => void;
}

/**
 * A running server.
 *
 * @example
 * const s = await startServer({ model: 'runs/churn', port: 0 });
 * await fetch(`${s.url}/healthz`);
 * await s.close();
 */
export interface RunningServer {
  url: string;
  port: number;
  app: FastifyInstance;
  router: ModelRouter;
  guard: RollbackGuard;
  registry: Registry | null;
  /** The live monitor (with the `monitor` option). */
  monitor: Monitor | null;
  /** Stops accepting, drains in-flight requests, frees models, closes the registry. */
  close(): Promise<void>;
  /** Resolves once the server has closed (by {@link RunningServer.close} or a signal). */
  closed: Promise<void>;
}

/**
 * Starts serving. Throws `SwitchyardError` (exit 2 at the CLI) for an unknown model or alias, a tampered
 * artefact, a model it cannot serve, or a port in use.
 *
 * @example
 * const s = await startServer({ model: 'churn@production', registry: 'registry', canary: 'churn@canary', canaryWeight: 0.1 });
 * console.log(s.url);
 */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  checkServeOptions(o);
  const log = o.log ?? ((line: string) => process.stderr.write(`serve: ${line}\n`));
  const keys = o.apiKeys ? await readApiKeys(o.apiKeys) : [];
  const registry = o.registry ? await openRegistry(o.registry) : null;
  const cleanup: (() => Promise<void>)[] = [];
  if (registry) cleanup.push(() => registry.close());
  try {
    if (!registry && isModelRef(o.model)) {
      throw new SwitchyardError('E_USAGE', `--model ${o.model} is a registry reference but no --registry was given`, 'add --registry DIR_OR_POSTGRES_URL (or set SWITCHYARD_REGISTRY), or pass a run directory');
    }
    const metrics = serveMetrics();
    const router = new ModelRouter(registry ? registrySource(registry) : directorySource(), { primary: o.model, canary: o.canary, canaryWeight: o.canaryWeight, shadow: o.shadow, seed: o.seed, load: o.load, log }, metrics);
    cleanup.unshift(() => router.close());
    await router.start();
    const incidentLog = registry ? await openIncidentLog(registry.db) : null;
    const guard = new RollbackGuard(router, metrics, o.incidents ?? incidentLog, o.rollback, log);
    if (o.monitor && !incidentLog) throw new SwitchyardError('E_USAGE', 'monitoring needs a registry (its database holds the logged predictions and incidents)', 'add --registry DIR_OR_POSTGRES_URL (or set SWITCHYARD_REGISTRY)');
    const monitor = o.monitor && incidentLog ? await attachMonitor(o.monitor, { registry, router, guard, incidents: incidentLog, log }) : null;
    if (monitor) cleanup.unshift(() => monitor.close());
    const onPrediction = monitor ? (e: Parameters<Monitor['onPrediction']>[0]) => (monitor.onPrediction(e), o.onPrediction?.(e)) : o.onPrediction;
    const onRequest = monitor ? (e: Parameters<Monitor['onRequest']>[0]) => (monitor.onRequest(e), o.onRequest?.(e)) : o.onRequest;
    const app = await buildApp({ ...o, onPrediction, onRequest, plugins: [...(o.plugins ?? []), ...(monitor ? [monitor.plugin] : [])], router, metrics, guard, keys });
    cleanup.unshift(() => app.close());
    try {
      await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') throw new SwitchyardError('E_PORT_IN_USE', `port ${o.port} on ${o.host ?? '127.0.0.1'} is already in use`, 'pick another --port (0 picks a free one)');
      if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') throw new SwitchyardError('E_LISTEN', `cannot listen on ${o.host ?? '127.0.0.1'}:${o.port}: ${err.message}`, 'check --host and --port');
      throw e;
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 8080);
    const host = o.host ?? '127.0.0.1';
    if (o.pollMs !== 0) router.watch(o.pollMs ?? 1000);
    let closing: Promise<void> | null = null;
    let onClosed = () => {};
    const closed = new Promise<void>((r) => (onClosed = r));
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        const drain = setTimeout(() => app.server.closeAllConnections?.(), o.drainMs ?? 30_000);
        drain.unref();
        // Keep-alive connections become idle as their last response goes out: close them as they do.
        const idle = setInterval(() => app.server.closeIdleConnections?.(), 20);
        try {
          for (const f of cleanup) await f();
        } finally {
          clearTimeout(drain);
          clearInterval(idle);
          onClosed();
        }
      })());
    if (o.signals !== false) {
      const onSignal = (sig: string) => {
        log(`${sig}: draining in-flight requests`);
        void close().then(() => {
          process.removeListener('SIGTERM', onSignal);
          process.removeListener('SIGINT', onSignal);
        });
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    }
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, app, router, guard, registry, monitor, close, closed };
  } catch (e) {
    for (const f of cleanup) await f().catch(() => undefined);
    throw e;
  }
}
