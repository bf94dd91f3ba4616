/**
 * Automatic rollback: rules over a sliding window of the canary's requests (server-error rate, p99 latency)
 * plus a drift signal fed from outside (the monitor). When a rule fires, the canary leaves traffic at once,
 * its alias moves back in the registry (recorded in the registry's history) and an incident is recorded.
 * With `primary: true` the same rules also watch the primary: a production version that breaks them has its
 * alias moved back and the version it points to again is loaded and swapped in (the primary always serves).
 */
import type { ModelRouter } from './versions.ts';
import type { ServeMetrics } from './metrics.ts';

/**
 * An incident to record.
 *
 * @example
 * const i: IncidentInput = { kind: 'rollback', title: 'canary error rate 0.4 > 0.05', model: 'churn', versions: [3, 2], details: {} };
 */
export interface IncidentInput {
  kind: string;
  title: string;
  model: string;
  /** The versions involved (e.g. the rolled-back one first, then the one restored). */
  versions: string[];
  details: Record<string, unknown>;
}

/**
 * Where incidents go. The monitor's incident log (src/monitor/incidents.ts `IncidentLog`) implements this.
 *
 * @example
 * const sink: IncidentRecorder = { record: async (i) => { console.log(i.title); return '1'; } };
 */
export interface IncidentRecorder {
  /** Records an opened incident; returns its id. */
  record(i: IncidentInput): Promise<string>;
}

/**
 * The rollback rules.
 *
 * @example
 * const rules: RollbackRules = { maxErrorRate: 0.05, maxP99Ms: 250, minRequests: 50, window: 200 };
 */
export interface RollbackRules {
  /** Highest tolerated share of server errors (5xx) in the window. Default 0.05. */
  maxErrorRate?: number;
  /** Highest tolerated p99 latency in the window, ms (0 = off). Default 0. */
  maxP99Ms?: number;
  /** Requests the window must hold before a rule is judged. Default 20. */
  minRequests?: number;
  /** Requests in the sliding window. Default 200. */
  window?: number;
  /** Also watch the primary (needs a `NAME@ALIAS` primary in a registry). Default false. */
  primary?: boolean;
}

type Watched = 'primary' | 'canary';

/**
 * A drift score of the canary's traffic, as the monitor reports it to {@link RollbackGuard.reportDrift}.
 *
 * @example
 * const d: DriftReport = { version: '3', score: 0.6, threshold: 0.5, sample: { rows: 200, distinct: 187 } };
 */
export interface DriftReport {
  version: string;
  score: number;
  threshold: number;
  /** The window it was judged on: rows, and distinct input rows among them. */
  sample?: { rows: number; distinct: number };
  /** More for the incident (drifted columns, per-column tests, minimums). */
  details?: Record<string, unknown>;
}

/**
 * Watches the canary (and, with `rules.primary`, the primary) and rolls it back when a rule fires.
 *
 * @example
 * const guard = new RollbackGuard(router, metrics, incidents, { maxErrorRate: 0.05 });
 * guard.observe('canary', '3', { ok: false, ms: 4 });
 */
export class RollbackGuard {
  private readonly windows: Record<Watched, { version: string | null; outcomes: { ok: boolean; ms: number }[] }> = {
    primary: { version: null, outcomes: [] },
    canary: { version: null, outcomes: [] },
  };
  /** Primary versions whose rollback failed: kept serving, not judged again. */
  private readonly keptPrimary = new Set<string>();
  private tripping: Promise<void> | null = null;
  /** Rollbacks done, newest last. */
  readonly done: { rule: string; role: Watched; version: string; incident?: string; registry?: { from: number; to: number }; error?: string }[] = [];

