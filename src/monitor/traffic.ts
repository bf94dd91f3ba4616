/**
 * Traffic of an alias over time, read from the monitor's log: per slice of a window the requests (answered and
 * refused, scaled by the sample rate in effect), the error rate, the rejected rate, p99 latency and the drift of
 * each feature. `switchyard monitor report` and the dashboard's live page both read it from here.
 *
 * What counts: a 5xx answer is an error (the server or the model failed: `E_MODEL_OUTPUT`, `E_INTERNAL`, ONNX
 * Runtime failures, no model loaded); a 4xx answer is a rejection (the client's request was refused: bad JSON,
 * input that does not match the schema, too many rows, rate limited) and is counted apart, never as the model's
 * error. Both rates are shares of all requests.
 *
 * @module
 */
import type { Db } from '../registry/db.ts';
import { analyzeWindow, type WindowAnalysis } from './analysis.ts';
import type { Reference } from './reference.ts';
import { type LoggedRow, readRequests, readWindow, type RequestRecord, type Window } from './store.ts';

/**
 * Requests of one span of time as the request log has them.
 *
 * @example
 * const s: RequestStats = { logged: 10, estimated: 100, errors: 1, errorRate: 0.1, rejected: 0, rejectedRate: 0, codes: { E_MODEL_OUTPUT: 1 }, sampleRates: [0.1] };
 */
export interface RequestStats {
  /** Requests logged (sampled). */
  logged: number;
  /** Requests served, estimated: each logged one stands for 1 / its sample rate. */
  estimated: number;
  /** Logged requests answered with a 5xx. */
  errors: number;
  /** Share of requests answered with a 5xx (the server's or the model's failures); null without requests. */
  errorRate: number | null;
  /** Logged requests answered with a 4xx (refused: the client's mistakes). */
  rejected: number;
  /** Share of requests answered with a 4xx; null without requests. */
  rejectedRate: number | null;
  /** Logged requests per error code. */
  codes: Record<string, number>;
  /** The sample rates in effect (distinct, ascending). */
  sampleRates: number[];
}

/**
 * Counts and rates of sampled requests; rates weight each request by 1 / its sample rate, so that traffic
 * logged at different rates (a server restarted with another `--sample-rate`) adds up.
 *
 * @param reqs sampled requests
 * @example
 * requestStats(await readRequests(db, { model: 'churn', from, to })).errorRate; // 0.02
 */
export function requestStats(reqs: readonly RequestRecord[]): RequestStats {
  let [estimated, failed, refused, errors, rejected] = [0, 0, 0, 0, 0];
  const codes: Record<string, number> = {};
  for (const r of reqs) {
    const weight = 1 / r.sampleRate;
    estimated += weight;
    if (r.status >= 500) (failed += weight), errors++;
    else if (r.status >= 400) (refused += weight), rejected++;
    if (r.code) codes[r.code] = (codes[r.code] ?? 0) + 1;
  }
  const share = (x: number) => (estimated > 0 ? x / estimated : null);
  const sampleRates = [...new Set(reqs.map((r) => r.sampleRate))].sort((a, b) => a - b);
  return { logged: reqs.length, estimated, errors, errorRate: share(failed), rejected, rejectedRate: share(refused), codes, sampleRates };
}

/**
 * The numbers of one slice of time.
 *
 * @example
 * const s: TrafficSlice = { start: '…', end: '…', rows: 50, requests: 1, perMinute: 0.2, p99: 3.1, drift: [], traffic: null };
 */
export interface TrafficSlice {
  start: string;
  end: string;
  /** Logged input rows (answered requests' rows). */
  rows: number;
  /** Logged requests: from the request log, else (a log of format 1) the answered requests' distinct ids. */
  requests: number;
  /** Requests per minute: estimated from the request log (all traffic), else logged answered requests. */
  perMinute: number | null;
  /** p99 latency of the logged rows, ms (as `analyzeWindow`, and so `switchyard monitor report`, has it). */
  p99: number | null;
  drift: { column: string; test: string; statistic: number; drifted: boolean }[];
  /** The request log's numbers; null where it has none but predictions were logged (a log of format 1). */
  traffic: RequestStats | null;
}

/**
 * One alias's traffic in a window: overall and in equal slices, oldest first.
 *
 * @example
 * const t: AliasTraffic = await aliasTraffic(db, { model: 'churn', alias: 'production', version: 3, window, reference: null });
 */
export interface AliasTraffic {
  alias: string;
  version: number;
  overall: TrafficSlice;
  /** Equal slices of the window (empty when nothing was logged). */
  slices: TrafficSlice[];
  /** Only the newest `maxRows` rows were read. */
  capped: boolean;
}

/** Slices per window unless asked otherwise. */
export const DEFAULT_SLICES = 6;

