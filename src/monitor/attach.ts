/**
 * Monitoring for `startServer`: finds the training reference (the given file, else the data file named in
 * the served version's lineage), computes the model's predictions on it, and starts a {@link Monitor} wired
 * to the server's incident log, rollback guard and canary slot.
 */
import { existsSync } from 'node:fs';
import type { Registry } from '../registry/registry.ts';
import type { RollbackGuard } from '../serve/guard.ts';
import type { ModelRouter } from '../serve/versions.ts';
import type { IncidentLog } from './incidents.ts';
import { Monitor, type MonitorOptions } from './monitor.ts';
import { loadReference, type Reference } from './reference.ts';

/**
 * Monitoring options of `startServer` (`switchyard serve --monitor`).
 *
 * @example
 * const m: ServeMonitorOptions = { reference: 'data/train.csv', rules: ['drift.share > 0.3 over 500 predictions'], webhook: 'https://hooks.example/ops' };
 */
export interface ServeMonitorOptions
  extends Pick<MonitorOptions, 'rules' | 'webhook' | 'canary' | 'driftShare' | 'evaluateEvery'>,
    Pick<MonitorOptions, 'intervalMs' | 'flushMs' | 'maxWindow'> {
  /** Reference data file (default: the training data named in the version's lineage, when it exists). */
  reference?: string;
}

/**
 * The training data path and target recorded in a version's lineage (`config.train.data`, `.target`).
 *
 * @example
 * lineageData((await registry.resolve('churn@production')).lineage); // { data: 'data/churn.csv', target: 'churned' }
 */
export function lineageData(lineage: Record<string, unknown>): { data?: string; target?: string } {
  const train = ((lineage.config as Record<string, unknown> | undefined)?.train ?? {}) as Record<string, unknown>;
  return { ...(typeof train.data === 'string' ? { data: train.data } : {}), ...(typeof train.target === 'string' ? { target: train.target } : {}) };
}

/**
 * Starts the monitor of a server.
 *
 * @example
 * const monitor = await attachMonitor({ reference: 'train.csv' }, { registry, router, guard, incidents, log });
 */
export async function attachMonitor(o: ServeMonitorOptions, s: { registry: Registry | null; router: ModelRouter; guard: RollbackGuard; incidents: IncidentLog; log: (line: string) => void }): Promise<Monitor> {
  const model = s.router.slots.primary.model!;
  let target: string | undefined;
  let path = o.reference;
  if (s.registry && /@/.test(s.router.slots.primary.ref)) {
    const lin = lineageData((await s.registry.resolve(s.router.slots.primary.ref)).lineage);
    target = lin.target;
    if (!path && lin.data && existsSync(lin.data)) path = lin.data;
  }
  let reference: Reference | null = null;
  if (path) reference = await loadReference(path, { fields: model.schema?.fields, target, model });
  else s.log('monitor: no reference data (pass --reference FILE); drift is off, feedback and accuracy are on');
  if (reference) s.log(`monitor: reference ${reference.source} (${reference.rows} rows; ${reference.columns.map((c) => `${c.name}:${c.type}`).join(', ')})`);
  return Monitor.open({ ...o, db: s.incidents.db, model: model.name, reference, incidents: s.incidents, guard: s.guard, canaryVersion: () => s.router.slots.canary?.model?.version, log: s.log });
}
