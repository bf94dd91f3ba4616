/**
 * The dashboard with 1,000 runs and 10,000 registry versions (issue 15's targets: pages load in < 300 ms, curves
 * update within 1 s of a new metrics line): synthetic run directories in a temp folder (config, 50 metrics lines
 * each, a manifest on nine in ten) and a registry holding 10,000 versions of one model, each registered through
 * the registry's own `register` (a small real ONNX model), served by `startUi` on loopback. Measures the runs page
 * (`/`) and `GET /api/runs`: cold (a fresh server, so every metrics.jsonl is read) and warm (the same server
 * again: only stats), warm after lines were appended to 10 runs; the registry's pages warm; and, when Debian's
 * chromium is installed, each page's load in the browser (navigation start to the load event) and the time from
 * appending a line to a run's metrics.jsonl to its open page's loss chart holding the new point.
 *
 *   node bin/run-ts.js bench/ui.ts [--quick]
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry } from '../src/registry/registry.ts';
import { startUi, UI_PAGE_SIZE } from '../src/ui/server.ts';
import { HAVE_CHROMIUM, launchChromium } from '../tests/helpers-chromium.ts';
import { penguinsRun } from '../tests/registry/fixtures.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median, nowMs } from './stats.ts';

const RUNS = 1000;
const LINES = 50;
const VERSIONS = 10_000;
/** The registry fixture's model, and the version whose page (and the page of versions from it) is measured. */
const MODEL = 'bench';
const MIDDLE = VERSIONS / 2;

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

/**
 * A registry at `dir` with {@link VERSIONS} versions of model {@link MODEL}, each registered through `register`
 * (a small real ONNX model, hashed and stored), the middle one promoted to `production`.
 */
async function makeRegistry(dir: string): Promise<void> {
  const fx = await penguinsRun();
  const reg = await openRegistry(dir);
  try {
    for (let v = 1; v <= VERSIONS; v++) {
      await reg.register({ name: MODEL, from: fx.onnx, reason: `seeded version ${v}` });
    }
    await reg.setAlias(MODEL, 'production', MIDDLE, { reason: 'the benchmark fixture' });
  } finally {
    await reg.close();
    rmSync(dirname(fx.run), { recursive: true, force: true });
  }
}

/** The pages measured in chromium, by the name their samples are kept under. */
const BROWSER_PAGES: Record<string, [what: string, path: string]> = {
  Runs: ['runs page `/`', '/'],
  Registry: ['registry page `/registry`', '/registry'],
  RegistryPage: ['model page, versions from the middle', `/registry/${MODEL}?offset=${MIDDLE}`],
  Version: [`version page (v${MIDDLE})`, `/registry/${MODEL}/${MIDDLE}`],
};

/**
 * In chromium: per page of {@link BROWSER_PAGES}, ms to the last byte of the page and ms to the load event
 * (parsed, laid out, scripts run); then the curve-update latency: ms from appending a line to `metricsFile` to
 * the open run page's loss chart holding one more point (its `data-points`, set once uPlot has the data).
 */
