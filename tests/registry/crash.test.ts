/**
 * Crash safety and concurrency across processes: a `switchyard registry register` killed with SIGKILL at a
 * chosen point (the SWITCHYARD_REGISTRY_PAUSE test hook) leaves the registry consistent, and two processes
 * registering the same name at once get distinct versions — on SQLite and on PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { add, trace } from '../../src/core/index.ts';
import { lowerGraph } from '../../src/runtime/onnx/lower.ts';
import { encodeModel } from '../../src/runtime/onnx/proto.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRegistry, type Registry } from '../../src/registry/registry.ts';
import { listFiles, sha256File } from '../../src/util/fs.ts';
import { cli, expectBadInput, ROOT } from '../cli/helpers.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { penguinsRun } from './fixtures.ts';

interface Child {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill: () => void;
  paused: Promise<void>;
}

/** Runs `switchyard ARGS` in a child process, stopped at the `pause` point when given (see registry/pause.ts). */
function switchyard(args: string[], pause?: string): Child {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  if (pause) env.SWITCHYARD_REGISTRY_PAUSE = pause;
  else delete env.SWITCHYARD_REGISTRY_PAUSE;
  const p = spawn(process.execPath, [join(ROOT, 'bin/switchyard-dev.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onPause: () => void = () => undefined;
  const paused = new Promise<void>((resolve) => (onPause = resolve));
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (pause && stderr.includes(`SWITCHYARD_REGISTRY_PAUSED ${pause}`)) onPause();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    p.on('exit', (code, signal) => {
      onPause();
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { exit, paused, kill: () => p.kill('SIGKILL') };
}

function register(location: string, name: string, from: string, pause?: string): Child {
  return switchyard(['registry', 'register', '--name', name, '--from', from, '--registry', location, '--json'], pause);
}

/** Runs `switchyard ARGS` to `pause`, kills it there with SIGKILL and returns its stderr. */
async function killedAt(args: string[], pause: string): Promise<string> {
  const child = switchyard(args, pause);
  await child.paused;
  child.kill();
  const r = await child.exit;
  expect(r.signal).toBe('SIGKILL');
  expect(r.stderr).toContain(`SWITCHYARD_REGISTRY_PAUSED ${pause}`);
  return r.stderr;
}

let fx: Awaited<ReturnType<typeof penguinsRun>>;
beforeAll(async () => {
  fx = await penguinsRun();
});

describe.each(BACKENDS)('on %s', (backend) => {
  let location: string;
  let reg: Registry;
  beforeAll(async () => {
    location = await freshLocation(backend);
    reg = await openRegistry(location, { cacheDir: mkdtempSync(join(tmpdir(), 'sy-crash-cache-')) });
    await reg.register({ name: 'm', from: fx.onnx, reason: 'the good one' });
    await reg.setAlias('m', 'production', 1);
  });
  afterAll(async () => reg?.close());

  test.each(['after-files', 'in-transaction'])('SIGKILL while registering (%s) leaves no half version; the next register works', async (point) => {
    const before = await reg.history('m');
    const child = register(location, 'm', fx.run, point);
    await child.paused;
    child.kill();
    const r = await child.exit;
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toContain(`SWITCHYARD_REGISTRY_PAUSED ${point}`);

    // A fresh handle (as another server would open it) sees the registry exactly as before.
    const other = await openRegistry(location, { cacheDir: mkdtempSync(join(tmpdir(), 'sy-crash-cache-')) });
    try {
      const versions = await other.list('m');
      expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1)); // no gaps, no half rows
      expect(await other.history('m')).toEqual(before);
      expect(await other.aliases('m')).toEqual({ production: 1 });
      const v1 = await other.resolve('m@production');
      expect(v1.reason).toBe('the good one');
      const dir = await other.materialize(v1);
      expect(await sha256File(join(dir, 'model.onnx'))).toBe(await sha256File(fx.onnx));
      const next = await other.register({ name: 'm', from: fx.run });
      expect(next.version).toBe(versions.length + 1);
      expect(next.artefacts.length).toBeGreaterThan(1);
      expect(await sha256File(join(await other.materialize(next), 'model.safetensors'))).toBe(await sha256File(join(fx.run, 'model.safetensors')));
    } finally {
      await other.close();
    }
  });

  test('two processes registering the same name at once get distinct versions', async () => {
    const start = (await reg.list('m')).length;
    const [a, b] = await Promise.all([register(location, 'm', fx.run).exit, register(location, 'm', fx.onnx).exit]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const got = [a, b].map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!).version.version as number).sort();
    expect(got).toEqual([start + 1, start + 2]);
    const kinds = new Map((await reg.list('m')).map((v) => [v.version, v.kind]));
    expect(new Set(got.map((v) => kinds.get(v)))).toEqual(new Set(['tabular', 'onnx']));
  });

  test('gc deletes the bytes an interrupted register left behind, spares recent ones, and keeps every version whole', async () => {
    // A model no version has: its register, killed after storing the bytes, leaves a blob no version uses.
    const onnx = join(mkdtempSync(join(tmpdir(), 'sy-gc-')), 'other.onnx');
    writeFileSync(onnx, encodeModel(lowerGraph(trace((g) => ({ y: add(g.input('x', 'f32', ['batch', 3]), 1) })))));
    const child = register(location, 'm', onnx, 'after-files');
    await child.paused;
    child.kill();
    expect((await child.exit).signal).toBe('SIGKILL');
    const orphan = await sha256File(onnx);

    const young = await reg.gc(); // default minimum age: one hour
    expect(young.removed).toEqual([]);
    expect(young.young).toBeGreaterThanOrEqual(1);
    const dry = await reg.gc({ minAgeMs: 0, dryRun: true });
    expect(dry.removed.map((b) => b.sha256)).toContain(orphan);
    expect(dry.referenced + dry.removed.length).toBe(dry.scanned);
    const real = await reg.gc({ minAgeMs: 0 });
    expect(real.removed.map((b) => b.sha256).sort()).toEqual(dry.removed.map((b) => b.sha256).sort());
    expect(real.freedBytes).toBe(real.removed.reduce((a, b) => a + b.bytes, 0));
    expect((await reg.gc({ minAgeMs: 0 })).removed).toEqual([]);

    // Every version still materializes with verified bytes, through a handle with an empty cache.
    const other = await openRegistry(location, { cacheDir: mkdtempSync(join(tmpdir(), 'sy-gc-cache-')) });
    try {
      for (const v of await other.list('m')) await other.materialize(v);
    } finally {
      await other.close();
    }

    const r = cli(['registry', 'gc', '--min-age', '0', '--registry', location, '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, dryRun: false, removed: [] });
    expectBadInput(cli(['registry', 'gc', '--min-age', 'soon', '--registry', location]), /--min-age 'soon' is not a duration/);
  }, 60_000);

  test.skipIf(backend === 'postgres')('a register killed while writing a blob leaves a temp file that gc removes once it is older than --min-age', async () => {
    const onnx = join(mkdtempSync(join(tmpdir(), 'sy-gc-')), 'third.onnx');
    writeFileSync(onnx, encodeModel(lowerGraph(trace((g) => ({ y: add(g.input('x', 'f32', ['batch', 5]), 2) })))));
    await killedAt(['registry', 'register', '--name', 'm', '--from', onnx, '--registry', location], 'blob-staged');
    const temps = async () => (await listFiles(join(location, 'files'))).filter((f) => !/^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f)).sort();
    const left = await temps();
    expect(left).toHaveLength(1);
    expect(statSync(join(location, 'files', left[0])).size).toBe(statSync(onnx).size);

    const spared = cli(['registry', 'gc', '--registry', location, '--json']); // default --min-age 1h: may be a register in progress
    expect(spared.json).toMatchObject({ ok: true, temporary: [] });
    expect(await temps()).toEqual(left);
    const gc = cli(['registry', 'gc', '--min-age', '0', '--registry', location, '--json']);
    expect(gc.code).toBe(0);
    expect(gc.json.temporary).toEqual([{ path: join(location, 'files', left[0]), bytes: statSync(onnx).size }]);
    expect(await temps()).toEqual([]);
    for (const v of await reg.list('m')) await reg.materialize(v); // every version still whole
  }, 120_000);

  test('a materialize killed half-way leaves a temp directory that gc removes; the next materialize is whole', async () => {
    const saved = process.env.SWITCHYARD_REGISTRY_CACHE;
    process.env.SWITCHYARD_REGISTRY_CACHE = mkdtempSync(join(tmpdir(), 'sy-crash-cache-')); // a PostgreSQL registry's cache
    try {
      const cacheDir = backend === 'sqlite' ? join(location, 'materialized') : process.env.SWITCHYARD_REGISTRY_CACHE;
      await killedAt(['registry', 'materialize', 'm@production', '--registry', location], 'materialize-files');
      const leftovers = () => readdirSync(join(cacheDir, 'm')).filter((n) => n.includes('.tmp-'));
      expect(leftovers()).toHaveLength(1);
      const dir = join(cacheDir, 'm', leftovers()[0]);
      expect(cli(['registry', 'gc', '--registry', location, '--json']).json.temporary).toEqual([]);
      expect(cli(['registry', 'gc', '--min-age', '0', '--registry', location, '--json']).json.temporary).toEqual([{ path: dir, bytes: 0 }]);
      expect(leftovers()).toEqual([]);
      const m = cli(['registry', 'materialize', 'm@production', '--registry', location, '--json']);
      expect(await sha256File(join(m.json.dir, 'model.onnx'))).toBe(await sha256File(fx.onnx));
    } finally {
      if (saved === undefined) delete process.env.SWITCHYARD_REGISTRY_CACHE;
      else process.env.SWITCHYARD_REGISTRY_CACHE = saved;
    }
  }, 120_000);
});