  constructor(
    private readonly router: ModelRouter,
    private readonly metrics: ServeMetrics,
    private readonly incidents: IncidentRecorder | null,
    private readonly rules: RollbackRules = {},
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Records one finished request of `role`/`version` (`ok` false for a server error). */
  observe(role: string, version: string, o: { ok: boolean; ms: number }): void {
    if (role !== 'canary' && !(role === 'primary' && this.rules.primary)) return;
    // Late answers of a primary version already replaced (or kept after a failed rollback) are not judged.
    if (role === 'primary' && (this.keptPrimary.has(version) || version !== this.router.slots.primary.model?.version)) return;
    const w = this.windows[role as Watched];
    if (version !== w.version) {
      w.version = version;
      w.outcomes = [];
    }
    w.outcomes.push(o);
    const size = this.rules.window ?? 200;
    if (w.outcomes.length > size) w.outcomes.splice(0, w.outcomes.length - size);
    if (w.outcomes.length < (this.rules.minRequests ?? 20)) return;
    const errors = w.outcomes.filter((x) => !x.ok).length / w.outcomes.length;
    const maxErr = this.rules.maxErrorRate ?? 0.05;
    if (errors > maxErr) {
      void this.trip(role as Watched, version, 'error-rate', `${role} error rate ${errors.toFixed(3)} > ${maxErr} over ${w.outcomes.length} requests`, { errorRate: errors, requests: w.outcomes.length });
      return;
    }
    const p99Bound = this.rules.maxP99Ms ?? 0;
    if (p99Bound > 0) {
      const sorted = w.outcomes.map((x) => x.ms).sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
      if (p99 > p99Bound) void this.trip(role as Watched, version, 'p99-latency', `${role} p99 latency ${p99.toFixed(1)} ms > ${p99Bound} ms over ${sorted.length} requests`, { p99Ms: p99, requests: sorted.length });
    }
  }

  /**
   * The drift hook: the monitor reports a drift score of the canary's traffic, judged on `sample` (rows and
   * distinct rows); over `threshold`, it rolls back, and the incident records the score, sample and threshold.
   *
   * @example
   * await guard.reportDrift({ version: '3', score: 0.31, threshold: 0.2, sample: { rows: 200, distinct: 187 } });
   */
  async reportDrift(d: DriftReport): Promise<boolean> {
    const cur = this.router.slots.canary?.model;
    if (!cur || cur.version !== d.version || !(d.score > d.threshold)) return false;
    const over = d.sample ? ` over ${d.sample.rows} rows (${d.sample.distinct} distinct)` : '';
    const sample = d.sample ? { rows: d.sample.rows, distinctRows: d.sample.distinct } : {};
    const title = `canary drift ${d.score.toFixed(3)} > ${d.threshold}${over}`;
    const details = { score: d.score, threshold: d.threshold, ...sample, ...d.details };
    await this.trip('canary', d.version, 'drift', title, details);
    return true;
  }

  /** Resolves when a rollback in progress is finished. */
  async settled(): Promise<void> {
    while (this.tripping) await this.tripping;
  }

  private trip(role: Watched, version: string, rule: string, title: string, details: Record<string, unknown>): Promise<void> {
    if (this.tripping) return this.tripping;
    if (this.router.slots[role]?.model?.version !== version) return Promise.resolve(); // already replaced
    // The canary leaves traffic at once; the primary keeps serving until the version it rolls back to is loaded.
    const model = role === 'canary' ? this.router.blockCanary() : this.router.slots.primary.model;
    if (!model) return Promise.resolve();
    this.windows[role] = { version: null, outcomes: [] };
    this.metrics.rollbacks.inc({ rule });
    this.log(`rollback: ${title}; ${role} ${model.name}@${model.version}${role === 'canary' ? ' taken out of traffic' : ''}`);
    this.tripping = (async () => {
      const rec: RollbackGuard['done'][number] = { rule, role, version: model.version };
      const ref = this.router.slots[role]!.ref;
      // The registry source rejects a ref that is not an alias (E_ROLLBACK); a directory source cannot roll back.
      try {
        if (!this.router.source.rollback) throw new Error(`${ref} is not served from a registry; nothing to move back`);
        rec.registry = await this.router.source.rollback(ref, title);
        if (role === 'primary') await this.router.refresh();
      } catch (e) {
        rec.error = (e as Error).message;
        this.log(`rollback: could not move ${ref} back: ${rec.error}`);
      }
      if (role === 'primary' && (rec.error || this.router.slots.primary.model?.version === model.version)) this.keptPrimary.add(model.version);
      const versions = [model.version, ...(rec.registry ? [String(rec.registry.to)] : [])];
      if (this.incidents) rec.incident = await this.incidents.record({ kind: 'rollback', title, model: model.name, versions, details: { rule, role, ref, ...details, ...(rec.error ? { rollbackError: rec.error } : {}) } });
      this.done.push(rec);
    })().finally(() => (this.tripping = null));
    return this.tripping;
  }
}
