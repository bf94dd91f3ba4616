/** `switchyard registry …` driven as a user would, through the real binary. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { runCli } from '../../src/cli/output.ts';
import { registryVerb } from '../../src/cli/registry-verb.ts';
import { cli, expectBadInput } from '../cli/helpers.ts';
import { PG_AVAILABLE, pgTestDatabase } from '../pg.ts';
import { penguinsRun } from './fixtures.ts';

/** The verb in this process (same parsing, output and error boundary as the binary, without a 2 s start-up). */
async function inProcess(args: string[]): Promise<ReturnType<typeof cli>> {
  let stdout = '';
  let stderr = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  try {
    const code = await runCli(() => registryVerb(args), { argv: args, stdout: { write: (c) => (stdout += c) }, stderr: { write: (c) => (stderr += c) }, exit: () => undefined });
    let json: any = null;
    try {
      json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    } catch {
      json = null;
    }
    return { code, stdout, stderr, json };
  } finally {
    spy.mockRestore();
  }
}

let fx: Awaited<ReturnType<typeof penguinsRun>>;
beforeAll(async () => {
  fx = await penguinsRun();
});

test('register, alias, rollback, list, show, history, archive, materialize — human and --json output', async () => {
  const work = mkdtempSync(join(tmpdir(), 'sy-reg-cli-'));
  const audit = join(work, 'audit.json');
  writeFileSync(audit, '{"findings":[]}');
  const loc = join(work, 'reg');
  // The real binary for a few calls; the verb in-process for the rest.
  const bin = (...args: string[]) => cli(['registry', ...args, '--registry', loc]);
  const r = (...args: string[]) => inProcess([...args, '--registry', loc]);
  const reg1 = await r('register', '--name', 'penguins', '--from', fx.run, '--reason', 'first', '--by', 'alice', '--audit', audit, '--json');
  expect(reg1.code).toBe(0);
  expect(reg1.json.version).toMatchObject({ name: 'penguins', version: 1, kind: 'tabular', createdBy: 'alice', reason: 'first' });
  expect(reg1.json.version.artefacts.map((a: { path: string }) => a.path)).toContain('reports/audit/audit.json');
  const reg2 = bin('register', '--name', 'penguins', '--from', fx.onnx);
  expect(reg2.stdout).toMatch(/registered penguins@2 \(onnx, 1 artefacts\)/);
  expect((await r('alias', 'penguins', 'production', '1')).stdout).toBe('penguins@production -> 1\n');
  expect((await r('alias', 'penguins', 'production', 'v2', '--json')).json).toEqual({ ok: true, name: 'penguins', alias: 'production', version: 2 });
  expect((await r('rollback', 'penguins', 'production', '--reason', 'p99 up', '--json')).json).toEqual({ ok: true, name: 'penguins', alias: 'production', from: 2, to: 1 });
  const list = (await r('list', '--json')).json;
  expect(list.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
  expect(list.aliases).toEqual({ penguins: { production: 1 } });
  const show = bin('show', 'penguins@production');
  expect(show.stdout).toMatch(/^penguins@1 +tabular active .* alice +\[production\] +— first\n/);
  expect(show.stdout).toMatch(/model\.onnx +\d+ B +sha256 [0-9a-f]{64}/);
  expect(show.stdout).toMatch(/data .*penguins\.csv: sha256 [0-9a-f]{64}/);
  expect((await r('archive', 'penguins', '2', '--by', 'bob')).stdout).toBe('archived penguins@2\n');
  const hist = (await r('history', 'penguins', '--json')).json.history;
  expect(hist.map((e: { action: string }) => e.action)).toEqual(['register', 'register', 'alias', 'alias', 'rollback', 'archive']);
  expect(hist[4]).toMatchObject({ alias: 'production', from: 2, to: 1, reason: 'p99 up' });
  const mat = (await r('materialize', 'penguins@1', '--json')).json;
  expect(mat).toMatchObject({ ok: true, name: 'penguins', version: 1, dir: expect.stringContaining('penguins') });

  // Bad input: exit 2, one error line naming the problem and a hint, no stack trace.
  expectBadInput(bin('show', 'pengiuns@1'), /no model named 'pengiuns'/);
  expectBadInput(await r('alias', 'penguins', 'canary', '2'), /penguins@2 is archived/);
  expectBadInput(await r('alias', 'penguins', 'canary', 'two'), /VERSION: 'two' is not a version number/);
  expectBadInput(await r('register', '--from', fx.run), /missing required option --name/);
  expectBadInput(await r('promote', 'penguins'), /unknown registry command 'promote'/);
  const j = bin('show', 'penguins@9', '--json');
  expect(j.code).toBe(2);
  expect(j.json).toMatchObject({ ok: false, error: { code: 'E_REGISTRY_UNKNOWN_VERSION' } });
});

describe.skipIf(!PG_AVAILABLE)('on PostgreSQL', () => {
  test('--registry takes a postgres:// URL; SWITCHYARD_REGISTRY is the default', async () => {
    const url = await pgTestDatabase();
    expect(cli(['registry', 'register', '--name', 'shared', '--from', fx.onnx, '--registry', url]).code).toBe(0);
    process.env.SWITCHYARD_REGISTRY = url;
    try {
      expect((await inProcess(['list', '--json'])).json.versions.map((v: { name: string }) => v.name)).toEqual(['shared']);
    } finally {
      delete process.env.SWITCHYARD_REGISTRY;
    }
  });
});
