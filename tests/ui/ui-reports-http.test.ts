/**
 * `switchyard ui` reports and registry versions over HTTP on loopback: reports found by their declared format
 * (audit, eval, drift, and a kind the dashboard has never heard of) and linked to the run they are of, served
 * as the CLI wrote them under a strict Content-Security-Policy; a version's lineage page (parent run, data
 * fingerprint, linked reports, aliases, history); ids and paths that try to leave the folders; the token.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { renderReport, writeReportFiles } from '../../src/report/html.ts';
import { sha256File } from '../../src/util/fs.ts';
import { startUi } from '../../src/ui/server.ts';
import { UI_CSP } from '../../src/ui/static.ts';
import { ROOT } from '../cli/helpers.ts';
import { servedWorld, type World } from './world.ts';

describe('switchyard ui: reports and versions', () => {
  // A report kind written later than this dashboard: found by its declared format all the same.
  const world = servedWorld('sy-ui-reports-', async (w) => {
    const later = { format: 'switchyard.security-review', version: 1, model: join(w.runs, w.run) };
    const blocks = [{ kind: 'text' as const, text: 'none found' }];
    const page = renderReport({ title: 'Security review', sections: [{ id: 's', title: 'Threats', blocks }] });
    await writeReportFiles(join(w.reports, 'security'), 'security', later, page);
    writeFileSync(join(w.reports, 'notes.json'), JSON.stringify({ note: 'not a report' }));
    // A link out of the reports folder is not followed: the report it leads to is not served.
    const elsewhere = join(w.dir, 'elsewhere');
    const outside = { format: 'switchyard.eval', version: 1, model: join(w.runs, w.run) };
    await writeReportFiles(elsewhere, 'outside', outside, page);
    symlinkSync(elsewhere, join(w.reports, 'linked'));
    // A report whose HTML page is a link out of the folder: the JSON is listed, the link is never served.
    await writeReportFiles(join(w.reports, 'sneaky'), 'sneaky', { format: 'switchyard.compress', version: 1 }, page);
    rmSync(join(w.reports, 'sneaky', 'sneaky.html'));
    symlinkSync(join(w.registry, 'registry.sqlite'), join(w.reports, 'sneaky', 'sneaky.html'));
  });
  let w: World;
  let base: string;
  const reportsOf = async () => ((await (await fetch(`${base}/api/reports`)).json()) as any).reports as any[];
  beforeEach(() => ({ w, base } = world()));

  it('finds every report by its declared format and links it to the run it is of', async () => {
    const reports = await reportsOf();
    const byKind = Object.fromEntries(reports.map((r) => [r.kind, r]));
    expect(Object.keys(byKind).sort()).toEqual(['audit', 'compress', 'drift', 'eval', 'security-review']);
    const jsons = [
      'audit/audit.json', 'drift/drift.json', 'eval/eval.json', 'security/security.json', 'sneaky/sneaky.json',
    ];
    expect(reports.map((r) => r.json).sort()).toEqual(jsons);
    const evalReport = { format: 'switchyard.eval', json: 'eval/eval.json', html: 'eval/eval.html', runs: [w.run] };
    expect(byKind.eval).toMatchObject(evalReport);
    expect(byKind.audit.runs).toEqual([w.run]); // an audit of the run's training data
    expect(byKind['security-review'].runs).toEqual([w.run]);
    expect(byKind.drift).toMatchObject({ runs: [], model: { name: 'tiny', version: 1 } });
    const runPage = await (await fetch(`${base}/runs/${w.run}`)).text();
    for (const k of ['audit', 'eval', 'security-review']) {
      expect(runPage).toContain(`href="/reports/${byKind[k].id}">${k}</a>`);
    }
    expect(runPage).not.toContain(`/reports/${byKind.drift.id}"`);
    const list = await (await fetch(`${base}/reports`)).text();
    expect(list).toContain(`href="/reports/${byKind.drift.id}">drift</a>`);
  });

  it('the run, report, version and live pages carry the strict policy and hold no inline script or style', async () => {
    const r = (await reportsOf()).find((x) => x.kind === 'eval');
    expect(UI_CSP).toContain("frame-src 'self'"); // the report frames
    expect(UI_CSP).not.toContain('unsafe-inline');
    for (const p of [`/runs/${w.run}`, '/reports', `/reports/${r.id}`, '/registry/tiny/1', '/live', '/api/live']) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-security-policy'), p).toBe(UI_CSP);
      const body = await res.text();
      expect(body, p).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      // Scripts only from files: no inline script but the charts' JSON data blocks, which are never run.
      const dataBlocks = ['chart-specs', 'live-charts-data'].filter((id) => body.includes(`id="${id}"`));
      expect(body.match(/<script(?![^>]*\ssrc=)[^>]*>/g) ?? [], p)
        .toEqual(dataBlocks.map((id) => `<script type="application/json" id="${id}">`));
    }
  });

  it('opens a report in place and serves the HTML the CLI wrote, byte for byte, under a strict CSP', async () => {
    const r = (await reportsOf()).find((x) => x.kind === 'eval');
    const view = await (await fetch(`${base}/reports/${r.id}`)).text();
    const frame = `<iframe id="report" title="eval report: eval/eval.json" sandbox="" src="/reports/${r.id}/file">`;
    expect(view).toContain(frame);
    const file = await fetch(`${base}/reports/${r.id}/file`);
    expect(file.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = file.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toMatch(/sandbox$/);
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(readFileSync(join(w.reports, 'eval', 'eval.html')));
    const json: any = await (await fetch(`${base}/reports/${r.id}/file?as=json`)).json();
    expect(json.format).toBe('switchyard.eval');
  });

  it('refuses report ids and file names that are not a found report', async () => {
    const r = (await reportsOf()).find((x) => x.kind === 'eval');
    const paths = [
      '/reports/nope', '/reports/..%2F..%2Fetc%2Fpasswd', '/reports/eval%2Feval.json', '/reports/..%2Fnotes.json/file',
      `/reports/${r.id.slice(0, 15)}/file`,
    ];
    for (const p of paths) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(404);
      expect(((await res.json()) as any).error.code, p).toBe('E_UI_REPORT');
    }
    const sneaky = (await reportsOf()).find((x) => x.kind === 'compress');
    expect(sneaky.html).toBeUndefined();
    const served = await fetch(`${base}/reports/${sneaky.id}/file`);
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await served.json()) as any).format).toBe('switchyard.compress');
    // `as` only picks the JSON or the HTML of the found report; any other value is the HTML.
    const odd = await fetch(`${base}/reports/${r.id}/file?as=../../registry/registry.sqlite`);
    expect(odd.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it("a version's page shows its lineage, linked reports, aliases and history; its reports open in place", async () => {
    const page = await (await fetch(`${base}/registry/tiny/1`)).text();
    expect(page).toContain(`<a href="/runs/${w.run}">${w.run}</a>`); // the parent run
    expect(page).toContain(await sha256File(join(w.runs, 'data-0.csv'))); // the training data's fingerprint
    expect(page).toContain('>production<'); // the alias pointing here
    expect(page).toContain('first release'); // the promotion's reason
    for (const f of ['reports/audit/audit.json', 'reports/eval/eval.html']) {
      expect(page).toContain(`href="/registry/tiny/1/reports?file=${encodeURIComponent(f)}"`);
    }
    expect(page).toMatch(/reports\?file=reports%2Feval%2Feval.json">eval</);
    const found = Object.fromEntries((await reportsOf()).map((r) => [r.kind, r.id]));
    const folder = page.slice(page.indexOf('Reports in the reports folder'), page.indexOf('<h2>History'));
    // The drift report names the version; the eval and audit reports are of its run.
    for (const k of ['drift', 'eval', 'audit']) expect(folder).toContain(`href="/reports/${found[k]}">${k}</a>`);
    const view = await (await fetch(`${base}/registry/tiny/1/reports?file=reports%2Feval%2Feval.html`)).text();
    expect(view).toContain('src="/registry/tiny/1/file?file=reports%2Feval%2Feval.html"');
    const file = await fetch(`${base}/registry/tiny/1/file?file=reports%2Feval%2Feval.html`);
    expect(file.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(Buffer.from(await file.arrayBuffer())).toEqual(readFileSync(join(w.reports, 'eval', 'eval.html')));
    const registry = await (await fetch(`${base}/registry`)).text();
    expect(registry).toContain('href="/registry/tiny/1">v1</a>');
  });

  it('refuses version files the version does not link, and versions that do not exist', async () => {
    const reg = await openRegistry(w.registry);
    const artefacts = (await reg.resolve('tiny@1')).artefacts.map((a) => a.path);
    await reg.close();
    expect(artefacts).toContain('model.safetensors');
    const files = [
      'model.safetensors', 'config.json', '../registry.sqlite', 'reports/../../registry.sqlite', '/etc/passwd',
      'reports/eval',
    ];
    for (const f of files) {
      const res = await fetch(`${base}/registry/tiny/1/file?file=${encodeURIComponent(f)}`);
      expect(res.status, f).toBe(404);
      expect(((await res.json()) as any).error.code, f).toBe('E_UI_REPORT');
    }
    const versions = ['2', '0', '1.5', '-1', '1e3'].map((v) => `/registry/tiny/${v}`);
    for (const p of [...versions, '/registry/nope/1']) {
      expect((await fetch(`${base}${p}`)).status, p).toBe(404);
    }
    expect((await fetch(`${base}/registry/..%2F..%2Fetc/1`)).status).toBe(400); // not a model name
  });

  it('beyond loopback every new route needs the token', async () => {
    const tok = await startUi({ ...w, port: 0, token: 'tok-reports-1' });
    try {
      const b = `http://127.0.0.1:${tok.port}`;
      const id = (await reportsOf()).find((x) => x.kind === 'eval').id;
      const paths = ['/reports', '/api/reports', `/reports/${id}`, `/reports/${id}/file`, '/registry/tiny/1'];
      for (const p of [...paths, '/registry/tiny/1/file?file=reports%2Feval%2Feval.html']) {
        expect((await fetch(`${b}${p}`)).status, p).toBe(401);
        expect((await fetch(`${b}${p}${p.includes('?') ? '&' : '?'}token=tok-reports-2`)).status, p).toBe(401);
        expect((await fetch(`${b}${p}${p.includes('?') ? '&' : '?'}token=tok-reports-1`)).status, p).toBe(200);
      }
      const view = await (await fetch(`${b}/reports/${id}?token=tok-reports-1`)).text();
      expect(view).toContain(`src="/reports/${id}/file?token=tok-reports-1"`);
    } finally {
      await tok.close();
    }
  });

  it('the CLI serves the --reports folder', async () => {
    const args = ['ui', '--runs', w.runs, '--reports', w.reports, '--port', '0', '--json'];
    const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard-dev.js'), ...args]);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => (out += d).includes('\n') && resolve(out.split('\n')[0]));
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const { port } = JSON.parse(line);
      const got: any = await (await fetch(`http://127.0.0.1:${port}/api/reports`)).json();
      const kinds = got.reports.map((r: any) => r.kind).sort();
      expect(kinds).toEqual(['audit', 'compress', 'drift', 'eval', 'security-review']);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
