/**
 * The dashboard with 1,000 runs (issue 15's target: pages load in < 300 ms): synthetic run directories in a
 * temp folder (config, 50 metrics lines each, a manifest on nine in ten), served by `startUi` on loopback.
 * Measures the runs page (`/`) and `GET /api/runs`: cold (a fresh server, so every metrics.jsonl is read) and
 * warm (the same server again: only stats), warm after lines were appended to 10 runs, and, when Debian's
 * chromium is installed, the runs page's load in the browser (navigation start to the load event).
 *
 *   node bin/run-ts.js bench/ui.ts [--quick]
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startUi } from '../src/ui/server.ts';
import { HAVE_CHROMIUM, launchChromium } from '../tests/helpers-chromium.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median, nowMs } from './stats.ts';

const RUNS = 1000;
const LINES = 50;

/** One synthetic tabular metrics record, shaped like those `switchyard train` writes. */
const record = (epoch: number, seed: number) => JSON.stringify({
  epoch, updates: epoch * 8, trainLoss: 1 / (epoch + seed % 7), validLoss: 1.1 / (epoch + seed % 5),
  validAccuracy: 1 - 1 / (epoch + 2), lr: 0.003, examplesPerSecond: 5000 + seed,
}) + '\n';

function makeRuns(root: string): void {
  for (let i = 0; i < RUNS; i++) {
    const dir = join(root, `run-${String(i).padStart(4, '0')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'switchyard.run', kind: 'tabular-mlp', seed: i }));
    writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: LINES }, (_, e) => record(e + 1, i)).join(''));
    if (i % 10) writeFileSync(join(dir, 'manifest.json'), '{}');
  }
}

async function timeGet(url: string): Promise<number> {
  const t0 = nowMs();
  const r = await fetch(url);
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return nowMs() - t0;
}

/** Median ms of the first request to a fresh server (every file read), over `rounds` servers. */
async function cold(root: string, path: string, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const ui = await startUi({ runs: root, port: 0 });
    try {
      out.push(await timeGet(`http://127.0.0.1:${ui.port}${path}`));
    } finally {
      await ui.close();
    }
  }
  return out;
}

/** Per load in chromium: ms to the last byte of the page, and ms to the load event (parsed, laid out, scripts run). */
async function browserLoads(base: string, rounds: number): Promise<{ response: number[]; load: number[] }> {
  const profile = mkdtempSync(join(tmpdir(), 'sy-bench-ui-chromium-'));
  const ctx = await launchChromium(profile);
  try {
    const page = await ctx.newPage();
    await page.goto(base, { waitUntil: 'load' }); // first load fills the browser's cache of ui.css / ui.js
    const out = { response: [] as number[], load: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      await page.goto(base, { waitUntil: 'load' });
      const [response, load] = await page.evaluate(() => {
        const nav = (globalThis as any).performance.getEntriesByType('navigation')[0]; // no DOM types in tsconfig
        return [nav.responseEnd - nav.startTime, nav.loadEventEnd - nav.startTime] as number[];
      });
      out.response.push(response);
      out.load.push(load);
    }
    return out;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * The dashboard benchmark; writes bench/results/ui.json and (unless quick) its BENCHMARKS.md section.
 *
 * @example
 * await runUiBench(true);
 */
export async function runUiBench(quick: boolean): Promise<Record<string, number[]>> {
  const root = mkdtempSync(join(tmpdir(), 'sy-bench-ui-'));
  const rounds = quick ? 3 : 7;
  const warmRounds = quick ? 5 : 21;
  const out: Record<string, number[]> = {};
  const loadBefore = loadavg()[0];
  try {
    makeRuns(root);
    out.coldPage = await cold(root, '/', rounds);
    out.coldApi = await cold(root, '/api/runs', rounds);
    const ui = await startUi({ runs: root, port: 0 });
    const base = `http://127.0.0.1:${ui.port}`;
    try {
      await timeGet(`${base}/`);
      const warm = async (path: string) => {
        const xs: number[] = [];
        for (let i = 0; i < warmRounds; i++) xs.push(await timeGet(`${base}${path}`));
        return xs;
      };
      out.warmPage = await warm('/');
      out.warmApi = await warm('/api/runs');
      out.appendedPage = [];
      for (let i = 0; i < rounds; i++) {
        for (let r = 0; r < 10; r++) {
          appendFileSync(join(root, `run-${String(r * 97).padStart(4, '0')}`, 'metrics.jsonl'), record(LINES + i + 1, r));
        }
        out.appendedPage.push(await timeGet(`${base}/`));
      }
      if (HAVE_CHROMIUM) {
        const b = await browserLoads(`${base}/`, warmRounds);
        [out.browserResponse, out.browserPage] = [b.response, b.load];
      }
    } finally {
      await ui.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const load = [loadBefore, loadavg()[0]].map((x) => x.toFixed(1));
  for (const [k, xs] of Object.entries(out)) process.stderr.write(`${k}: median ${median(xs).toFixed(1)} ms\n`);
  writeBenchResult(quick ? 'ui-quick' : 'ui', { runs: RUNS, linesPerRun: LINES, loadAverage: load, samplesMs: out });
  if (!quick) {
    const row = (what: string, key: string) => [what, out[key].length, median(out[key]), Math.max(...out[key])];
    updateBenchmarksMd({
      name: 'ui',
      title: 'Dashboard with 1,000 runs',
      intro: `\`switchyard ui\` over ${RUNS} synthetic run directories (${LINES} metrics lines each), one process on `
        + 'loopback. Cold: the first request to a fresh server (every `metrics.jsonl` read). Warm: the same server '
        + 'again (the runs cache stats each file and reads nothing). Appended: warm after one line was appended to '
        + '10 runs (only those bytes read). Browser: chromium loading the runs page, navigation start to the load '
        + 'event (1,000 table rows parsed and laid out). Target (issue 15): < 300 ms.',
      columns: ['request', 'rounds', 'median ms', 'max ms'],
      rows: [
        row('runs page `/`, cold', 'coldPage'), row('`GET /api/runs`, cold', 'coldApi'),
        row('runs page `/`, warm', 'warmPage'), row('`GET /api/runs`, warm', 'warmApi'),
        row('runs page `/`, 10 runs appended', 'appendedPage'),
        ...(out.browserPage ? [row('runs page in chromium: last byte received', 'browserResponse'),
          row('runs page in chromium: load event', 'browserPage')] : []),
      ],
      notes: [`The machine's 1-minute load average was ${load[0]} before and ${load[1]} after (its other work runs `
        + 'alongside): times on an idle machine are lower.'],
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(resolvePath(process.argv[1] ?? '')).href) await runUiBench(process.argv.includes('--quick'));
