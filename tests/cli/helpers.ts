import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { writeVegaDatasetCsv } from '../../src/data/demo.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Runs the real CLI (`bin/switchyard.js`) as a user would; returns exit code and output. */
export function cli(args: string[], cwd = ROOT): { code: number; stdout: string; stderr: string; json: any } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/switchyard.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 120_000 });
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
