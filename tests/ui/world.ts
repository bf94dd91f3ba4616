/**
 * A small real world for the dashboard's report, lineage and live tests: a trained run in a runs folder, an
 * audit and an evaluation of it written by the library into a reports folder, a registry version linking
 * them, the version served with the monitor (real HTTP on loopback) until an alert opens an incident, and the
 * drift report of that traffic.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runAudit } from '../../src/audit/run.ts';
import { runEval } from '../../src/eval/run.ts';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { driftReport, writeDriftReport } from '../../src/monitor/report.ts';
import { parseWindow } from '../../src/monitor/store.ts';
import { openRegistry } from '../../src/registry/registry.ts';
import { writeAuditReports } from '../../src/report/audit-report.ts';
import { writeEvalReports } from '../../src/report/eval-report.ts';
import { startServer } from '../../src/serve/server.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { Rng } from '../../src/util/rng.ts';
import { afterAll, beforeAll } from 'vitest';
import { tmp } from '../cli/helpers.ts';
import { post, tabularRun, writeTabularCsv } from '../serve/helpers.ts';

/**
 * Where everything is.
 */
export interface World {
  dir: string;
  runs: string;
  reports: string;
  registry: string;
  /** The id of the trained run in `runs`. */
  run: string;
  /** The incident the alert opened. */
  incident: string;
}

/** Rows like the training data of {@link tabularRun}, or shifted (x1 + 2.5, all blue). */
function traffic(n: number, seed: number, shifted: boolean): Record<string, unknown>[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({
    x1: rng.normal() + (shifted ? 2.5 : 0), x2: rng.normal(),
    color: shifted ? 'blue' : ['red', 'green', 'blue'][rng.int(3)], member: rng.next() < 0.5,
  }));
}

/** Builds the world in `dir` (a fresh temp directory). */
export async function buildWorld(dir: string): Promise<World> {
  const runs = join(dir, 'runs');
  const reports = join(dir, 'reports');
  const registry = join(dir, 'registry');
  mkdirSync(runs);
  const runDir = await tabularRun(runs, 0);
  const data = join(runs, 'data-0.csv');
  const test = writeTabularCsv(join(dir, 'test.csv'), 120, 9);
  const quiet = { progress: { enabled: false } };
  const audit = await runAudit({ data, target: 'label', labelIssues: false, ...quiet });
  await writeAuditReports(join(reports, 'audit'), audit);
  const evaluation = await runEval({
    model: runDir, data: test, resamples: 50, corruptions: false, threads: 1, ...quiet,
  });
  await writeEvalReports(join(reports, 'eval'), evaluation);
  const reg = await openRegistry(registry);
  try {
    const links = { audit: join(reports, 'audit'), eval: join(reports, 'eval') };
    await reg.register({ name: 'tiny', from: runDir, reason: 'first', links });
    await reg.setAlias('tiny', 'production', 1, { reason: 'first release' });
  } finally {
    await reg.close();
  }
  const server = await startServer({
    model: 'tiny@production', registry, port: 0, signals: false, pollMs: 0, log: () => {},
    monitor: { rules: ['drift.share > 0.3 over 100 predictions'], intervalMs: 0, evaluateEvery: 1e9 },
  });
  try {
    for (const [seed, shifted] of [[1, false], [2, false], [3, true], [4, true]] as const) {
      const r = await post(`${server.url}/v1/predict`, { rows: traffic(50, seed, shifted) });
      if (r.status !== 200) throw new Error(`predict answered ${r.status}`);
    }
    await server.monitor!.evaluate();
  } finally {
    await server.close();
  }
  const reg2 = await openRegistry(registry);
  try {
    const drift = await driftReport(reg2, 'tiny@production', { window: parseWindow('200') });
    await writeDriftReport(drift, join(reports, 'drift'));
    const [incident] = await (await openIncidentLog(reg2.db)).list({ status: 'open' });
    if (!incident) throw new Error('the drift alert opened no incident');
    return { dir, runs, reports, registry, run: 'run-0', incident: incident.id };
  } finally {
    await reg2.close();
  }
}

/** A world and the dashboard serving it. */
export interface ServedWorld {
  w: World;
  ui: RunningUi;
  base: string;
}

/**
 * Builds a world before the tests of the enclosing `describe` (after `prepare`, e.g. more reports) and serves it
 * with `startUi` on a free loopback port; removes both after. Returns a getter for the tests.
 */
export function servedWorld(prefix: string, prepare?: (w: World) => Promise<void>): () => ServedWorld {
  let state: ServedWorld | undefined;
  beforeAll(async () => {
    const w = await buildWorld(tmp(prefix));
    await prepare?.(w);
    const ui = await startUi({ runs: w.runs, registry: w.registry, reports: w.reports, port: 0 });
    state = { w, ui, base: `http://127.0.0.1:${ui.port}` };
  }, 180_000);
  afterAll(async () => {
    await state?.ui.close();
    if (state) rmSync(state.w.dir, { recursive: true, force: true });
  });
  return () => state!;
}
