/**
 * The monitor's request log through a real server on loopback: good requests, bad JSON, input the schema refuses
 * and a model that fails inside ONNX Runtime, each logged with its status, error code, alias, version and sample
 * rate; `switchyard monitor report` and the dashboard's live page show the same error and rejected rates per
 * alias; a sample rate below 1 logs a request and its predictions on one draw; and a log of format 1 (before the
 * request log) still reads, its numbers shown as not recorded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeWindow } from '../../src/monitor/analysis.ts';
import { migrateMonitor, MONITOR_LOG_FORMAT, parseWindow, PredictionLog, readRequests, readWindow, type RequestRecord } from '../../src/monitor/store.ts';
import { aliasTraffic, requestStats } from '../../src/monitor/traffic.ts';
import { openRegistry } from '../../src/registry/registry.ts';
import { startServer } from '../../src/serve/server.ts';
import { startUi } from '../../src/ui/server.ts';
import { UI_CSP } from '../../src/ui/static.ts';
import { cli, expectOk } from '../cli/helpers.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { failingOnnx, post, row, tabularRun, tmp } from '../serve/helpers.ts';

const dir = tmp('sy-request-log-');
const registry = join(dir, 'registry');
/** What each client saw: the version that answered (x-model-version), the status and the error code. */
const seen: { version: string | null; status: number; code: string | null }[] = [];

beforeAll(async () => {
  const good = await tabularRun(dir, 0);
  const failing = await failingOnnx(good, join(dir, 'failing.onnx'));
  const reg = await openRegistry(registry);
  await reg.register({ name: 'm', from: good, by: 'test' });
  await reg.register({ name: 'm', from: failing, by: 'test' });
  await reg.setAlias('m', 'production', 1);
  await reg.setAlias('m', 'canary', 2);
  await reg.close();
  const server = await startServer({
    model: 'm@production', canary: 'm@canary', canaryWeight: 0.5, registry, port: 0, signals: false, pollMs: 0,
    log: () => {}, rollback: { minRequests: 1000 }, monitor: { intervalMs: 0, evaluateEvery: 1e9 },
  });
  try {
    const bodies = [
      ...Array.from({ length: 8 }, (_, i) => ({ rows: [row(0.1 * i - 0.4)] })), // good on both versions
      ...Array.from({ length: 4 }, () => ({ rows: [{ ...row(), x1: 'not a number' }] })), // 400: the schema refuses
      ...Array.from({ length: 6 }, () => ({ rows: [row(50)] })), // 500 on the failing canary, 200 on production
      '{"rows": [', // 400: bad JSON, refused before a version is picked
    ];
    for (const body of bodies) {
      const r = await post(`${server.url}/v1/predict`, body);
      seen.push({ version: r.headers.get('x-model-version'), status: r.status, code: r.body?.error?.code ?? null });
    }
  } finally {
    await server.close();
  }
}, 180_000);

const versionAlias: Record<string, string> = { 1: 'production', 2: 'canary' };
/** What the clients saw of one alias: requests, 5xx, 4xx and the codes. */
function observed(alias: string | null) {
  const mine = seen.filter((s) => (s.version ? versionAlias[s.version] : null) === alias);
  const codes: Record<string, number> = {};
  for (const s of mine) if (s.code) codes[s.code] = (codes[s.code] ?? 0) + 1;
  const errors = mine.filter((s) => s.status >= 500).length;
  const rejected = mine.filter((s) => s.status >= 400 && s.status < 500).length;
  return { requests: mine.length, errors, rejected, codes };
}