async function browserTimes(
  base: string, runPath: string, metricsFile: string, nextLine: (k: number) => string, rounds: number,
): Promise<Record<string, number[]>> {
  const profile = mkdtempSync(join(tmpdir(), 'sy-bench-ui-chromium-'));
  const ctx = await launchChromium(profile);
  const out: Record<string, number[]> = {};
  try {
    const page = await ctx.newPage();
    for (const [name, [, path]] of Object.entries(BROWSER_PAGES)) {
      await page.goto(`${base}${path}`, { waitUntil: 'load' }); // the first load fills the browser's cache of ui.css
      const [response, load]: number[][] = [[], []];
      for (let i = 0; i < rounds; i++) {
        await page.goto(`${base}${path}`, { waitUntil: 'load' });
        const [r, l] = await page.evaluate(() => {
          const nav = (globalThis as any).performance.getEntriesByType('navigation')[0]; // no DOM types in tsconfig
          return [nav.responseEnd - nav.startTime, nav.loadEventEnd - nav.startTime] as number[];
        });
        response.push(r);
        load.push(l);
      }
      [out[`browserResponse${name}`], out[`browser${name}`]] = [response, load];
    }
    await page.goto(`${base}${runPath}`, { waitUntil: 'load' });
    await page.waitForSelector('#charts[data-live="open"][data-drawn="true"]', { state: 'attached' });
    out.curveUpdate = [];
    for (let k = 0; k < rounds; k++) {
      const before = Number(await page.locator('#chart-loss').getAttribute('data-points'));
      const t0 = nowMs();
      appendFileSync(metricsFile, nextLine(k));
      await page.waitForFunction((n) => (globalThis as any).document.querySelector('#chart-loss')
        .getAttribute('data-points') === String(n), before + 1, { timeout: 10_000 });
      out.curveUpdate.push(nowMs() - t0);
    }
    return out;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Warm requests to a running dashboard: the runs and registry pages, then the runs page after appends. */
async function serverTimes(
  root: string, base: string, rounds: number, warmRounds: number,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const warm = async (path: string) => {
    await timeGet(`${base}${path}`);
    const xs: number[] = [];
    for (let i = 0; i < warmRounds; i++) xs.push(await timeGet(`${base}${path}`));
    return xs;
  };
  out.warmPage = await warm('/');
  out.warmApi = await warm('/api/runs');
  out.warmRegistry = await warm(BROWSER_PAGES.Registry[1]);
  out.warmRegistryPage = await warm(BROWSER_PAGES.RegistryPage[1]);
  out.warmRegistryApi = await warm(`/api/registry/${MODEL}/versions?offset=${MIDDLE}`);
  out.warmVersion = await warm(BROWSER_PAGES.Version[1]);
  out.appendedPage = [];
  for (let i = 0; i < rounds; i++) {
    for (let r = 0; r < 10; r++) {
      appendFileSync(join(root, `run-${String(r * 97).padStart(4, '0')}`, 'metrics.jsonl'), record(LINES + i + 1, r));
    }
    out.appendedPage.push(await timeGet(`${base}/`));
  }
  return out;
}

/** The BENCHMARKS.md section of the samples. */
function writeSection(out: Record<string, number[]>, load: string[]): void {
  const row = (what: string, key: string) => [what, out[key].length, median(out[key]), Math.max(...out[key])];
  const browserRows = Object.entries(BROWSER_PAGES).flatMap(([name, [what]]) => [
    row(`${what} in chromium: last byte received`, `browserResponse${name}`),
    row(`${what} in chromium: load event`, `browser${name}`),
  ]);
  updateBenchmarksMd({
    name: 'ui',
    title: 'Dashboard with 1,000 runs and 10,000 registry versions',
    intro: `\`switchyard ui\` over ${RUNS} synthetic run directories (${LINES} metrics lines each) and a registry `
      + `holding ${VERSIONS} versions of one model (each registered through the registry's \`register\`), one `
      + `process on loopback; long lists are paged by the server (${UI_PAGE_SIZE} rows a page, the default). Cold: `
      + 'the first request to a fresh server (every `metrics.jsonl` read). Warm: the same server again (the runs '
      + 'cache stats each file and reads nothing). Appended: warm after one line was appended to 10 runs (only '
      + 'those bytes read). Browser: chromium loading a page, navigation start to the load event. Curve update: '
      + 'a line appended to the `metrics.jsonl` of a run whose page is open in chromium, until its loss chart '
      + "holds the new point (the page's `data-points`, polled each animation frame; the server checks the file "
      + 'every 250 ms, `--watch-interval-ms`). Targets (issue 15): pages < 300 ms, curves within 1 s.',
    columns: ['request', 'rounds', 'median ms', 'max ms'],
    rows: [
      row('runs page `/`, cold', 'coldPage'), row('`GET /api/runs`, cold', 'coldApi'),
      row('runs page `/`, warm', 'warmPage'), row('`GET /api/runs`, warm', 'warmApi'),
      row('runs page `/`, 10 runs appended', 'appendedPage'),
      row('registry page `/registry`, warm', 'warmRegistry'),
      row(`model page \`/registry/${MODEL}?offset=${MIDDLE}\`, warm`, 'warmRegistryPage'),
      row(`\`GET /api/registry/${MODEL}/versions?offset=${MIDDLE}\`, warm`, 'warmRegistryApi'),
      row(`version page \`/registry/${MODEL}/${MIDDLE}\`, warm`, 'warmVersion'),
      ...(out.curveUpdate
        ? [...browserRows, row('curve update in chromium: line appended to point drawn', 'curveUpdate')] : []),
    ],
    notes: [`The machine's 1-minute load average was ${load[0]} before and ${load[1]} after (its other work runs `
      + 'alongside): times on an idle machine are lower.'],
  });
}

/**
 * The dashboard benchmark; writes bench/results/ui.json and (unless quick) its BENCHMARKS.md section.
 *
 * @example
 * await runUiBench(true);
 */
export async function runUiBench(quick: boolean): Promise<Record<string, number[]>> {
  const root = mkdtempSync(join(tmpdir(), 'sy-bench-ui-'));
  const registry = mkdtempSync(join(tmpdir(), 'sy-bench-ui-registry-'));
  const rounds = quick ? 3 : 7;
  const warmRounds = quick ? 5 : 21;
  let out: Record<string, number[]> = {};
  const loadBefore = loadavg()[0];
  try {
    makeRuns(root);
    const t0 = nowMs();
    await makeRegistry(registry);
    process.stderr.write(`registered ${VERSIONS} versions in ${((nowMs() - t0) / 1000).toFixed(0)} s\n`);
    out.coldPage = await cold(root, '/', rounds);
    out.coldApi = await cold(root, '/api/runs', rounds);
    const ui = await startUi({ runs: root, registry, port: 0 });
    const base = `http://127.0.0.1:${ui.port}`;
    try {
      await timeGet(`${base}/`);
      out = { ...out, ...await serverTimes(root, base, rounds, warmRounds) };
      if (HAVE_CHROMIUM) {
        // run-0001 is not among the runs appended to above: its records end at epoch LINES.
        const metrics = join(root, 'run-0001', 'metrics.jsonl');
        const line = (k: number) => record(LINES + k + 1, 1);
        out = { ...out, ...await browserTimes(base, '/runs/run-0001', metrics, line, warmRounds) };
      }
    } finally {
      await ui.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(registry, { recursive: true, force: true });
  }
  const load = [loadBefore, loadavg()[0]].map((x) => x.toFixed(1));
  for (const [k, xs] of Object.entries(out)) process.stderr.write(`${k}: median ${median(xs).toFixed(1)} ms\n`);
  const meta = { runs: RUNS, linesPerRun: LINES, versions: VERSIONS, pageSize: UI_PAGE_SIZE, loadAverage: load };
  writeBenchResult(quick ? 'ui-quick' : 'ui', { ...meta, samplesMs: out });
  if (!quick) writeSection(out, load);
  return out;
}

if (import.meta.url === pathToFileURL(resolvePath(process.argv[1] ?? '')).href) await runUiBench(process.argv.includes('--quick'));
