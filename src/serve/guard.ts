/**
 * Automatic rollback: rules over a sliding window of the canary's requests (server-error rate, p99 latency)
 * plus a drift signal fed from outside (the monitor). When a rule fires, the canary leaves traffic at once,
 * its alias moves back in the registry (recorded in the registry's history) and an incident is recorded.
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
}

/**
 * Watches the canary and rolls it back when a rule fires.
 *
 * @example
 * const guard = new RollbackGuard(router, metrics, incidents, { maxErrorRate: 0.05 });
 * guard.observe('canary', '3', { ok: false, ms: 4 });
 */
export class RollbackGuard {
  private outcomes: { ok: boolean; ms: number }[] = [];
  private version: string | null = null;
  private tripping: Promise<void> | null = null;
  /** Rollbacks done, newest last. */
  readonly done: { rule: string; version: string; incident?: string; registry?: { from: number; to: number }; error?: string }[] = [];

  constructor(
    private readonly router: ModelRouter,
    private readonly metrics: ServeMetrics,
    private readonly incidents: IncidentRecorder | null,
    private readonly rules: RollbackRules = {},
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Records one finished request of `role`/`version` (`ok` false for a server error). */
  observe(role: string, version: string, o: { ok: boolean; ms: number }): void {
    if (role !== 'canary') return;
    if (version !== this.version) {
      this.version = version;
      this.outcomes = [];
    }
    this.outcomes.push(o);
    const w = this.rules.window ?? 200;
    if (this.outcomes.length > w) this.outcomes.splice(0, this.outcomes.length - w);
    if (this.outcomes.length < (this.rules.minRequests ?? 20)) return;
    const errors = this.outcomes.filter((x) => !x.ok).length / this.outcomes.length;
    const maxErr = this.rules.maxErrorRate ?? 0.05;
    if (errors > maxErr) {
      void this.trip('error-rate', `canary error rate ${errors.toFixed(3)} > ${maxErr} over ${this.outcomes.length} requests`, { errorRate: errors, requests: this.outcomes.length });
      return;
    }
    const p99Bound = this.rules.maxP99Ms ?? 0;
    if (p99Bound > 0) {
      const sorted = this.outcomes.map((x) => x.ms).sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
      if (p99 > p99Bound) void this.trip('p99-latency', `canary p99 latency ${p99.toFixed(1)} ms > ${p99Bound} ms over ${sorted.length} requests`, { p99Ms: p99, requests: sorted.length });
    }
  }

  /**
   * The drift hook: the monitor reports a drift score of the canary's traffic; over `threshold`, it rolls back.
   *
   * @example
   * await guard.reportDrift({ version: '3', score: 0.31, threshold: 0.2, details: { feature: 'age', test: 'psi' } });
   */
  async reportDrift(d: { version: string; score: number; threshold: number; details?: Record<string, unknown> }): Promise<boolean> {
    const cur = this.router.slots.canary?.model;
    if (!cur || cur.version !== d.version || !(d.score > d.threshold)) return false;
    await this.trip('drift', `canary drift ${d.score.toFixed(3)} > ${d.threshold}`, { score: d.score, threshold: d.threshold, ...d.details });
    return true;
  }

  /** Resolves when a rollback in progress is finished. */
  async settled(): Promise<void> {
    while (this.tripping) await this.tripping;
  }

  private trip(rule: string, title: string, details: Record<string, unknown>): Promise<void> {
    if (this.tripping) return this.tripping;
    const model = this.router.blockCanary();
    if (!model) return Promise.resolve();
    this.outcomes = [];
    this.version = null;
    this.metrics.rollbacks.inc({ rule });
    this.log(`rollback: ${title}; canary ${model.name}@${model.version} taken out of traffic`);
    this.tripping = (async () => {
      const rec: RollbackGuard['done'][number] = { rule, version: model.version };
      const ref = this.router.slots.canary!.ref;
      if (this.router.source.rollback && /@[A-Za-z]/.test(ref)) {
        try {
          rec.registry = await this.router.source.rollback(ref, title);
        } catch (e) {
          rec.error = (e as Error).message;
          this.log(`rollback: could not move ${ref} back: ${rec.error}`);
        }
      }
      const versions = [model.version, ...(rec.registry ? [String(rec.registry.to)] : [])];
      if (this.incidents) rec.incident = await this.incidents.record({ kind: 'rollback', title, model: model.name, versions, details: { rule, ref, ...details, ...(rec.error ? { rollbackError: rec.error } : {}) } });
      this.done.push(rec);
    })().finally(() => (this.tripping = null));
    return this.tripping;
  }
}
