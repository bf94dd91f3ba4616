/**
 * The live monitor of a served model: takes the server's sampled predictions into the store (batched),
 * serves `POST /v1/feedback` (late labels) and `GET /v1/monitor` / `GET /v1/monitor/incidents`, judges the
 * alert rules every `evaluateEvery` logged predictions (and on a timer for time windows), fires alerts to the
 * webhook and the incident log, and reports the canary's drift to the rollback guard.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../registry/db.ts';
import type { PredictionEvent, RequestEvent, ServePlugin } from '../serve/app.ts';
import type { RollbackGuard } from '../serve/guard.ts';
import { SwitchyardError } from '../util/errors.ts';
import { type AlertPayload, type AlertRule, breaches, LABEL_METRICS, parseRule, postWebhook, ruleTitle } from './alerts.ts';
import { analyzeWindow, type WindowAnalysis, windowMetrics, withoutUnseenValues } from './analysis.ts';
import { type IncidentLog, openIncidentLog } from './incidents.ts';
import type { Reference } from './reference.ts';
import { migrateMonitor, parseWindow, PredictionLog, readWindow, recordFeedback } from './store.ts';
import type { Window, WindowQuery } from './store.ts';

/**
 * Options of {@link Monitor.open}.
 *
 * @example
 * const o: MonitorOptions = { db: registry.db, model: 'churn', reference, rules: ['drift.share > 0.3 over 500 predictions'], webhook: 'http://127.0.0.1:9000/hook' };
 */
export interface MonitorOptions {
  db: Db;
  /** The model name the logged rows are read back for. */
  model: string;
  reference?: Reference | null;
  rules?: readonly (string | AlertRule)[];
  webhook?: string;
  incidents?: IncidentLog;
  guard?: RollbackGuard | null;
  /** The version the canary serves now (e.g. `() => router.slots.canary?.model?.version`). */
  canaryVersion?: () => string | undefined;
  /**
   * The canary's drift score (share of drifted columns, the prediction counted as one) is reported to the guard
   * with this threshold (default 0.5) over this window (default 200 predictions), once the window holds at least
   * `minRows` rows (default: the window's count, else 30) of which at least `minDistinct` differ (default
   * {@link DEFAULT_CANARY_MIN_DISTINCT}): a flood of one repeated row cannot pull a canary.
   */
  canary?: { window?: Window | string; threshold?: number; minRows?: number; minDistinct?: number };
  /**
   * Rows one `GET /v1/monitor` reads at most (default {@link DEFAULT_MONITOR_MAX_WINDOW}): a larger count window
   * is a 400, a time window reads the newest rows.
   */
  maxWindow?: number;
  /** Share of drifted columns that makes dataset drift (default 0.5). */
  driftShare?: number;
  /** Logged predictions between rule evaluations (default 100). */
  evaluateEvery?: number;
  /** Timer for evaluations, ms (default 30000; 0 = off). */
  intervalMs?: number;
  flushMs?: number;
  log?: (line: string) => void;
}

/** Distinct input rows the canary's drift window needs before drift may roll it back. */
export const DEFAULT_CANARY_MIN_DISTINCT = 20;

/** Rows one `GET /v1/monitor` call reads at most. */
export const DEFAULT_MONITOR_MAX_WINDOW = 10_000;

/**
 * A fired alert with its webhook delivery.
 *
 * @example
 * monitor.fired.at(-1)?.delivery; // { ok: true, status: 200, attempts: 1 }
 */
export interface FiredAlert extends AlertPayload {
  delivery: { ok: boolean; status?: number; error?: string; attempts: number } | null;
}

/**
 * The monitor (use {@link Monitor.open}).
 *
 * @example
 * const m = await Monitor.open({ db: registry.db, model: 'churn', reference, rules: ['accuracy < 0.8 over 200'] });
 * startServer({ ..., onPrediction: m.onPrediction, plugins: [m.plugin] });
 */
export class Monitor {
  readonly predictions: PredictionLog;
  readonly rules: AlertRule[];
  readonly fired: FiredAlert[] = [];
  private readonly firing = new Map<string, string | null>();
  private sinceEval = 0;
  private evaluating: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly canaryWindow: Window;

  private constructor(
    readonly o: MonitorOptions,
    readonly incidents: IncidentLog,
  ) {
    this.predictions = new PredictionLog(o.db, { flushMs: o.flushMs, onError: (e) => this.log(`monitor: could not log predictions: ${e.message}`) });
    this.rules = (o.rules ?? []).map((r) => (typeof r === 'string' ? parseRule(r) : r));
    const cw = o.canary?.window ?? '200';
    this.canaryWindow = typeof cw === 'string' ? parseWindow(cw) : cw;
    if ((o.intervalMs ?? 30_000) > 0) {
      this.timer = setInterval(() => void this.evaluate().catch((e: Error) => this.log(`monitor: evaluation failed: ${e.message}`)), o.intervalMs ?? 30_000);
      this.timer.unref();
    }
  }

