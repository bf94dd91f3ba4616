/**
 * `switchyard ui` over HTTP on loopback: a real run directory written by `switchyard train`, the runs list and
 * run routes, run ids that try to leave the runs folder, token enforcement, server-sent events of lines
 * appended to metrics.jsonl, and promote/rollback forms recorded in the registry history with their reason.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { runDirOf } from '../../src/ui/runs.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { cli, expectBadInput, ROOT, tmp } from '../cli/helpers.ts';
import { registerTinyVersions, trainTinyRun } from './helpers.ts';

describe('switchyard ui over HTTP', () => {
  let dir: string;
  let runs: string;
  let registry: string;
  let ui: RunningUi;
  let base: string;

  beforeAll(async () => {
    dir = tmp('sy-ui-');
    runs = join(dir, 'runs');
    mkdirSync(runs);
    trainTinyRun(runs, 'tiny');
    registry = join(dir, 'registry');
    await registerTinyVersions(registry, [[join(runs, 'tiny'), 'first'], [join(runs, 'tiny'), 'second']]);
    ui = await startUi({ runs, registry, port: 0 });
    base = `http://127.0.0.1:${ui.port}`;
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the trained run with its kind, status, steps and best metric; serves its page, metrics and curve', async () => {
    const list: any = await (await fetch(`${base}/api/runs`)).json();
    expect(list.runs).toHaveLength(1);
    expect(list.runs[0]).toMatchObject({ id: 'tiny', kind: 'tabular-mlp', status: 'finished', steps: 3, bestMetric: 'validLoss' });
    expect(list.runs[0].bestValue).toBeGreaterThan(0);
    const { records }: any = await (await fetch(`${base}/api/runs/tiny/metrics`)).json();
    expect(records).toHaveLength(3);
    expect(list.runs[0].bestValue).toBe(Math.min(...records.map((r: { validLoss: number }) => r.validLoss)));
    const index = await fetch(`${base}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('href="/runs/tiny"');
    const page = await (await fetch(`${base}/runs/tiny`)).text();
    expect(page).toContain('&quot;kind&quot;: &quot;tabular-mlp&quot;');
    expect(page).toContain('<polyline class="sy-line"');
    expect(page).not.toMatch(/(src|href)="https?:/); // nothing from another host
    const js = await fetch(`${base}/charts.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('refuses run ids that leave the runs folder or name no run', async () => {
    for (const id of ['..', '.', '..%2F..%2Fetc', '%2E%2E', '.hidden', 'nope']) {
      const r = await fetch(`${base}/api/runs/${id}/metrics`);
      expect(r.status, id).toBe(404);
      // `..`, `.` and `%2E%2E` are resolved by the URL itself and match no route; the rest reach the run-id check.
      expect(((await r.json()) as any).error.code, id).toBe(['..', '.', '%2E%2E'].includes(id) ? 'E_NOT_FOUND' : 'E_RUN_ID');
    }
    expect(() => runDirOf(runs, '../runs/tiny')).toThrow(/not a directory name/);
    expect(runDirOf(runs, 'tiny')).toBe(join(runs, 'tiny'));
  });

  it('streams a line appended to metrics.jsonl as a server-sent event', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/runs/tiny/events`, { signal: ctl.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    text += new TextDecoder().decode((await reader.read()).value); // the opening comment: the watch is set up
    appendFileSync(join(runs, 'tiny', 'metrics.jsonl'), JSON.stringify({ epoch: 4, updates: 4, trainLoss: 0.5, validLoss: 0.4 }) + '\n');
    while (!text.includes('data: ')) {
      // A stream that ends without the event is a failure, not a loop: a done reader resolves at once forever.
      const { done, value } = await reader.read();
      if (done) throw new Error(`the event stream ended without the appended line; it sent: ${JSON.stringify(text)}`);
      text += new TextDecoder().decode(value);
    }
    ctl.abort();
    const line = text.split('\n').find((l) => l.startsWith('data: '))!;
    expect(JSON.parse(line.slice(6))).toMatchObject({ epoch: 4, trainLoss: 0.5 });
  }, 30_000);

  it('promotes and rolls back from the forms, through the registry, with the reason recorded', async () => {
    const form = (o: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(o), redirect: 'manual' as const });
    expect((await fetch(`${base}/registry/promote`, form({ name: 'tiny', alias: 'production', version: '1', reason: 'baseline' }))).status).toBe(303);
    expect((await fetch(`${base}/registry/promote`, form({ name: 'tiny', alias: 'production', version: '2', reason: 'better' }))).status).toBe(303);
    expect((await fetch(`${base}/registry/rollback`, form({ name: 'tiny', alias: 'production', reason: 'errors up' }))).status).toBe(303);
    const noReason = await fetch(`${base}/registry/rollback`, form({ name: 'tiny', alias: 'production', reason: ' ' }));
    expect(noReason.status).toBe(400);
    const crossSite = await fetch(`${base}/registry/rollback`, { ...form({ name: 'tiny', alias: 'production', reason: 'x' }), headers: { origin: 'http://evil.example' } });
    expect(crossSite.status).toBe(403);
    const reg = await openRegistry(registry);
    try {
      const h = await reg.history('tiny');
      expect(h.slice(-3).map((e) => [e.action, e.to, e.reason])).toEqual([['alias', 1, 'baseline'], ['alias', 2, 'better'], ['rollback', 1, 'errors up']]);
      expect(await reg.aliases('tiny')).toEqual({ production: 1 });
    } finally {
      await reg.close();
    }
    const page = await (await fetch(`${base}/registry`)).text();
    expect(page).toContain('errors up');
    expect(page).toContain('<b>production</b> &rarr; v1');
  });
});

describe('switchyard ui access token', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp('sy-ui-tok-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start beyond loopback without a token', async () => {
    await expect(startUi({ runs: dir, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'E_UI_TOKEN' });
  });

  it('checks the token on every request, pages, API, assets and events alike', async () => {
    const ui = await startUi({ runs: dir, port: 0, token: 'secret-token-1' });
    try {
      const base = `http://127.0.0.1:${ui.port}`;
      expect(ui.url).toBe(`${base}/?token=secret-token-1`);
      for (const p of ['/', '/api/runs', '/charts.js', '/registry', '/api/runs/x/events']) {
        expect((await fetch(`${base}${p}`)).status, p).toBe(401);
        expect((await fetch(`${base}${p}?token=secret-token-2`)).status, p).toBe(401);
      }
      expect((await fetch(ui.url)).status).toBe(200);
      expect((await fetch(`${base}/api/runs`, { headers: { authorization: 'Bearer secret-token-1' } })).status).toBe(200);
      expect(await (await fetch(ui.url)).text()).toContain('href="/ui.css?token=secret-token-1"');
    } finally {
      await ui.close();
    }
  });

  it('the CLI bound beyond loopback makes a one-time token, prints it in the URL and enforces it', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard-dev.js'), 'ui', '--runs', dir, '--host', '0.0.0.0', '--port', '0', '--json']);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => (out += d).includes('\n') && resolve(out.split('\n')[0]));
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const { url, port } = JSON.parse(line);
      const token = new URL(url).searchParams.get('token')!;
      expect(token.length).toBeGreaterThanOrEqual(20);
      expect((await fetch(`http://127.0.0.1:${port}/api/runs`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/api/runs?token=${token}`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);

  it('the CLI rejects a port or watch interval out of range (exit 2)', () => {
    expectBadInput(cli(['ui', '--runs', dir, '--port', '70000']), /--port/);
    expectBadInput(cli(['ui', '--runs', dir, '--watch-interval-ms', '10']), /--watch-interval-ms/);
  });
});
