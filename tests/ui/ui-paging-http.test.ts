/**
 * Server-side paging of the dashboard over HTTP on loopback: the runs table and `GET /api/runs` filtered and
 * sorted over every run before a page is cut (so a filter finds a run on any page), page links that keep the
 * state in the URL, a model's versions and history paged on its registry page and in
 * `GET /api/registry/NAME/versions`, bad paging parameters answered 400, the compare cap, and the flags' ranges.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { runsPage } from '../../src/ui/pages.ts';
import { queryRuns, runsQuery } from '../../src/ui/runs-query.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';
import { penguinsRun } from '../registry/fixtures.ts';

/** Seven run directories: `r0`..`r6`, `r<i>` with 1 + (i * 3) % 7 records (all steps distinct), lm runs odd. */
function writeRuns(root: string): void {
  for (let i = 0; i < 7; i++) {
    const dir = join(root, `r${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ kind: i % 2 ? 'gpt-lm' : 'tabular-mlp' }));
    const lines = Array.from({ length: 1 + ((i * 3) % 7) },
      (_, e) => JSON.stringify({ step: e + 1, trainLoss: 1 / (e + i + 1) }));
    writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  }
}

describe('switchyard ui paging over HTTP', () => {
  let dir: string;
  let ui: RunningUi;
  let base: string;
  let fixtureDir: string;
  const get = async (path: string, accept = '*/*') => {
    const r = await fetch(`${base}${path}`, { headers: { accept } });
    return { status: r.status, text: await r.text() };
  };
  const json = async (path: string) => JSON.parse((await get(path)).text);

  beforeAll(async () => {
    dir = tmp('sy-ui-paging-');
    const runs = join(dir, 'runs');
    mkdirSync(runs);
    writeRuns(runs);
    const fx = await penguinsRun();
    fixtureDir = dirname(fx.run);
    const registry = join(dir, 'registry');
    const reg = await openRegistry(registry);
    try {
      for (let v = 1; v <= 5; v++) await reg.register({ name: 'peng', from: fx.onnx, reason: `version ${v}` });
      await reg.setAlias('peng', 'production', 2, { reason: 'second is best' });
    } finally {
      await reg.close();
    }
    ui = await startUi({ runs, registry, port: 0, pageSize: 3, compareMax: 3 });
    base = `http://127.0.0.1:${ui.port}`;
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    for (const d of [dir, fixtureDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('GET /api/runs pages by offset and limit, sorted and filtered over every run', async () => {
    expect(await json('/api/runs')).toMatchObject({ total: 7, offset: 0, limit: 3 });
    expect((await json('/api/runs')).runs.map((r: any) => r.id)).toEqual(['r0', 'r1', 'r2']);
    expect((await json('/api/runs?offset=6')).runs.map((r: any) => r.id)).toEqual(['r6']);
    // steps of r0..r6: 1, 4, 7, 3, 6, 2, 5 — the most steps first, across all pages
    const bySteps = await json('/api/runs?sort=steps&order=desc&limit=7');
    expect(bySteps.runs.map((r: any) => r.steps)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const second = await json('/api/runs?sort=steps&order=desc&offset=3');
    expect(second.runs.map((r: any) => r.id)).toEqual(['r1', 'r3', 'r5']);
    const lm = await json('/api/runs?q=GPT&sort=bestValue');
    expect([lm.total, lm.runs.map((r: any) => r.id)]).toEqual([3, ['r5', 'r3', 'r1']]); // best 1/7 < 1/6 < 1/5
    expect(await json('/api/runs?offset=70')).toMatchObject({ runs: [], total: 7 });
  });

  it('the runs page shows one page, its page links and sort links keep the filter and sort in the URL', async () => {
    const first = (await get('/?sort=steps&order=desc')).text;
    expect(first).toContain('Runs (7)');
    expect(first.match(/<a href="\/runs\/(r\d)"/g)).toEqual(['r2', 'r4', 'r6'].map((r) => `<a href="/runs/${r}"`));
    expect(first).toContain('runs 1–3 of 7');
    expect(first).toContain('<a href="/?sort=steps&amp;order=desc&amp;offset=3" rel="next">next</a>');
    expect(first).toContain('<a href="/?sort=steps&amp;order=desc&amp;offset=6">last</a>');
    expect(first).not.toContain('rel="prev"');
    expect(first).toContain('<th scope="col" aria-sort="descending">'
      + '<a href="/?sort=steps&amp;order=asc">steps ▼</a>');
    const filtered = (await get('/?q=lm&offset=2&limit=2')).text; // r1 r3 | r5
    expect(filtered.match(/<a href="\/runs\/(r\d)"/g)).toEqual(['<a href="/runs/r5"']);
    expect(filtered).toContain('<a href="/?q=lm&amp;limit=2" rel="prev">previous</a>');
    expect(filtered).toContain('runs 3–3 of 3');
    expect(filtered).toContain('value="lm"'); // the filter box keeps the text
    expect((await get('/?q=nothing-like-this')).text).toContain('No run matches the filter.');
  });

  it('answers bad paging and sort parameters 400 naming the parameter; a browser gets a page', async () => {
    for (const [q, pattern] of [['offset=-1', /\?offset=/], ['limit=0', /\?limit=/], ['limit=1001', /<= 1000/],
      ['offset=2.5', /whole number/], ['sort=size', /\?sort=/], ['order=up', /\?order=/]] as const) {
      const r = await get(`/api/runs?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.text).error, q).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(pattern) });
    }
    const page = await get('/?limit=abc', 'text/html');
    expect(page.status).toBe(400);
    expect(page.text).toContain('<p id="error" role="alert">?limit=&quot;abc&quot;: must be a whole number'
      + ' &gt;= 1 and &lt;= 1000');
  });

  it("pages a model's versions and history, newest first, on its page and in its versions API", async () => {
    const api = await json('/api/registry/peng/versions?offset=1&limit=2');
    expect([api.total, api.offset, api.limit, api.versions.map((v: any) => v.version)]).toEqual([5, 1, 2, [4, 3]]);
    expect(api.versions.map((v: any) => [v.reason, v.artefacts.length])).toEqual([['version 4', 1], ['version 3', 1]]);
    const overview = (await get('/registry')).text;
    expect(overview.match(/>v\d<\/a><\/td>/g)).toEqual(['>v5</a></td>', '>v4</a></td>', '>v3</a></td>']);
    expect(overview).toContain('<a href="/registry/peng?offset=3" rel="next">next</a>');
    expect(overview).toContain('<option value="5">v5</option>'); // the promote form still offers every version
    const second = (await get('/registry/peng?offset=3')).text;
    expect(second.match(/>v\d<\/a><\/td>/g)).toEqual(['>v2</a></td>', '>v1</a></td>']);
    // the history pager keeps the versions page: 6 entries (5 registrations, 1 alias), newest first
    expect(second).toContain('<a href="/registry/peng?offset=3&amp;history=3" rel="next">next</a>');
    expect(second).toMatch(/<td>alias<\/td><td>production<\/td><td>2<\/td><td>second is best<\/td>/);
    const older = (await get('/registry/peng?history=3')).text;
    expect(older).not.toContain('second is best');
    expect(older).toContain('version 3');
    expect((await get('/registry/nope')).status).toBe(404);
    expect((await get('/api/registry/peng/versions?limit=x')).status).toBe(400);
  });

  it('caps compare at compareMax runs with a clear message', async () => {
    const r = await get('/compare?runs=r0,r1,r2,r3');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toMatchObject({ code: 'E_USAGE', message: 'compare shows at most 3 runs, got 4' });
    expect(JSON.parse(r.text).error.hint).toContain('--compare-max');
    expect((await get('/compare?runs=r0,r1,r2,r3', 'text/html')).text).toContain('compare shows at most 3 runs, got 4');
    expect((await get('/compare?runs=r0,r1,r2')).status).toBe(200);
  });

  it('links and forms of a dashboard bound beyond loopback keep its token', () => {
    const rows = ['a', 'b', 'c'].map((id) => ({ id, kind: 'k', status: 'finished' as const, steps: 1 }));
    const query = runsQuery({ sort: 'kind' }, 2);
    const html = runsPage(queryRuns(rows, query), query, 3, 2, 'tok');
    expect(html).toContain('<a href="/?sort=kind&amp;token=tok&amp;offset=2" rel="next">next</a>');
    expect(html).toContain('<a href="/?sort=kind&amp;order=desc&amp;token=tok">kind ▲</a>');
    expect(html).toContain('<input type="hidden" name="token" value="tok">');
  });

  it('the CLI rejects a page size or compare cap out of range (exit 2)', () => {
    expectBadInput(cli(['ui', '--runs', dir, '--page-size', '0']), /--page-size/);
    expectBadInput(cli(['ui', '--runs', dir, '--compare-max', '1']), /--compare-max/);
    expectBadInput(cli(['ui', '--runs', dir, '--compare-max', '101']), /--compare-max/);
  });
});
