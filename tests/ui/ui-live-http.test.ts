/**
 * `switchyard ui` live page over HTTP on loopback, on traffic a real server logged with --monitor: per alias
 * the version, request rate, p99 latency and per-feature drift (equal to the drift report of the same window),
 * the error rate from the request log; incidents acknowledged and resolved by form through the incident log,
 * with who and why in the timeline the CLI shows; cross-origin posts, bad windows and the token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { defaultUser, openRegistry } from '../../src/registry/registry.ts';
import { startUi } from '../../src/ui/server.ts';
import { cli, expectOk } from '../cli/helpers.ts';
import { servedWorld, type World } from './world.ts';

describe('switchyard ui: live', () => {
  const world = servedWorld('sy-ui-live-');
  let w: World;
  let base: string;
  const form = (o: Record<string, string>, headers: Record<string, string> = {}) =>
    ({ method: 'POST', body: new URLSearchParams(o), redirect: 'manual' as const, headers });
  beforeEach(() => ({ w, base } = world()));

  it('per alias: version, request rate, p99 and drift per feature, as the drift report has them', async () => {
    const drift = JSON.parse(readFileSync(join(w.reports, 'drift', 'drift.json'), 'utf8'));
    const live: any = await (await fetch(`${base}/api/live?window=200`)).json();
    expect(live.logged).toBe(true);
    const [model] = live.models;
    expect(model.name).toBe('tiny');
    const [a] = model.aliases;
    expect(a).toMatchObject({ alias: 'production', version: 1, capped: false });
    expect(a.overall).toMatchObject({ rows: 200, requests: 4, p99: drift.analysis.latency.p99 });
    const stats = (fs: any[]) => fs.map((f) => [f.column, f.test, f.statistic, f.drifted]);
    expect(stats(a.overall.drift)).toEqual(stats(drift.analysis.drift.features));
    expect(a.overall.drift.filter((f: any) => f.drifted).length).toBeGreaterThan(0); // the shifted half
    expect(a.slices).toHaveLength(6);
    expect(a.slices.reduce((s: number, x: any) => s + x.rows, 0)).toBe(200);
    expect(a.slices.reduce((s: number, x: any) => s + x.requests, 0)).toBe(4);
    const hour: any = await (await fetch(`${base}/api/live?window=1h`)).json();
    expect(hour.models[0].aliases[0].overall.perMinute).toBeCloseTo(4 / 60, 10);
    expect(a.overall.traffic).toMatchObject({ logged: 4, errors: 0, errorRate: 0, rejectedRate: 0, sampleRates: [1] });
    const page = await (await fetch(`${base}/live`)).text();
    expect(page).not.toContain('not recorded'); // the request log records error rate, alias and sample rate
    expect(page).toContain('href="/registry/tiny/1">v1</a>');
    expect(page).toMatch(/drift: x1<\/td>.*drifted/);
    expect(page).not.toMatch(/(src|href|action)="https?:/);
  });

  it('acknowledges and resolves an incident by form, through the incident log, with who and why recorded', async () => {
    const page = await (await fetch(`${base}/live`)).text();
    expect(page).toContain(`id="incident-${w.incident}"`);
    const ack = (o: Record<string, string>, h?: Record<string, string>) =>
      fetch(`${base}/live/incidents/acknowledge`, form(o, h));
    expect((await ack({ id: w.incident, note: ' ' })).status).toBe(400);
    expect((await ack({ id: w.incident, note: 'x' }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await ack({ id: '999', note: 'x' })).status).toBe(404);
    expect((await ack({ id: '../1', note: 'x' })).status).toBe(404);
    const done = await ack({ id: w.incident, note: 'looking into the shift' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/live#incident-${w.incident}`);
    const again = await ack({ id: w.incident, note: 'twice' });
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error.code).toBe('E_INCIDENT_STATE');
    const resolved = await fetch(`${base}/live/incidents/resolve`, form({ id: w.incident, note: 'retrained' }));
    expect(resolved.status).toBe(303);
    const shown = expectOk(cli(['monitor', 'incidents', 'show', w.incident, '--registry', w.registry, '--json']));
    expect(shown.incident.status).toBe('resolved');
    expect(shown.incident.timeline.slice(-2).map((e: any) => [e.action, e.by, e.note])).toEqual([
      ['acknowledged', defaultUser(), 'looking into the shift'], ['resolved', defaultUser(), 'retrained'],
    ]);
    const after = await (await fetch(`${base}/live`)).text();
    expect(after).toContain('Open incidents (0)');
    expect(after).toMatch(new RegExp(`<td>${w.incident}</td>`));
  }, 60_000);

  it('refuses a window that is neither a count nor a duration', async () => {
    const r = await fetch(`${base}/live?window=forever`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.code).toBe('E_WINDOW');
  });

  it('over a registry that never served, shows nothing logged and creates no monitor tables', async () => {
    const empty = join(w.dir, 'empty-registry');
    const reg = await openRegistry(empty);
    await reg.register({ name: 'quiet', from: join(w.runs, w.run) });
    await reg.close();
    const quiet = await startUi({ runs: w.runs, registry: empty, port: 0 });
    try {
      const page = await (await fetch(`http://127.0.0.1:${quiet.port}/live`)).text();
      expect(page).toContain('Nothing logged yet');
      expect(page).toContain('Open incidents (0)');
    } finally {
      await quiet.close();
    }
    const again = await openRegistry(empty);
    await expect(again.db.query('SELECT 1 FROM monitor_predictions')).rejects.toThrow();
    await expect(again.db.query('SELECT 1 FROM monitor_incidents')).rejects.toThrow();
    await again.close();
  });

  it('beyond loopback the live page, its API and its forms need the token', async () => {
    const tok = await startUi({ runs: w.runs, registry: w.registry, port: 0, token: 'tok-live-1' });
    try {
      const b = `http://127.0.0.1:${tok.port}`;
      for (const p of ['/live', '/api/live']) {
        expect((await fetch(`${b}${p}`)).status, p).toBe(401);
        expect((await fetch(`${b}${p}?token=tok-live-2`)).status, p).toBe(401);
        expect((await fetch(`${b}${p}?token=tok-live-1`)).status, p).toBe(200);
      }
      const log = await openRegistry(w.registry).then(async (r) => {
        const incident = { kind: 'alert', title: 'token test', model: 'tiny', versions: ['1'], details: {} };
        const id = await (await openIncidentLog(r.db)).record(incident);
        await r.close();
        return id;
      });
      expect((await fetch(`${b}/live/incidents/acknowledge`, form({ id: log, note: 'no token' }))).status).toBe(401);
      const ok = await fetch(`${b}/live/incidents/acknowledge?token=tok-live-1`, form({ id: log, note: 'with token' }));
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe(`/live?token=tok-live-1#incident-${log}`);
      const page = await (await fetch(`${b}/live?token=tok-live-1`)).text();
      expect(page).toContain('action="/live/incidents/resolve?token=tok-live-1"');
    } finally {
      await tok.close();
    }
  });
});
