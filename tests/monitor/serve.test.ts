/**
 * Monitoring through the real server on loopback, on SQLite and PostgreSQL: a drift alert that stays quiet on
 * unshifted traffic and fires (webhook + incident) on shifted traffic, late labels → live accuracy, the
 * incident timeline, automatic rollback of a drifting canary, and the drift report (JSON + HTML).
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { driftReport, writeDriftReport } from '../../src/monitor/report.ts';
import { parseWindow } from '../../src/monitor/store.ts';
import { openRegistry, type Registry } from '../../src/registry/registry.ts';
import { hashApiKey } from '../../src/serve/auth.ts';
import { type RunningServer, startServer } from '../../src/serve/server.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli } from '../cli/helpers.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { get, post, tabularRun, tmp } from '../serve/helpers.ts';

const dir = tmp('sy-monitor-');
const KEY = 'k-monitor-1234567890';
const keysFile = join(dir, 'keys.json');
const auth = { authorization: `Bearer ${KEY}` };
let runs: { a: string; b: string };

/** Webhook receiver on loopback: collects the JSON bodies it gets. */
let hook: Server;
let hookUrl: string;
const received: any[] = [];

beforeAll(async () => {
  runs = { a: await tabularRun(dir, 0), b: await tabularRun(dir, 1) };
  (await import('node:fs')).writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'ops', sha256: hashApiKey(KEY) }] }));
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
}, 120_000);
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

/** Rows like the training data (x1, x2 ~ N(0, 1), colors uniform), or shifted (x1 ~ N(2.5, 1), all blue). */
function traffic(n: number, seed: number, shifted: boolean): Record<string, unknown>[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({ x1: rng.normal() + (shifted ? 2.5 : 0), x2: rng.normal(), color: shifted ? 'blue' : ['red', 'green', 'blue'][rng.int(3)], member: rng.next() < 0.5 }));
}

async function send(url: string, rows: Record<string, unknown>[], perRequest = 20): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < rows.length; i += perRequest) {
    const r = await post(`${url}/v1/predict`, { rows: rows.slice(i, i + perRequest) });
    expect(r.status).toBe(200);
    out.push(r.body);
  }
  return out;
}