function trafficSlice(rows: readonly LoggedRow[], reqs: readonly RequestRecord[], a: WindowAnalysis, start: number, end: number): TrafficSlice {
  const minutes = (end - start) / 60_000;
  const traffic = reqs.length || !rows.length ? requestStats(reqs) : null;
  const requests = traffic ? traffic.logged : new Set(rows.map((r) => r.requestId)).size;
  const count = traffic ? traffic.estimated : requests;
  return {
    start: new Date(start).toISOString(), end: new Date(end).toISOString(), rows: rows.length, requests,
    perMinute: minutes > 0 ? count / minutes : null, p99: a.latency.p99,
    drift: a.drift.features.map(({ column, test, statistic, drifted }) => ({ column, test, statistic, drifted })),
    traffic,
  };
}

/** The window's time span: the duration back from `now`, or for a count window the logged rows' first to last. */
function span(w: Window, rows: readonly LoggedRow[], now: number): [number, number] {
  if (w.kind === 'time') return [now - w.ms, now];
  if (!rows.length) return [now, now];
  return [Date.parse(rows[0].at), Date.parse(rows[rows.length - 1].at)];
}

/** Whether ISO time `at` lies in slice `i` of `n` from `s` to `e` (the last slice includes its end). */
const within = (at: string, s: number, e: number, last: boolean): boolean => {
  const t = Date.parse(at);
  return t >= s && (t < e || (last && t <= e));
};

/**
 * Reads one alias's traffic: its logged predictions in `window` (rows served under the alias, and rows of
 * `version` logged before the alias was recorded) and its sampled requests over the same span, overall and in
 * `slices` equal slices. Drift is judged against `reference` (none without one).
 *
 * @param db the registry database holding the monitor's log
 * @param q the model, alias, the version it points at, the window, the reference, "now", slices and row cap
 * @example
 * const t = await aliasTraffic(reg.db, { model: 'churn', alias: 'production', version: 3, window: parseWindow('1h'), reference: null });
 * t.slices.map((s) => s.traffic?.errorRate);
 */
export async function aliasTraffic(
  db: Db,
  q: { model: string; alias: string; version: number; window: Window; reference: Reference | null; now?: number; slices?: number; maxRows?: number },
): Promise<AliasTraffic> {
  const now = q.now ?? Date.now();
  const { model, alias, maxRows } = q;
  const rows = await readWindow(db, { model, window: q.window, alias: { name: alias, orVersion: String(q.version) }, maxRows, now: new Date(now) });
  const [start, end] = span(q.window, rows, now);
  const from = new Date(start).toISOString();
  const reqs = rows.length || q.window.kind === 'time' ? await readRequests(db, { model, alias, from, to: new Date(end).toISOString(), maxRows }) : [];
  const overall = trafficSlice(rows, reqs, analyzeWindow(q.reference, rows), start, end);
  const slices: TrafficSlice[] = [];
  const n = q.slices ?? DEFAULT_SLICES;
  const width = (end - start) / n;
  for (let i = 0; (rows.length || reqs.length) && width > 0 && i < n; i++) {
    const [s, e, last] = [start + i * width, i === n - 1 ? end : start + (i + 1) * width, i === n - 1];
    const part = rows.filter((r) => within(r.at, s, e, last));
    slices.push(trafficSlice(part, reqs.filter((r) => within(r.at, s, e, last)), analyzeWindow(q.reference, part), s, e));
  }
  const capped = maxRows !== undefined && (q.window.kind === 'time' ? rows.length >= maxRows : q.window.n > maxRows);
  return { alias, version: q.version, overall, slices, capped };
}

/**
 * A model's traffic: each alias's (see {@link aliasTraffic}), and the requests refused before a version was
 * picked (bad JSON, too many rows, rate limited) over the span of the window (for a count window, from the first
 * to the last row any alias logged).
 *
 * @param db the registry database holding the monitor's log
 * @param q the model, its aliases (alias → version), the window, each version's drift reference, "now", row cap
 * @example
 * const t = await modelTraffic(reg.db, { model: 'churn', aliases: await reg.aliases('churn'), window, reference: async () => null });
 * t.unrouted.codes; // { E_BAD_JSON: 2 }
 */
export async function modelTraffic(
  db: Db,
  q: { model: string; aliases: Record<string, number>; window: Window; reference: (version: number) => Promise<Reference | null>; now?: number; maxRows?: number },
): Promise<{ aliases: AliasTraffic[]; unrouted: RequestStats }> {
  const now = q.now ?? Date.now();
  const aliases: AliasTraffic[] = [];
  for (const [alias, version] of Object.entries(q.aliases)) {
    const reference = await q.reference(version);
    aliases.push(await aliasTraffic(db, { model: q.model, alias, version, window: q.window, reference, now, maxRows: q.maxRows }));
  }
  const spans = aliases.filter((a) => a.slices.length).map((a) => [Date.parse(a.overall.start), Date.parse(a.overall.end)]);
  const [start, end] = q.window.kind === 'time' ? [now - q.window.ms, now] : [Math.min(now, ...spans.map((x) => x[0])), Math.max(0, ...spans.map((x) => x[1]))];
  const unrouted = requestStats(end >= start ? await readRequests(db, { model: q.model, alias: null, from: new Date(start).toISOString(), to: new Date(end).toISOString() }) : []);
  return { aliases, unrouted };
}