describe('the request log', () => {
  it('logs every request with its status, error code, alias, version and sample rate', async () => {
    expect(seen.map((s) => s.status).sort()).toEqual(expect.arrayContaining([200, 400, 500]));
    expect(observed('canary').errors).toBeGreaterThan(0); // the forced model error happened
    expect(observed('production').requests).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual({ version: null, status: 400, code: 'E_BAD_JSON' });
    const reg = await openRegistry(registry);
    try {
      const reqs = await readRequests(reg.db, { model: 'm', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' });
      expect(reqs.map((r) => [r.version, r.status, r.code])).toEqual(seen.map((s) => [s.version, s.status, s.code]));
      expect(reqs.map((r) => r.alias)).toEqual(seen.map((s) => (s.version ? versionAlias[s.version] : null)));
      expect(reqs.every((r) => r.sampleRate === 1)).toBe(true);
      expect(reqs.at(-1)).toMatchObject({ alias: null, version: null, role: null, rows: 0, code: 'E_BAD_JSON' });
      expect(reqs.filter((r) => r.status >= 500).map((r) => r.code)).toEqual(
        seen.filter((s) => s.status >= 500).map((s) => s.code));
      // Predictions carry the alias too; the answered requests' ids are the ids of the logged rows.
      const rows = await readWindow(reg.db, { model: 'm', window: parseWindow('1h') });
      expect(new Set(rows.map((r) => r.alias))).toEqual(new Set(['production', 'canary'].filter((a) => observed(a).requests > observed(a).errors + observed(a).rejected)));
      expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set(reqs.filter((r) => r.status === 200).map((r) => r.id)));
    } finally {
      await reg.close();
    }
  });

  it('monitor report and the live page show the error rate (5xx) and rejected rate (4xx) per alias', async () => {
    const out = join(dir, 'report');
    const r = expectOk(cli(['monitor', 'report', '--registry', registry, '--model', 'm@production', '--window', '1h', '--out', out, '--json']));
    const byAlias = Object.fromEntries(r.traffic.aliases.map((a: any) => [a.alias, a]));
    for (const alias of ['production', 'canary']) {
      const o = observed(alias);
      const t = byAlias[alias].overall.traffic;
      expect(t, alias).toMatchObject({ logged: o.requests, errors: o.errors, rejected: o.rejected, codes: o.codes, sampleRates: [1] });
      expect(t.errorRate).toBeCloseTo(o.errors / o.requests, 12);
      expect(t.rejectedRate).toBeCloseTo(o.rejected / o.requests, 12);
      expect(byAlias[alias].slices).toHaveLength(6);
      expect(byAlias[alias].slices.reduce((s: number, x: any) => s + x.requests, 0)).toBe(o.requests);
    }
    expect(byAlias.production.overall.drift.length).toBeGreaterThan(0); // the reported version's reference
    expect(r.traffic.unrouted).toMatchObject({ logged: 1, rejected: 1, codes: { E_BAD_JSON: 1 } });
    const text = cli(['monitor', 'report', '--registry', registry, '--model', 'm@production', '--window', '1h', '--out', out]);
    const pct = (v: number) => `${+(v * 100).toPrecision(3)}%`;
    const c = byAlias.canary.overall.traffic;
    expect(text.stdout).toContain(`canary → v2: ${c.logged} logged requests`);
    expect(text.stdout).toContain(`errors ${pct(c.errorRate)}  rejected ${pct(c.rejectedRate)}`);
    expect(text.stdout).toContain('refused before a version was picked: 1 (E_BAD_JSON 1)');
    const html = readFileSync(join(out, 'drift.html'), 'utf8');
    expect(html).toContain('Traffic by alias');
    expect(html).toContain(`<td>whole window</td><td class="num">${c.logged}</td>`);

    const ui = await startUi({ runs: dir, registry, port: 0 });
    try {
      const base = `http://127.0.0.1:${ui.port}`;
      const live: any = await (await fetch(`${base}/api/live?window=1h`)).json();
      const [model] = live.models;
      for (const a of model.aliases) {
        expect(a.overall.traffic, a.alias).toEqual(byAlias[a.alias].overall.traffic);
        expect(a.overall.p99).toBe(byAlias[a.alias].overall.p99);
      }
      expect(model.unrouted).toEqual(r.traffic.unrouted);
      const res = await fetch(`${base}/live?window=1h`);
      expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
      const page = await res.text();
      const canary = byAlias.canary.overall.traffic;
      expect(page).toContain(`<td>${pct(canary.errorRate)}</td><td>${pct(canary.rejectedRate)}</td>`);
      expect(page).toContain('<td>error rate (5xx)</td>');
      expect(page).toContain('1 logged request(s) refused before a version was picked: E_BAD_JSON 1.');
      expect(page).toContain('<div class="charts live-charts" id="live-charts-m-canary"></div>');
      expect(page).toMatch(/<script defer src="\/live\.js"><\/script>/);
      expect(page).not.toContain('not recorded');
      const block = /<script type="application\/json" id="live-charts-data">(.*?)<\/script>/s.exec(page)![1];
      const charts = JSON.parse(block);
      const canaryCharts = charts.find((g: any) => g.target === 'live-charts-m-canary').charts;
      const errors = canaryCharts.find((c: any) => c.id === 'errors');
      const seenShare = byAlias.canary.slices.map((s: any) => (s.requests ? s.traffic.errorRate * 100 : null));
      expect(errors.series[0].values).toEqual(seenShare);
      const script = await fetch(`${base}/live.js`);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect(await script.text()).toContain('live-charts-data');
    } finally {
      await ui.close();
    }
  }, 120_000);

  it('below a sample rate of 1, a request and its predictions are logged on one draw, with the rate', async () => {
    const sampled = join(dir, 'sampled-registry');
    const reg = await openRegistry(sampled);
    await reg.register({ name: 's', from: join(dir, 'run-0'), by: 'test' });
    await reg.setAlias('s', 'production', 1);
    await reg.close();
    const server = await startServer({
      model: 's@production', registry: sampled, port: 0, signals: false, pollMs: 0, log: () => {}, sampleRate: 0.5,
      seed: 3, monitor: { intervalMs: 0, evaluateEvery: 1e9 },
    });
    try {
      for (let i = 0; i < 30; i++) await post(`${server.url}/v1/predict`, i % 3 ? { rows: [row()] } : { rows: [{ x1: 'x' }] });
    } finally {
      await server.close();
    }
    const again = await openRegistry(sampled);
    try {
      const reqs = await readRequests(again.db, { model: 's', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' });
      expect(reqs.length).toBeGreaterThan(0);
      expect(reqs.length).toBeLessThan(30);
      expect(reqs.every((r) => r.sampleRate === 0.5)).toBe(true);
      expect(requestStats(reqs).estimated).toBe(reqs.length * 2);
      const rows = await readWindow(again.db, { model: 's', window: parseWindow('1h') });
      expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set(reqs.filter((r) => r.status === 200).map((r) => r.id)));
    } finally {
      await again.close();
    }
  }, 60_000);
});

describe('a log of format 1 (before the request log)', () => {
  const old = join(dir, 'old-registry');
  beforeAll(async () => {
    const reg = await openRegistry(old);
    await reg.register({ name: 'o', from: join(dir, 'run-0'), by: 'test' });
    await reg.setAlias('o', 'production', 1);
    // The tables and rows exactly as a server of log format 1 wrote them.
    const cols = 'request_id TEXT NOT NULL, row_index INTEGER NOT NULL, at TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, role TEXT NOT NULL, latency_ms REAL NOT NULL, input TEXT NOT NULL, prediction TEXT NOT NULL, probs TEXT, UNIQUE (request_id, row_index)';
    await reg.db.migrate('monitor-store-1', [
      `CREATE TABLE monitor_predictions (seq INTEGER PRIMARY KEY AUTOINCREMENT, ${cols})`,
      'CREATE TABLE monitor_feedback (request_id TEXT NOT NULL, row_index INTEGER NOT NULL, label TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (request_id, row_index))',
      'CREATE INDEX monitor_predictions_model ON monitor_predictions (model, seq)',
      'CREATE INDEX monitor_predictions_at ON monitor_predictions (model, at)',
    ]);
    const at = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 3; i++) {
      await reg.db.exec('INSERT INTO monitor_predictions (request_id, row_index, at, model, version, role, latency_ms, input, prediction, probs) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9)',
        [`old-${i}`, at, 'o', '1', 'primary', 2 + i, JSON.stringify(row()), JSON.stringify('yes'), JSON.stringify({ p: [0.3, 0.7], c: ['no', 'yes'] })]);
    }
    await reg.close();
  }, 60_000);

  it('is upgraded in place and reads: rows without an alias, the request numbers not recorded', async () => {
    const ui = await startUi({ runs: dir, registry: old, port: 0 }); // the live page upgrades the log it reads
    try {
      const page = await (await fetch(`http://127.0.0.1:${ui.port}/live`)).text();
      expect(page).toContain('<span class="not-recorded">not recorded</span>');
      expect(page).toContain('logs of format 1');
    } finally {
      await ui.close();
    }
    const reg = await openRegistry(old);
    try {
      await migrateMonitor(reg.db); // again: a no-op
      expect(MONITOR_LOG_FORMAT).toBe(2);
      const rows = await readWindow(reg.db, { model: 'o', window: parseWindow('1h') });
      expect(rows.map((r) => [r.requestId, r.alias, r.version, r.latencyMs])).toEqual([['old-0', null, '1', 2], ['old-1', null, '1', 3], ['old-2', null, '1', 4]]);
      const t = await aliasTraffic(reg.db, { model: 'o', alias: 'production', version: 1, window: parseWindow('1h'), reference: null });
      expect(t.overall).toMatchObject({ rows: 3, requests: 3, traffic: null, p99: analyzeWindow(null, rows).latency.p99 });
      expect(t.overall.perMinute).toBeCloseTo(3 / 60, 10);
    } finally {
      await reg.close();
    }
  }, 60_000);
});

describe.each(BACKENDS)('the log on %s', (backend) => {
  it('writes predictions and requests in one statement each and reads them back as written', async () => {
    const reg = await openRegistry(await freshLocation(backend));
    try {
      await migrateMonitor(reg.db);
      const log = new PredictionLog(reg.db, { flushMs: 10_000 });
      const at = new Date().toISOString();
      const text = 'quote \' and "double", <tag>, ünïcode';
      const requests: RequestRecord[] = [
        { id: 'a', model: 'm', alias: 'production', version: '3', role: 'primary', status: 200, code: null, latencyMs: 1.25, rows: 2, sampleRate: 0.1, at },
        { id: 'b', model: 'm', alias: null, version: null, role: null, status: 400, code: 'E_BAD_JSON', latencyMs: 0.5, rows: 0, sampleRate: 0.1, at },
      ];
      log.add({ id: 'a', model: 'm', alias: 'production', version: '3', role: 'primary', inputs: [{ x1: 1.5, c: text }, { x1: -2, c: null }], outputs: { predictions: ['yes', 7], probabilities: [[0.25, 0.75], [0.5, 0.5]], classes: ['no', 'yes'] }, latencyMs: 1.25, at });
      for (const r of requests) log.addRequest(r);
      await log.flush();
      const window = { kind: 'count', n: 10 } as const;
      expect(await readRequests(reg.db, { model: 'm', from: at, to: at })).toEqual(requests);
      const rows = await readWindow(reg.db, { model: 'm', window });
      expect(rows.map((r) => [r.requestId, r.row, r.alias, r.version, r.latencyMs, r.input, r.prediction, r.probabilities, r.classes])).toEqual([
        ['a', 0, 'production', '3', 1.25, { x1: 1.5, c: text }, 'yes', [0.25, 0.75], ['no', 'yes']],
        ['a', 1, 'production', '3', 1.25, { x1: -2, c: null }, 7, [0.5, 0.5], ['no', 'yes']],
      ]);
      expect(await readWindow(reg.db, { model: 'm', window, alias: { name: 'canary', orVersion: '3' } })).toEqual([]);
    } finally {
      await reg.close();
    }
  }, 60_000);
});