  /** Creates the tables (once per database) and starts the monitor. */
  static async open(o: MonitorOptions): Promise<Monitor> {
    await migrateMonitor(o.db);
    return new Monitor(o, o.incidents ?? (await openIncidentLog(o.db)));
  }

  private log(line: string): void {
    (this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** The serving hook: queues a sampled prediction (never blocks the request). */
  readonly onPrediction = (e: PredictionEvent & { id?: string }): void => {
    this.predictions.add({ ...e, id: e.id ?? randomUUID() });
    this.sinceEval += e.inputs.length;
    if (this.sinceEval >= (this.o.evaluateEvery ?? 100)) {
      this.sinceEval = 0;
      void this.evaluate().catch((err: Error) => this.log(`monitor: evaluation failed: ${err.message}`));
    }
  };

  /** The serving hook of request outcomes: queues a sampled request, answered or refused (never blocks it). */
  readonly onRequest = (e: RequestEvent): void => this.predictions.addRequest(e);

  /** Analyses a window of logged traffic (all roles, or one role / version). */
  async analyze(window: Window, o: Omit<WindowQuery, 'model' | 'window' | 'now'> = {}): Promise<WindowAnalysis> {
    await this.predictions.flush();
    const rows = await readWindow(this.o.db, { model: this.o.model, window, ...o });
    return analyzeWindow(this.o.reference ?? null, rows, { driftShare: this.o.driftShare });
  }

  /** Judges every rule and the canary now (one evaluation at a time; a call during one waits for it). */
  evaluate(): Promise<void> {
    this.evaluating ??= this.runEvaluation().finally(() => (this.evaluating = null));
    return this.evaluating;
  }

  private async runEvaluation(): Promise<void> {
    const cache = new Map<string, WindowAnalysis>();
    const analysis = async (w: Window, labelled: boolean, role?: string) => {
      const key = `${JSON.stringify(w)}|${labelled}|${role ?? ''}`;
      if (!cache.has(key)) cache.set(key, await this.analyze(w, { labelled, role }));
      return cache.get(key)!;
    };
    for (const rule of this.rules) {
      const labelled = LABEL_METRICS.has(rule.metric);
      const a = await analysis(rule.window, labelled);
      const value = windowMetrics(a)[rule.metric];
      const enough = (labelled ? a.live.labelled : a.rows) >= rule.minRows;
      const key = rule.text;
      if (enough && breaches(rule, value)) {
        if (!this.firing.has(key)) await this.fire(rule, value!, a);
      } else if (enough && this.firing.has(key)) {
        const incident = this.firing.get(key);
        this.firing.delete(key);
        if (incident) await this.incidents.note(incident, `cleared: ${rule.metric} is ${value === null || value === undefined ? 'n/a' : +value.toPrecision(4)} over ${a.rows} rows`);
      }
    }
    await this.checkCanary(analysis);
  }

  private async fire(rule: AlertRule, value: number, a: WindowAnalysis): Promise<void> {
    const title = ruleTitle(rule, value);
    this.firing.set(rule.text, null);
    const incident = await this.incidents.record({ kind: 'alert', title, model: this.o.model, versions: a.versions, details: { rule: rule.text, metric: rule.metric, value, threshold: rule.threshold, rows: a.rows, driftedColumns: a.drift.features.filter((f) => f.drifted).map((f) => f.column) } });
    this.firing.set(rule.text, incident);
    const payload: AlertPayload = { alert: rule.text, status: 'firing', metric: rule.metric, value, threshold: rule.threshold, window: rule.window.kind === 'count' ? `${rule.window.n} predictions` : `${rule.window.ms} ms`, model: this.o.model, role: 'all', versions: a.versions, rows: a.rows, incident, at: new Date().toISOString() };
    const delivery = this.o.webhook ? await postWebhook(this.o.webhook, payload) : null;
    if (delivery && !delivery.ok) await this.incidents.note(incident, `webhook delivery failed: ${delivery.error ?? `HTTP ${delivery.status}`}`);
    this.fired.push({ ...payload, delivery });
    this.log(`monitor: alert ${title} (incident ${incident})`);
  }

  private async checkCanary(analysis: (w: Window, labelled: boolean, role?: string) => Promise<WindowAnalysis>): Promise<void> {
    const guard = this.o.guard;
    const version = this.o.canaryVersion?.();
    if (!guard || !version || !this.o.reference) return;
    const canary = { version };
    const a = await analysis(this.canaryWindow, false, 'canary');
    const rows = a.versions.length === 1 && a.versions[0] === canary.version ? a.rows : 0;
    const minRows = this.o.canary?.minRows ?? (this.canaryWindow.kind === 'count' ? this.canaryWindow.n : 30);
    const minDistinct = this.o.canary?.minDistinct ?? DEFAULT_CANARY_MIN_DISTINCT;
    if (rows < minRows || a.distinctInputs < minDistinct) return;
    const judged = a.drift.columns + (a.drift.prediction ? 1 : 0);
    const drifted = a.drift.drifted + (a.drift.prediction?.drifted ? 1 : 0);
    const score = judged ? drifted / judged : 0;
    // The incident says why it fired: the statistic, the sample it was judged on, and every threshold.
    const columns = [...a.drift.features, ...(a.drift.prediction ? [a.drift.prediction] : [])];
    const tests = columns.map((f) => {
      const { column, test, statistic, threshold, drifted } = f;
      return { column, test, statistic, pValue: f.pValue ?? null, threshold, drifted };
    });
    const details = {
      statistic: 'share of drifted columns',
      drifted: a.drift.features.filter((f) => f.drifted).map((f) => f.column),
      predictionDrift: a.drift.prediction?.drifted ?? null,
      judged,
      tests,
      minRows,
      minDistinct,
    };
    const threshold = this.o.canary?.threshold ?? 0.5;
    const sample = { rows, distinct: a.distinctInputs };
    await guard.reportDrift({ version: canary.version, score, threshold, sample, details });
  }

  /** Routes: `POST /v1/feedback` (API key), `GET /v1/monitor?window=…&role=…`, `GET /v1/monitor/incidents?status=…`. */
  readonly plugin: ServePlugin = (app, ctx) => {
    app.post('/v1/feedback', async (req, reply) => {
      if (!ctx.requireKey(req, reply)) return reply;
      const b = (req.body ?? {}) as { id?: unknown; label?: unknown; labels?: unknown };
      const bad = (msg: string) => Object.assign(new SwitchyardError('E_BAD_FEEDBACK', msg, 'send { "id": "<id from /v1/predict>", "label": "yes" } or { "id": "…", "labels": ["yes", "no"] } (one per row)'), { statusCode: 400 });
      if (typeof b.id !== 'string' || !b.id) throw bad(`"id" must be the request id returned by /v1/predict, got ${JSON.stringify(b.id)}`);
      const raw = b.labels !== undefined ? b.labels : [b.label];
      if (!Array.isArray(raw) || !raw.length || raw.some((l) => typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean')) throw bad(`"label" must be a string, number or boolean (or "labels" a non-empty array of them), got ${JSON.stringify(b.labels ?? b.label)}`);
      await this.predictions.flush();
      const r = await recordFeedback(this.o.db, b.id, raw.map(String));
      return { ok: true, id: b.id, ...r };
    });
    // Monitor data describes every client's traffic: admins only (the API key of the admin routes).
    const { adminOnly } = ctx;
    app.get('/v1/monitor', { preValidation: adminOnly }, async (req) => {
      const q = req.query as { window?: string; role?: string; values?: string };
      const maxRows = this.o.maxWindow ?? DEFAULT_MONITOR_MAX_WINDOW;
      let w: Window;
      try {
        w = parseWindow(q.window ?? '1000');
      } catch (e) {
        throw Object.assign(e as SwitchyardError, { statusCode: 400 });
      }
      const bad = (code: string, message: string, hint: string) =>
        Object.assign(new SwitchyardError(code, message, hint), { statusCode: 400 });
      if (w.kind === 'count' && w.n > maxRows) {
        const hint = `ask for at most ${maxRows} (the server's --monitor-max-window), or use switchyard monitor report`;
        throw bad('E_WINDOW', `window ${w.n} is larger than this server's limit of ${maxRows} rows`, hint);
      }
      if (q.values !== undefined && q.values !== 'raw') {
        const hint = 'leave it out, or values=raw to see live values the reference does not have';
        throw bad('E_BAD_REQUEST', `values=${q.values} is not known`, hint);
      }
      const a = await this.analyze(w, { role: q.role, maxRows });
      const reference = this.o.reference ? { source: this.o.reference.source, rows: this.o.reference.rows } : null;
      const alerts = { rules: this.rules.map((r) => r.text), firing: [...this.firing.keys()] };
      const shown = q.values === 'raw' ? a : withoutUnseenValues(a);
      return { model: this.o.model, window: w, reference, ...shown, alerts };
    });
    app.get('/v1/monitor/incidents', { preValidation: adminOnly }, async (req) => {
      const q = req.query as { status?: string };
      const status = q.status === 'open' || q.status === 'acknowledged' || q.status === 'resolved' || q.status === 'unresolved' ? q.status : undefined;
      return { incidents: await this.incidents.list({ model: this.o.model, status }) };
    });
  };

  /** Stops the timer, waits for an evaluation in progress and writes what is queued. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.evaluating?.catch(() => undefined);
    await this.predictions.close();
  }
}