describe.each(BACKENDS)('monitoring a served model on %s', (backend) => {
  let reg: Registry;
  let location: string;
  const servers: RunningServer[] = [];
  const serve = async (o: Partial<Parameters<typeof startServer>[0]>) => {
    const s = await startServer({ model: 'm@production', registry: location, port: 0, signals: false, pollMs: 0, log: () => {}, apiKeys: keysFile, ...o });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    location = await freshLocation(backend);
    reg = await openRegistry(location);
    await reg.register({ name: 'm', from: runs.a, by: 'test' });
    await reg.register({ name: 'm', from: runs.b, by: 'test' });
    await reg.setAlias('m', 'production', 1);
    await reg.setAlias('m', 'canary', 1);
    await reg.setAlias('m', 'canary', 2);
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.close();
    await reg?.close();
  });

  it('a drift alert stays quiet on unshifted traffic and fires on shifted traffic: webhook POST and an incident with a timeline', async () => {
    received.length = 0;
    const s = await serve({ monitor: { rules: ['drift.share > 0.3 over 200 predictions'], webhook: hookUrl, intervalMs: 0, evaluateEvery: 1e9 } });
    await send(s.url, traffic(200, 11, false));
    await s.monitor!.evaluate();
    const quiet = (await get(`${s.url}/v1/monitor?window=200`, auth)).body;
    expect(quiet.rows).toBe(200);
    expect(quiet.drift.features.map((f: { column: string; test: string }) => `${f.column}:${f.test}`)).toEqual(['x1:ks', 'x2:ks', 'color:chi-square', 'member:chi-square']);
    expect(quiet.drift.share).toBeLessThanOrEqual(0.3);
    expect(quiet.drift.prediction).toMatchObject({ test: 'chi-square', drifted: false });
    expect(s.monitor!.fired).toEqual([]);
    expect(received).toEqual([]);
    const log = await openIncidentLog(reg.db);
    expect(await log.list({ kind: 'alert' })).toEqual([]);

    await send(s.url, traffic(200, 12, true));
    await s.monitor!.evaluate();
    await s.monitor!.evaluate(); // still firing: no second alert
    const loud = (await get(`${s.url}/v1/monitor?window=200`, auth)).body;
    expect(loud.drift.features.filter((f: { drifted: boolean }) => f.drifted).map((f: { column: string }) => f.column)).toEqual(['x1', 'color']);
    expect(loud.drift.dataset).toBe(true);
    expect(loud.drift.prediction.drifted).toBe(true);
    expect(s.monitor!.fired).toHaveLength(1);
    expect(s.monitor!.fired[0].delivery).toMatchObject({ ok: true, status: 204 });
    const hits = received;
    expect(hits).toHaveLength(1);
    expect(hits[0].headers['content-type']).toBe('application/json');
    expect(hits[0].body).toMatchObject({ alert: 'drift.share > 0.3 over 200 predictions', status: 'firing', metric: 'drift.share', value: 0.5, threshold: 0.3, versions: ['1'], rows: 200 });

    const [inc] = await log.list({ kind: 'alert' });
    expect(inc).toMatchObject({ id: hits[0].body.incident, status: 'open', model: 'm', versions: ['1'], details: { driftedColumns: ['x1', 'color'] } });
    const open = (await get(`${s.url}/v1/monitor/incidents?status=open`, auth)).body.incidents;
    expect(open.map((i: { id: string }) => i.id)).toContain(inc.id);
    await log.acknowledge(inc.id, { by: 'alice', note: 'looking' });
    await log.link(inc.id, '2', { by: 'alice', note: 'retrained on recent data' });
    const done = await log.resolve(inc.id, { by: 'bob' });
    expect(done.status).toBe('resolved');
    expect(done.timeline.map((e) => [e.action, e.by, e.version ?? null])).toEqual([['opened', 'system', null], ['linked', 'system', '1'], ['acknowledged', 'alice', null], ['linked', 'alice', '2'], ['resolved', 'bob', null]]);
    expect(done.versions).toEqual(['1', '2']);
    await expect(log.acknowledge(inc.id)).rejects.toMatchObject({ code: 'E_INCIDENT_STATE' });

    // The report of the same window: JSON + HTML with charts.
    const report = await driftReport(reg, 'm@production', { window: parseWindow('200') });
    expect(report.reference).toMatchObject({ rows: 240, predictions: 'model' });
    expect(report.analysis.drift.dataset).toBe(true);
    const files = await writeDriftReport(report, join(dir, `report-${backend}`));
    const html = readFileSync(files.html, 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).toMatch(/x1: reference vs current \(ks/);
    expect(JSON.parse(readFileSync(files.json, 'utf8')).analysis.drift.share).toBe(0.5);
  }, 60_000);

  it('late labels through POST /v1/feedback give live accuracy and calibration', async () => {
    const s = await serve({ model: 'm@canary', monitor: { intervalMs: 0 } });
    const rows = traffic(60, 21, false);
    const bodies = await send(s.url, rows, 1);
    let correct = 0;
    for (let i = 0; i < rows.length; i++) {
      const truth = (rows[i].x1 as number) + (rows[i].x2 as number) > 0 ? 'yes' : 'no';
      if (bodies[i].predictions[0] === truth) correct++;
      expect(typeof bodies[i].id).toBe('string');
      const r = await post(`${s.url}/v1/feedback`, { id: bodies[i].id, label: truth }, auth);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ok: true, stored: 1, matched: 1 });
    }
    const m = (await get(`${s.url}/v1/monitor?window=60`, auth)).body;
    expect(m.live.labelled).toBe(60);
    expect(m.live.accuracy).toBeCloseTo(correct / 60, 12);
    expect(m.live.ece).toBeGreaterThanOrEqual(0);
    expect(m.live.ece).toBeLessThanOrEqual(1);
    // Bad feedback: 400 with a clear message; no key: 401.
    expect((await post(`${s.url}/v1/feedback`, { label: 'yes' }, auth)).body.error.code).toBe('E_BAD_FEEDBACK');
    expect((await post(`${s.url}/v1/feedback`, { id: bodies[0].id, label: { a: 1 } }, auth)).status).toBe(400);
    expect((await post(`${s.url}/v1/feedback`, { id: bodies[0].id, label: 'yes' })).status).toBe(401);
    await s.close();
  }, 60_000);

  it('a drifting canary is rolled back automatically: alias moved back, rollback incident in the same log', async () => {
    const s = await serve({ canary: 'm@canary', canaryWeight: 0.5, seed: 5, monitor: { intervalMs: 0, evaluateEvery: 20, canary: { window: '60', threshold: 0.3 } } });
    expect(s.router.slots.canary?.model?.version).toBe('2');
    await send(s.url, traffic(200, 31, false), 10);
    await s.monitor!.evaluate();
    expect(s.guard.done).toEqual([]); // unshifted traffic: the canary stays
    await send(s.url, traffic(200, 32, true), 10);
    await s.monitor!.evaluate();
    await s.guard.settled();
    expect(s.guard.done).toHaveLength(1);
    expect(s.guard.done[0]).toMatchObject({ rule: 'drift', version: '2', registry: { from: 2, to: 1 } });
    expect((await reg.aliases('m')).canary).toBe(1);
    const [inc] = await (await openIncidentLog(reg.db)).list({ kind: 'rollback', model: 'm' });
    expect(inc).toMatchObject({ id: s.guard.done[0].incident, status: 'open', versions: ['2', '1'], details: { rule: 'drift', ref: 'm@canary' } });
    expect(inc.timeline[0].action).toBe('opened');
  }, 60_000);

  if (backend === 'sqlite') {
    it('CLI: monitor report writes drift.json + drift.html (exit 3 with --fail-on-drift); incidents ack', async () => {
      const out = join(dir, 'cli-report');
      const r = cli(['monitor', 'report', '--registry', location, '--model', 'm@production', '--window', '200', '--out', out, '--json', '--fail-on-drift']);
      expect(r.code).toBe(3);
      expect(r.json).toMatchObject({ ok: true, dataset: true, drifted: ['x1', 'color'], rows: 200 });
      expect(readFileSync(join(out, 'drift.html'), 'utf8')).toMatch(/Drift report — m@1/);
      const bad = cli(['monitor', 'incidents', 'ack', '999', '--registry', location]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/no incident with id '999'/);
      const [inc] = await (await openIncidentLog(reg.db)).list({ kind: 'rollback', status: 'open' });
      expect(cli(['monitor', 'incidents', 'ack', inc.id, '--registry', location, '--by', 'carol']).stdout).toMatch(/acknowledged +carol/);
      expect((await (await openIncidentLog(reg.db)).get(inc.id)).status).toBe('acknowledged');
    }, 60_000);
  }
});
