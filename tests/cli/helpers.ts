import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { writeVegaDatasetCsv } from '../../src/data/demo.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Runs the real CLI from its sources (`bin/switchyard-dev.js`) as a user would; returns exit code and output. */
export function cli(args: string[], cwd = ROOT, nodeArgs = false): { code: number; stdout: string; stderr: string; json: any } {
  const argv = nodeArgs ? args : [join(ROOT, 'bin/switchyard-dev.js'), ...args];
  const r = spawnSync(process.execPath, argv, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 120_000 });
  let json: any = null;
  const last = r.stdout.trim().split('\n').pop();
  try {
    json = last ? JSON.parse(last) : null;
  } catch {
    json = null;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** A fresh temp directory. */
export function tmp(prefix = 'sy-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a real dataset shipped by the vega-datasets npm package as CSV and returns its path. */
export function vegaCsv(name: string, dir: string): string {
  const p = writeVegaDatasetCsv(name, join(dir, `${name}.csv`), ROOT);
  if (!p) throw new Error(`vega-datasets/${name} not installed`);
  return p;
}

/** Every bad input: exit 2, a one-line `error:` naming the problem plus a `hint:` on stderr, no stack trace. */
export function expectBadInput(r: ReturnType<typeof cli>, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines[1]).toMatch(/^hint: ./);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** Exit 0 with one JSON object on stdout (`ok: true`); returns that object. */
export function expectOk(r: ReturnType<typeof cli>): any {
  expect(r.code, r.stderr).toBe(0);
  expect(r.json?.ok).toBe(true);
  return r.json;
}

/**
 * Runs the CLI like {@link cli}, with a hook that prints at exit the packages the process loaded (CommonJS ones,
 * like onnxruntime-node and webgpu, show in require.cache): the import graph a verb really pulled in.
 */
export function loadedBy(args: string[]): ReturnType<typeof cli> & { loaded: string[] } {
  const hook = join(tmp('sy-lazy-'), 'hook.mjs');
  writeFileSync(hook, `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const names = Object.keys(cache).map((k) => k.split('/node_modules/')[1]?.split('/').slice(0, 2).join('/')).filter(Boolean);
  process.stderr.write('LOADED ' + JSON.stringify([...new Set(names)]) + '\\n');
});`);
  const r = cli(['--import', hook, join(ROOT, 'bin/switchyard-dev.js'), ...args], ROOT, true);
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED ')) ?? 'LOADED null';
  return { ...r, loaded: JSON.parse(line.slice(7)) };
}
