/**
 * Registry operations per second on SQLite and PostgreSQL (a throwaway local server, or
 * SWITCHYARD_TEST_POSTGRES): register (small ONNX model), resolve by alias, alias switch (what a canary
 * promotion or rollback costs), materialize (hash-verified load). Writes bench/results/registry.json.
 *
 *   node bin/run-ts.js bench/registry.ts [--quick]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry, type Registry } from '../src/registry/registry.ts';
import { BACKENDS, freshLocation } from '../tests/pg.ts';
import { penguinsRun } from '../tests/registry/fixtures.ts';
import { updateBenchmarksMd, writeBenchResult } from './report.ts';

/** Runs `op` repeatedly for about `seconds` and returns operations per second and mean milliseconds. */
async function rate(seconds: number, op: (i: number) => Promise<unknown>): Promise<{ opsPerSecond: number; meanMs: number; ops: number }> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) await op(n++);
  const ms = performance.now() - t0;
  return { opsPerSecond: (n / ms) * 1000, meanMs: ms / n, ops: n };
}

/**
 * The registry benchmark (both backends when PostgreSQL is available).
 *
 * @example
 * await runRegistryBench(true);
 */
export async function runRegistryBench(quick: boolean): Promise<Record<string, unknown>> {
  const seconds = quick ? 0.5 : 3;
  const fx = await penguinsRun();
  const out: Record<string, unknown> = {};
  for (const backend of BACKENDS) {
    const reg: Registry = await openRegistry(await freshLocation(backend), { cacheDir: mkdtempSync(join(tmpdir(), 'sy-bench-reg-')) });
    try {
      const register = await rate(seconds, () => reg.register({ name: 'bench', from: fx.onnx }));
      await reg.setAlias('bench', 'production', 1);
      const resolve = await rate(seconds, () => reg.resolve('bench@production'));
      const aliasSwitch = await rate(seconds, (i) => reg.setAlias('bench', 'production', (i % 2) + 1));
      const v = await reg.resolve('bench@1');
      const materialize = await rate(seconds, () => reg.materialize(v));
      out[backend] = { register, resolve, aliasSwitch, materialize, modelBytes: v.artefacts[0].bytes };
      process.stderr.write(`${backend}: register ${register.opsPerSecond.toFixed(0)}/s, resolve ${resolve.opsPerSecond.toFixed(0)}/s, alias switch ${aliasSwitch.opsPerSecond.toFixed(0)}/s, materialize ${materialize.opsPerSecond.toFixed(0)}/s\n`);
    } finally {
      await reg.close();
    }
  }
  writeBenchResult(quick ? 'registry-quick' : 'registry', out);
  if (!quick) {
    type Rate = { opsPerSecond: number };
    const rows = Object.entries(out).map(([backend, r]) => {
      const x = r as Record<'register' | 'resolve' | 'aliasSwitch' | 'materialize', Rate>;
      return [backend, x.register.opsPerSecond, x.resolve.opsPerSecond, x.aliasSwitch.opsPerSecond, x.materialize.opsPerSecond];
    });
    updateBenchmarksMd({
      name: 'registry',
      title: 'Model registry operations',
      intro: `Operations per second over ${seconds} s each, one process: register (a small ONNX model, hashed and stored), resolve \`name@production\`, switch the alias (what a promotion or rollback costs), materialize (every artefact re-hashed on load). SQLite in WAL mode with full sync; PostgreSQL 15 on loopback.`,
      columns: ['backend', 'register/s', 'resolve/s', 'alias switch/s', 'materialize/s'],
      rows,
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(resolvePath(process.argv[1] ?? '')).href) await runRegistryBench(process.argv.includes('--quick'));
