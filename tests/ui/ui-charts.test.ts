/**
 * The dashboard's charts, run facts, MoE panel and compare page over HTTP on loopback, from runs the real CLI
 * trained (two tabular runs and a tiny MoE language model): uPlot served from its package with a strict
 * Content-Security-Policy, chart specs that keep scales apart, the heatmap and MoE tables, MFU n/a with its
 * reason, and the compare page's config differences and final metrics.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSpecs, mergeChartSpecs } from '../../src/ui/charts.ts';
import { compareIds, configDifferences } from '../../src/ui/compare.ts';
import { readRunMetrics } from '../../src/ui/runs.ts';
import { startUi, type RunningUi } from '../../src/ui/server.ts';
import { UI_CSP, uplotPaths } from '../../src/ui/static.ts';
import { tmp } from '../cli/helpers.ts';
import { trainUiFixture } from './helpers.ts';

describe('switchyard ui: charts, MoE panel and compare', () => {
  let dir: string;
  let runs: string;
  let ui: RunningUi;
  let base: string;
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, headers: r.headers, text: await r.text() };
  };

  beforeAll(async () => {
    dir = tmp('sy-ui-charts-');
    ({ runs } = await trainUiFixture(dir));
    ui = await startUi({ runs, port: 0 });
    base = `http://127.0.0.1:${ui.port}`;
  }, 180_000);

  afterAll(async () => {
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves uPlot from its installed package: script and style sheet, right types, cacheable, versioned path', async () => {
    const require = createRequire(import.meta.url);
    const version = JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')).version;
    const { script, style } = uplotPaths();
    expect(script).toBe(`/vendor/uplot@${version}/uPlot.iife.min.js`);
    const js = await fetch(`${base}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await js.arrayBuffer())).toEqual(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')));
    const css = await fetch(`${base}${style}`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toBe(readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'));
  });

  it('every page and API answer carries the strict policy; pages load only same-origin files', async () => {
    for (const p of ['/', '/runs/tiny', '/runs/moe', '/compare?runs=tiny,small', '/api/runs', '/charts.js', '/nope']) {
      const r = await get(p);
      expect(r.headers.get('content-security-policy'), p).toBe(UI_CSP);
      expect(r.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(r.text, p).not.toMatch(/(src|href|action)="(https?:)?\/\//);
      expect(r.text, p).not.toMatch(/ style="/); // the policy would block inline style attributes
    }
    expect(UI_CSP).toContain("script-src 'self'");
    expect(UI_CSP).not.toContain('unsafe-inline');
    const page = (await get('/runs/tiny')).text;
    expect(page).toContain(`<script src="${uplotPaths().script}"></script>`);
    expect(page).toContain('<script src="/charts.js"></script>');
  });

  it('chart specs: losses share a chart, other metrics of other scales get their own; MoE scalars per layer', async () => {
    const tiny = chartSpecs('tiny', await readRunMetrics(runs, 'tiny'));
    expect(tiny[0]).toMatchObject({ id: 'loss', series: [{ label: 'trainLoss' }, { label: 'validLoss' }] });
    const ids = tiny.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['metric-validAccuracy', 'metric-lr', 'throughput']));
    expect(ids).not.toContain('metric-epoch'); // x fields are not metrics
    const moe = chartSpecs('moe', await readRunMetrics(runs, 'moe'));
    const entropy = moe.find((s) => s.id === 'moe-router_entropy')!;
    expect(entropy.series.map((s) => s.label)).toEqual(['blocks.0.mlp', 'blocks.1.mlp']);
    expect(entropy.series[0].path).toEqual(['aux', 'blocks.0.mlp.router_entropy']);
    expect(moe.find((s) => s.id === 'moe-dropped_tokens')!.series).toHaveLength(2);
    expect(moe.map((s) => s.id)).toEqual(expect.arrayContaining(['mfu', 'throughput', 'metric-validBpb']));
    const merged = mergeChartSpecs([tiny, moe]);
    expect(merged.find((s) => s.id === 'loss')!.series.map((s) => s.label))
      .toEqual(['tiny trainLoss', 'tiny validLoss', 'moe trainLoss', 'moe validLoss']);
    expect(merged.some((s) => s.moe)).toBe(false);
  });

  it('a run page without JavaScript: last values, the loss curve as SVG, config; tokens/s and MFU for an LM', async () => {
    const page = (await get('/runs/tiny')).text;
    expect(page).toMatch(/<td data-field="validLoss">[0-9.]+<\/td>/);
    expect(page).toContain('<noscript><figure id="curve"><svg');
    const lm = (await get('/runs/moe')).text;
    const recs = await readRunMetrics(runs, 'moe');
    const last = recs.at(-1)!;
    expect(lm).toContain(`<td data-field="tokensPerSecond">${Number((last.tokensPerSecond as number).toPrecision(4))}</td>`);
    expect(lm).toContain(`<td data-field="mfu">${Number((last.mfu as number).toPrecision(4))}</td>`);
    expect(lm).not.toContain('id="mfu-note"');
  });

  it('MoE panel: a heatmap of expert load per layer over the recorded steps, entropy and dropped tokens', async () => {
    const recs = await readRunMetrics(runs, 'moe');
    const page = (await get('/runs/moe')).text;
    for (const layer of ['blocks.0.mlp', 'blocks.1.mlp']) {
      const table = new RegExp(`<table class="heat" data-layer="${layer.replace(/\./g, '\\.')}">([\\s\\S]*?)</table>`).exec(page);
      expect(table, layer).not.toBeNull();
      const steps = [...table![1].matchAll(/<th scope="col">(\d+)<\/th>/g)].map((m) => Number(m[1]));
      expect(steps).toEqual(recs.map((r) => r.step));
      const rows = [...table![1].matchAll(/<tr><th scope="row">expert \d<\/th>(.*?)<\/tr>/g)];
      expect(rows).toHaveLength(4);
      // Each cell is the expert's share of that record's assignments.
      const lastCells = rows.map((r) => [...r[1].matchAll(/>(\d+)%</g)].map((m) => Number(m[1])).at(-1)!);
      const load = (recs.at(-1)!.aux as Record<string, number[]>)[`${layer}.tokens_per_expert`];
      const total = load.reduce((a, b) => a + b, 0);
      expect(lastCells).toEqual(load.map((n) => Math.round((100 * n) / total)));
      const aux = recs.at(-1)!.aux as Record<string, number>;
      expect(page).toContain(`<th scope="row">${layer}</th><td>${Number(aux[`${layer}.router_entropy`].toPrecision(4))} of 1.386</td>`
        + `<td>${aux[`${layer}.dropped_tokens`]}</td>`);
    }
    const fragment = await get('/runs/moe/moe');
    expect(fragment.text).toContain('<table class="heat" data-layer="blocks.0.mlp">');
    expect((await get('/runs/tiny')).text).not.toContain('id="moe"');
  });

  it('MFU n/a names why: a run on WebGPU (mfu written as null) has no matmul ceiling', async () => {
    const wg = join(runs, 'on-webgpu');
    cpSync(join(runs, 'moe'), wg, { recursive: true });
    const recs = await readRunMetrics(runs, 'moe');
    // What lm.ts writes on WebGPU: mfu NaN, which JSON writes as null.
    writeFileSync(join(wg, 'metrics.jsonl'), recs.map((r) => JSON.stringify({ ...r, mfu: NaN }) + '\n').join(''));
    const summary = JSON.parse(readFileSync(join(wg, 'metrics.json'), 'utf8'));
    writeFileSync(join(wg, 'metrics.json'), JSON.stringify({ ...summary, device: { name: 'webgpu', adapter: 'llvmpipe' } }));
    try {
      const page = (await get('/runs/on-webgpu')).text;
      expect(page).toContain('<td data-field="mfu">n/a</td>');
      expect(page).toMatch(/id="mfu-note">MFU n\/a: .*this run trained on webgpu \(llvmpipe\)/);
    } finally {
      rmSync(wg, { recursive: true, force: true });
    }
  });

  it('compare: config fields that differ and final metrics of each run; bad requests are refused', async () => {
    const r = await get('/compare?run=tiny&run=small');
    expect(r.status).toBe(200);
    const diff = /<table id="config-diff">([\s\S]*?)<\/table>/.exec(r.text)![1];
    expect(diff).toContain('<tr><th scope="row">train.epochs</th><td>3</td><td>5</td></tr>');
    expect(diff).not.toContain('>kind<'); // the same in both
    const small = (await readRunMetrics(runs, 'small')).at(-1)!;
    expect(r.text).toMatch(new RegExp(`<th scope="row">validLoss</th><td>[0-9.]+</td><td>${Number((small.validLoss as number).toPrecision(4))}</td>`));
    expect(r.text).toContain('data-sources="{&quot;tiny&quot;:&quot;/api/runs/tiny/metrics&quot;,&quot;small&quot;');
    expect((await get('/compare?runs=tiny,small')).status).toBe(200);
    const one = await get('/compare?runs=tiny');
    expect(one.status).toBe(400);
    expect(JSON.parse(one.text).error).toMatchObject({ code: 'E_USAGE', hint: expect.stringContaining('/compare?runs=a,b') });
    const missing = await get('/compare?runs=tiny,nope');
    expect([missing.status, JSON.parse(missing.text).error.code]).toEqual([404, 'E_RUN_ID']);
    expect((await get('/compare?runs=tiny,..%2Fx')).status).toBe(404);
  });

  it('compareIds and configDifferences', () => {
    expect(compareIds({ runs: 'a, b', run: ['c', 'a'] }, 3)).toEqual(['a', 'b', 'c']);
    expect(() => compareIds({ runs: 'a,a' }, 3)).toThrow(/two or more runs, got 1/);
    expect(() => compareIds({ runs: 'a,b,c,d' }, 3)).toThrow(/at most 3 runs, got 4/);
    expect(configDifferences([{ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: 2, c: [1, 2] } }]))
      .toEqual([['a.b', ['1', '2']], ['d', ['1', '(absent)']]]);
    expect(configDifferences([{ x: 1 }, { x: 1 }])).toEqual([]);
  });
});
