/**
 * What the live page shows, read from what serving with `--monitor` records in the registry database: per
 * alias the version it points at, and for that version's logged (sampled) predictions in a window the
 * request rate, p99 latency and per-feature drift against the version's training data, overall and in six
 * equal time slices; and the incident log. Every number is computed by the monitor's own functions
 * (`readWindow`, `analyzeWindow`); what the monitor does not record is {@link NOT_RECORDED}, never a number.
 *
 * @module
 */
import { analyzeWindow, type WindowAnalysis } from '../monitor/analysis.ts';
import { type Incident, openIncidentLog } from '../monitor/incidents.ts';
import { DEFAULT_MONITOR_MAX_WINDOW } from '../monitor/monitor.ts';
import type { Reference } from '../monitor/reference.ts';
import { versionReference } from '../monitor/report.ts';
import { type LoggedRow, readWindow, type Window } from '../monitor/store.ts';
import type { Registry } from '../registry/registry.ts';

/**
 * What the monitor does not record, shown as "not recorded" instead of a number.
 *
 * @example
 * NOT_RECORDED.errorRate; // 'failed requests are not logged by the monitor …'
 */
export const NOT_RECORDED = {
  errorRate: 'failed requests are not logged by the monitor (only the serving process counts them, in memory, '
    + 'at GET /metrics); the error rate is not recorded',
  sampleRate: 'the --sample-rate a server logged with is not recorded: rates count logged requests, which are '
    + 'all requests only at the default sample rate of 1',
  alias: 'the alias a request came through is not recorded: rows are matched to an alias by the version it '
    + 'points at now',
} as const;

/**
 * The numbers of one slice of time.
 *
 * @example
 * const s: LiveSlice = { start: '…', end: '…', rows: 50, requests: 1, perMinute: 0.2, p99: 3.1, drift: [] };
 */
export interface LiveSlice {
  start: string;
  end: string;
  /** Logged input rows. */
  rows: number;
  /** Logged requests (distinct request ids). */
  requests: number;
  /** Logged requests per minute over the slice. */
  perMinute: number | null;
  /** p99 latency of the logged rows, ms (as `switchyard monitor report` computes it). */
  p99: number | null;
  drift: { column: string; test: string; statistic: number; drifted: boolean }[];
}

/**
 * One alias of a model on the live page.
 *
 * @example
 * const a: LiveAlias = { alias: 'production', version: 3, overall, slices, capped: false };
 */
export interface LiveAlias {
  alias: string;
  version: number;
  overall: LiveSlice;
  /** Six equal slices of the window, oldest first (empty when nothing was logged). */
  slices: LiveSlice[];
  /** Only the newest {@link DEFAULT_MONITOR_MAX_WINDOW} rows were read. */
  capped: boolean;
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
  models: { name: string; aliases: LiveAlias[] }[];
  /** Whether the monitor's tables exist (a model was served with --monitor against this registry). */
  logged: boolean;
  /** Open and acknowledged incidents, newest first. */
  unresolved: Incident[];
  /** The 20 most recently opened resolved incidents. */
  resolved: Incident[];
}

const SLICES = 6;

/** Whether `table` exists (a registry that never served with --monitor has none of the monitor's tables). */
async function hasTable(reg: Registry, table: string): Promise<boolean> {
  try {
    await reg.db.query(`SELECT 1 FROM ${table} LIMIT 1`);
    return true;
  } catch {
    return false;
  }
}

function slice(rows: readonly LoggedRow[], a: WindowAnalysis, start: number, end: number): LiveSlice {
  const requests = new Set(rows.map((r) => r.requestId)).size;
  const minutes = (end - start) / 60_000;
  return {
    start: new Date(start).toISOString(), end: new Date(end).toISOString(), rows: rows.length, requests,
    perMinute: minutes > 0 ? requests / minutes : null, p99: a.latency.p99,
    drift: a.drift.features.map(({ column, test, statistic, drifted }) => ({ column, test, statistic, drifted })),
  };
}

/** The window's time span: the duration back from `now`, or for a count window the logged rows' first to last. */
function span(w: Window, rows: readonly LoggedRow[], now: number): [number, number] {
  if (w.kind === 'time') return [now - w.ms, now];
  if (!rows.length) return [now, now];
  return [Date.parse(rows[0].at), Date.parse(rows[rows.length - 1].at)];
}

async function aliasView(
  reg: Registry, name: string, alias: string, version: number, w: Window, reference: Reference | null, now: number,
): Promise<LiveAlias> {
  const maxRows = DEFAULT_MONITOR_MAX_WINDOW;
  const query = { model: name, window: w, version: String(version), maxRows, now: new Date(now) };
  const rows = await readWindow(reg.db, query);
  const [start, end] = span(w, rows, now);
  const overall = slice(rows, analyzeWindow(reference, rows), start, end);
  const slices: LiveSlice[] = [];
  const width = (end - start) / SLICES;
  for (let i = 0; rows.length && width > 0 && i < SLICES; i++) {
    const [s, e] = [start + i * width, i === SLICES - 1 ? end : start + (i + 1) * width];
    const part = rows.filter((r) => {
      const t = Date.parse(r.at);
      return t >= s && (t < e || (i === SLICES - 1 && t <= e));
    });
    slices.push(slice(part, analyzeWindow(reference, part), s, e));
  }
  const capped = w.kind === 'time' ? rows.length >= maxRows : w.n > maxRows;
  return { alias, version, overall, slices, capped };
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
  const now = Date.now();
  const names = [...new Set((await reg.list()).map((v) => v.name))].sort();
  const models = await Promise.all(names.map(async (name) => {
    const aliases: LiveAlias[] = [];
    for (const [alias, version] of Object.entries(await reg.aliases(name))) {
      const key = `${name}@${version}`;
      if (logged && !references.has(key)) {
        const load = reg.resolve(key).then((v) => versionReference(reg, v)).catch((e: Error) => e.message);
        references.set(key, load);
      }
      const ref = logged ? await references.get(key)! : 'nothing logged';
      const reference = typeof ref === 'string' ? null : ref;
      const view = logged
        ? await aliasView(reg, name, alias, version, window, reference, now)
        : { alias, version, overall: slice([], analyzeWindow(null, []), now, now), slices: [], capped: false };
      aliases.push(typeof ref === 'string' ? { ...view, noDrift: ref } : view);
    }
    return { name, aliases };
  }));
  if (!(await hasTable(reg, 'monitor_incidents'))) return { models, logged, unresolved: [], resolved: [] };
  const log = await openIncidentLog(reg.db);
  const unresolved = await log.list({ status: 'unresolved' });
  const resolved = (await log.list({ status: 'resolved' })).slice(0, 20);
  return { models, logged, unresolved, resolved };
}
