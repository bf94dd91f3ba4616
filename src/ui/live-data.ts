/**
 * What the live page shows, read from what serving with `--monitor` records in the registry database: per
 * alias the version it points at, and for its logged (sampled) requests and predictions in a window the request
 * rate, error rate (5xx) and rejected rate (4xx), p99 latency and per-feature drift against the version's training
 * data, overall and in six equal time slices; the requests refused before a version was picked; and the incident
 * log. Every number is computed by the monitor's own functions (`aliasTraffic`, as `switchyard monitor report`
 * has them); what a log of format 1 did not record is {@link NOT_RECORDED}, never a number.
 *
 * @module
 */
import { type Incident, openIncidentLog } from '../monitor/incidents.ts';
import { DEFAULT_MONITOR_MAX_WINDOW } from '../monitor/monitor.ts';
import type { Reference } from '../monitor/reference.ts';
import { versionReference } from '../monitor/report.ts';
import { migrateMonitor, type Window } from '../monitor/store.ts';
import { type AliasTraffic, modelTraffic, requestStats, type RequestStats, type TrafficSlice } from '../monitor/traffic.ts';
import type { Registry } from '../registry/registry.ts';

/**
 * What a log written before the monitor's log format 2 lacks: such rows show "not recorded" instead of a number.
 *
 * @example
 * NOT_RECORDED.errorRate; // 'the error rate is not recorded in logs of format 1 …'
 */
export const NOT_RECORDED = {
  errorRate: 'the error rate is not recorded in logs of format 1 (servers before the request log): only answered '
    + 'requests were logged there',
  sampleRate: 'the sample rate is not recorded in logs of format 1: rates count logged requests, which are all '
    + 'requests only at the default sample rate of 1',
  alias: 'the alias is not recorded in logs of format 1: their rows are matched to an alias by the version it '
    + 'points at now',
} as const;

/**
 * One slice of time of an alias (see `TrafficSlice` in src/monitor/traffic.ts).
 *
 * @example
 * const s: LiveSlice = { start: '…', end: '…', rows: 50, requests: 1, perMinute: 0.2, p99: 3.1, drift: [], traffic: null };
 */
export type LiveSlice = TrafficSlice;

/**
 * One alias of a model on the live page.
 *
 * @example
 * const a: LiveAlias = { alias: 'production', version: 3, overall, slices, capped: false };
 */
export interface LiveAlias extends AliasTraffic {
  /** Why there is no drift (no reference data here), when there is none. */
  noDrift?: string;
}

/**
 * The live page's data.
 *
 * @example
 * const v: LiveView = await liveView(reg, parseWindow('1h'), new Map());
 */
export interface LiveView {
  models: { name: string; aliases: LiveAlias[]; unrouted: RequestStats | null }[];
  /** Whether the monitor's tables exist (a model was served with --monitor against this registry). */
  logged: boolean;
  /** Open and acknowledged incidents, newest first. */
  unresolved: Incident[];
  /** The 20 most recently opened resolved incidents. */
  resolved: Incident[];
}

/** Whether `table` exists (a registry that never served with --monitor has none of the monitor's tables). */
async function hasTable(reg: Registry, table: string): Promise<boolean> {
  try {
    await reg.db.query(`SELECT 1 FROM ${table} LIMIT 1`);
    return true;
  } catch {
    return false;
  }
}

/** An alias with nothing logged. */
function quietAlias(alias: string, version: number, now: number): LiveAlias {
  const none = requestStats([]);
  const overall: LiveSlice = {
    start: new Date(now).toISOString(), end: new Date(now).toISOString(), rows: 0, requests: 0, perMinute: null,
    p99: null, drift: [], traffic: none,
  };
  return { alias, version, overall, slices: [], capped: false };
}

/**
 * Reads the live page's data: every model's aliases with their logged traffic in `window`, and the incidents.
 * References (each version's training data and the model's predictions on it) are loaded once per version
 * into `references`, which the caller keeps between calls.
 *
 * @param reg the open registry
 * @param window the window of logged predictions
 * @param references a cache of loaded references (or the reason there is none), by `NAME@VERSION`
 * @example
 * const view = await liveView(reg, parseWindow('1h'), new Map());
 * view.models[0].aliases[0].overall.p99;
 */
export async function liveView(
  reg: Registry, window: Window, references: Map<string, Promise<Reference | string>>,
): Promise<LiveView> {
  const logged = await hasTable(reg, 'monitor_predictions');
  // A log of format 1 (written by an older server) is upgraded in place, as a newer server would on start.
  if (logged) await migrateMonitor(reg.db);
  const now = Date.now();
  const names = [...new Set((await reg.list()).map((v) => v.name))].sort();
  const models = await Promise.all(names.map(async (name) => {
    const aliases = await reg.aliases(name);
    if (!logged) {
      const quiet = Object.entries(aliases).map(([alias, version]) => quietAlias(alias, version, now));
      return { name, aliases: quiet, unrouted: null };
    }
    const noDrift = new Map<number, string>();
    const reference = async (version: number) => {
      const key = `${name}@${version}`;
      if (!references.has(key)) references.set(key, reg.resolve(key).then((v) => versionReference(reg, v)).catch((e: Error) => e.message));
      const ref = await references.get(key)!;
      if (typeof ref === 'string') noDrift.set(version, ref);
      return typeof ref === 'string' ? null : ref;
    };
    const maxRows = DEFAULT_MONITOR_MAX_WINDOW;
    const t = await modelTraffic(reg.db, { model: name, aliases, window, reference, now, maxRows });
    const withWhy = t.aliases.map((a): LiveAlias => (noDrift.has(a.version) ? { ...a, noDrift: noDrift.get(a.version) } : a));
    return { name, aliases: withWhy, unrouted: t.unrouted };
  }));
  if (!(await hasTable(reg, 'monitor_incidents'))) return { models, logged, unresolved: [], resolved: [] };
  const log = await openIncidentLog(reg.db);
  const unresolved = await log.list({ status: 'unresolved' });
  const resolved = (await log.list({ status: 'resolved' })).slice(0, 20);
  return { models, logged, unresolved, resolved };
}
