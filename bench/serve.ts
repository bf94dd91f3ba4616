/**
 * Serving benchmark (issue 6): a small MLP classifier behind `startServer`, loaded from a SECOND process
 * (bench/serve-load.ts, autocannon keep-alive) on loopback: requests/s, p50/p99 latency and errors; then the
 * same load while the production alias is switched 100 times (every switch loads, warms and swaps a version),
 * which must give zero failed requests. Targets: >= 5,000 req/s, p99 < 20 ms, zero errors.
 * usage: node bin/run-ts.js bench/serve.ts [--quick]   (also `bench/run.ts --only serve`)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../src/registry/registry.ts';
import { startServer } from '../src/serve/server.ts';
import { trainTabular } from '../src/train/tabular.ts';
import { runJsonChild } from './child.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';

interface Load { requests: number; reqPerSec: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number }

/** Runs the serving benchmark; `quick` shortens the load phases to a few seconds. */
export async function runServeBench(quick: boolean): Promise<void> {
  const log = (s: string) => process.stderr.write(s + '\n');
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-serve-'));
  const rows = ['x1,x2,x3,x4,color,label'];
  for (let i = 0; i < 600; i++) {
    const x = [Math.sin(i), Math.cos(i * 1.3), Math.sin(i * 0.7), Math.cos(i * 0.3)];
    rows.push(`${x.map((v) => v.toFixed(4)).join(',')},${['red', 'green', 'blue'][i % 3]},${x[0] + x[1] > 0 ? 'yes' : 'no'}`);
  }
  const data = join(dir, 'train.csv');
  (await import('node:fs')).writeFileSync(data, rows.join('\n') + '\n');
  const runs = [];
  for (const seed of [0, 1]) {
    const out = join(dir, `run-${seed}`);
    await trainTabular({ data, target: 'label', out, epochs: 3, hidden: [32, 32], seed, progress: { enabled: false } });
    runs.push(out);
  }
  const reg = await openRegistry(join(dir, 'registry'));
  for (const from of runs) await reg.register({ name: 'mlp', from, by: 'bench' });
  await reg.setAlias('mlp', 'production', 1);
  const server = await startServer({ model: 'mlp@production', registry: join(dir, 'registry'), port: 0, signals: false, pollMs: 0, log: () => {}, load: { maxBatch: 64, batchWaitMs: 1 } });
  const body = JSON.stringify({ rows: [{ x1: 0.1, x2: -0.4, x3: 0.3, x4: 0.9, color: 'green' }] });
  const seconds = quick ? 3 : 10;
  const load = (secs: number) => runJsonChild<Load>('serve-load', process.execPath, ['bin/run-ts.js', 'bench/serve-load.ts', server.url, String(secs), '32', body]);
  await load(1); // warm-up (JIT, ORT arena)
  const steady = await load(seconds);
  log(`steady: ${steady.reqPerSec.toFixed(0)} req/s, p50 ${steady.p50Ms} ms, p99 ${steady.p99Ms} ms, errors ${steady.errors}, non-2xx ${steady.non2xx}`);
  const switches = quick ? 20 : 100;
  const during = load(Math.max(seconds, quick ? 4 : 20));
  let done = 0;
  const t0 = performance.now();
  for (; done < switches; done++) {
    await reg.setAlias('mlp', 'production', (done % 2) + 1, { by: 'bench' });
    await server.router.refresh();
  }
  const switchSeconds = (performance.now() - t0) / 1000;
  const underSwitch = await during;
  log(`${done} switches in ${switchSeconds.toFixed(1)} s under load: ${underSwitch.reqPerSec.toFixed(0)} req/s, p99 ${underSwitch.p99Ms} ms, errors ${underSwitch.errors}, non-2xx ${underSwitch.non2xx}`);
  await server.close();
  await reg.close();
  const payload = { quick, model: 'tabular MLP 9 -> 32 -> 32 -> 2 (ONNX Runtime, 1 thread), 1 row per request, 32 keep-alive connections from a second process', steady, switching: { switches: done, seconds: switchSeconds, ...underSwitch }, targets: { reqPerSec: 5000, p99Ms: 20, errors: 0 } };
  writeBenchResult(quick ? 'serve-quick' : 'serve', payload);
  if (!quick) {
    const row = (phase: string, l: Load) => [phase, l.requests, l.reqPerSec, l.p50Ms, l.p99Ms, l.errors + l.non2xx];
    updateBenchmarksMd({
      name: 'serve',
      title: 'Serving a small classifier over HTTP',
      intro: `\`startServer\` (Fastify, micro-batching up to 64 rows or 1 ms) serving ${payload.model}. Load: autocannon from a second process on loopback, ${seconds} s steady; then the same load while the production alias is switched ${done} times through the registry (each switch loads, warms and atomically swaps a version).`,
      columns: ['phase', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'failed requests'],
      rows: [row('steady', steady), row(`${done} alias switches in ${switchSeconds.toFixed(1)} s`, underSwitch)],
      notes: ['Targets (issue 6): >= 5,000 req/s with p99 < 20 ms and zero errors; zero failed requests while the production alias is switched 100 times under load.', 'Server and load generator share the same 2 cores.'],
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/serve.ts')) await runServeBench(process.argv.includes('--quick'));
