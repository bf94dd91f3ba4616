/** The registry API against every backend (SQLite directory and a real PostgreSQL server). */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultUser, openRegistry, type Registry } from '../../src/registry/registry.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { sha256File, verifyManifest, writeManifest } from '../../src/util/fs.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { penguinsRun } from './fixtures.ts';

async function rejected(p: Promise<unknown>, code: string, re?: RegExp): Promise<SwitchyardError> {
  const err = await p.then(
    () => {
      throw new Error(`expected ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchyardError);
  const se = err as SwitchyardError;
  expect(se.code).toBe(code);
  if (re) expect(se.message + ' ' + se.hint).toMatch(re);
  expect(se.hint).not.toBe('');
  return se;
}

let fx: Awaited<ReturnType<typeof penguinsRun>>;
const work = mkdtempSync(join(tmpdir(), 'sy-reg-test-'));
beforeAll(async () => {
  fx = await penguinsRun();
});

describe.each(BACKENDS)('registry on %s', (backend) => {
  let reg: Registry;
  let location: string;
  beforeAll(async () => {
    location = await freshLocation(backend);
    reg = await openRegistry(location, { cacheDir: mkdtempSync(join(work, 'cache-')) });
  });
  afterAll(async () => reg?.close());

  test('a run directory becomes version 1 with artefact hashes and lineage; the next register is version 2', async () => {
    const v1 = await reg.register({ name: 'penguins', from: fx.run, by: 'alice', reason: 'first model' });
    expect(v1).toMatchObject({ name: 'penguins', version: 1, kind: 'tabular', status: 'active', createdBy: 'alice', reason: 'first model' });
    const paths = v1.artefacts.map((a) => a.path);
    expect(paths).toEqual(expect.arrayContaining(['config.json', 'manifest.json', 'metrics.json', 'model.onnx', 'model.safetensors']));
    expect(paths).not.toContain('optimizer.safetensors');
    for (const a of v1.artefacts) expect(a.sha256).toBe(await sha256File(join(fx.run, a.path)));
    const data = v1.lineage.data as { path: string; sha256: string }[];
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ path: fx.data, sha256: await sha256File(fx.data) });
    expect(v1.lineage.code).toMatchObject({ package: 'switchyard', version: expect.any(String) });
    expect((v1.lineage.config as { kind: string }).kind).toBe('tabular-mlp');
    expect((v1.lineage.onnx as { inputs: { name: string }[] }).inputs[0].name).toBe('Island'); // the export takes the raw columns
    expect(v1.metrics).toBeDefined();
    const v2 = await reg.register({ name: 'penguins', from: fx.run });
    expect(v2.version).toBe(2);
    expect(v2.createdBy).toBe(defaultUser());
    expect(v2.artefacts).toEqual(v1.artefacts); // same bytes, same content addresses
  });

  test('an ONNX file registers as kind onnx; data files that cannot be read are recorded as missing', async () => {
    const v = await reg.register({ name: 'bare-onnx', from: fx.onnx });
    expect(v.kind).toBe('onnx');
    expect(v.artefacts.map((a) => a.path)).toEqual(['model.onnx']);
    const copy = join(work, `moved-${backend}`);
    cpSync(fx.run, copy, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8'));
    cfg.train.data = join(work, 'gone.csv');
    writeFileSync(join(copy, 'config.json'), JSON.stringify(cfg));
    await writeManifest(copy); // a run moved and re-recorded by its owner
    const m = await reg.register({ name: 'moved', from: copy });
    expect(m.lineage.data).toEqual([{ path: join(work, 'gone.csv'), missing: true, error: 'ENOENT' }]);
  });

  test('audit and eval reports are stored with the version and materialised with it', async () => {
    const audit = join(work, 'audit.html');
    writeFileSync(audit, '<html>audit</html>');
    const evalDir = join(work, `eval-${backend}`);
    cpSync(fx.run, evalDir, { recursive: true, filter: (s) => !s.endsWith('.safetensors') && !s.endsWith('.onnx') });
    const v = await reg.register({ name: 'reported', from: fx.run, links: { audit, eval: evalDir } });
    expect(v.lineage.links).toMatchObject({ audit: ['reports/audit/audit.html'], eval: expect.arrayContaining(['reports/eval/config.json']) });
    const dir = await reg.materialize(v);
    expect(readFileSync(join(dir, 'reports/audit/audit.html'), 'utf8')).toBe('<html>audit</html>');
    await rejected(reg.register({ name: 'reported', from: fx.run, links: { audit: join(work, 'nope.html') } }), 'E_REGISTRY_SOURCE', /nope\.html/);
  });

  test('materialize writes every artefact, verified, and the ONNX model runs in ONNX Runtime', async () => {
    const v = await reg.resolve('penguins@1');
    const dir = await reg.materialize(v);
    for (const a of v.artefacts) if (a.path !== 'manifest.json') expect(await sha256File(join(dir, a.path))).toBe(a.sha256);
    // The run's manifest is narrowed to the registered files (no optimizer state): the copy verifies like a run.
    expect((await verifyManifest(dir)).files.map((f) => f.path)).toEqual(v.artefacts.map((a) => a.path).filter((p) => p !== 'manifest.json'));
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    expect(session.inputNames).toContain('Island'); // the raw columns of the export
    // A damaged materialised copy is replaced on the next load.
    writeFileSync(join(dir, 'model.onnx'), 'garbage');
    rmSync(join(dir, 'config.json'));
    expect(await reg.materialize(v)).toBe(dir);
    expect(await sha256File(join(dir, 'model.onnx'))).toBe(v.artefacts.find((a) => a.path === 'model.onnx')!.sha256);
    expect(await readFile(join(dir, 'config.json'), 'utf8')).toContain('switchyard.run');
  });

  test('resolve: latest, numbers, aliases; unknown names get did-you-mean', async () => {
    expect((await reg.resolve('penguins')).version).toBe(2);
    expect((await reg.resolve('penguins@latest')).version).toBe(2);
    expect((await reg.resolve('penguins@v1')).version).toBe(1);
    await rejected(reg.resolve('pengiuns@1'), 'E_REGISTRY_UNKNOWN_MODEL', /no model named 'pengiuns'.*did you mean 'penguins'/);
    await rejected(reg.resolve('penguins@9'), 'E_REGISTRY_UNKNOWN_VERSION', /no version 9.*versions: 1, 2/);
    await reg.setAlias('penguins', 'staging', 2);
    await rejected(reg.resolve('penguins@stagign'), 'E_REGISTRY_UNKNOWN_ALIAS', /did you mean 'penguins@staging'/);
    await rejected(reg.resolve('penguins@'), 'E_REGISTRY_REF');
    await rejected(reg.resolve('../x@1'), 'E_REGISTRY_REF');
    expect((await reg.resolve('penguins@staging')).version).toBe(2);
  });

  test('aliases move and roll back step by step, every move recorded with who and why', async () => {
    await reg.register({ name: 'penguins', from: fx.run }); // v3
    await reg.setAlias('penguins', 'production', 1, { by: 'alice', reason: 'launch' });
    await reg.setAlias('penguins', 'production', 2, { by: 'bob', reason: 'better' });
    await reg.setAlias('penguins', 'production', 2, { by: 'bob' }); // no-op: already there, not recorded
    await reg.setAlias('penguins', 'production', 3, { by: 'carol' });
    expect(await reg.aliases('penguins')).toEqual({ production: 3, staging: 2 });
    expect(await reg.rollback('penguins', 'production', { by: 'dave', reason: 'errors up' })).toEqual({ from: 3, to: 2 });
    expect(await reg.rollback('penguins', 'production', { by: 'dave' })).toEqual({ from: 2, to: 1 });
    await rejected(reg.rollback('penguins', 'production'), 'E_REGISTRY_NO_PREVIOUS', /points at 1/);
    await rejected(reg.rollback('penguins', 'prodution'), 'E_REGISTRY_UNKNOWN_ALIAS', /did you mean 'production'/);
    expect((await reg.resolve('penguins@production')).version).toBe(1);
    const moves = (await reg.history('penguins')).filter((e) => e.alias === 'production');
    expect(moves.map((e) => [e.action, e.by, e.from ?? null, e.to, e.reason ?? null])).toEqual([
      ['alias', 'alice', null, 1, 'launch'],
      ['alias', 'bob', 1, 2, 'better'],
      ['alias', 'carol', 2, 3, null],
      ['rollback', 'dave', 3, 2, 'errors up'],
      ['rollback', 'dave', 2, 1, null],
    ]);
    for (const e of moves) expect(Date.parse(e.at)).not.toBeNaN();
    await reg.setAlias('penguins', 'production', 3);
    expect(await reg.rollback('penguins', 'production')).toEqual({ from: 3, to: 1 });
  });

  test('archive: aliased versions cannot be archived, archived versions cannot be aliased, latest skips them', async () => {
    await rejected(reg.archive('penguins', 2), 'E_REGISTRY_ALIASED', /'staging'/);
    await reg.archive('penguins', 3, { by: 'erin', reason: 'superseded' });
    await rejected(reg.archive('penguins', 3), 'E_REGISTRY_ARCHIVED');
    await rejected(reg.setAlias('penguins', 'canary', 3), 'E_REGISTRY_ARCHIVED', /penguins@3 is archived/);
    expect((await reg.resolve('penguins')).version).toBe(2);
    const v3 = await reg.resolve('penguins@3');
    expect(v3.status).toBe('archived');
    expect(await reg.materialize(v3)).toContain('3');
    // Rolling back onto an archived version is refused, and nothing moves.
    await reg.register({ name: 'roll', from: fx.onnx });
    await reg.register({ name: 'roll', from: fx.onnx });
    await reg.setAlias('roll', 'canary', 1);
    await reg.setAlias('roll', 'canary', 2);
    await reg.archive('roll', 1);
    await rejected(reg.rollback('roll', 'canary'), 'E_REGISTRY_ARCHIVED', /roll@1 is archived/);
    expect(await reg.aliases('roll')).toEqual({ canary: 2 });
    expect((await reg.history('roll')).at(-1)).toMatchObject({ action: 'archive', version: 1 });
    const arch = (await reg.history('penguins')).find((e) => e.action === 'archive');
    expect(arch).toMatchObject({ by: 'erin', version: 3, reason: 'superseded' });
  });

  test('list shows every version; bad names and aliases are refused', async () => {
    const all = await reg.list();
    expect(all.map((v) => `${v.name}@${v.version}`)).toEqual(['bare-onnx@1', 'moved@1', 'penguins@1', 'penguins@2', 'penguins@3', 'reported@1', 'roll@1', 'roll@2']);
    expect((await reg.list('penguins')).map((v) => v.status)).toEqual(['active', 'active', 'archived']);
    await rejected(reg.list('penguin'), 'E_REGISTRY_UNKNOWN_MODEL', /did you mean 'penguins'/);
    await rejected(reg.register({ name: '../evil', from: fx.run }), 'E_REGISTRY_NAME');
    await rejected(reg.register({ name: 'a b', from: fx.run }), 'E_REGISTRY_NAME');
    await rejected(reg.setAlias('penguins', '7', 1), 'E_REGISTRY_ALIAS_NAME');
    await rejected(reg.setAlias('penguins', 'latest', 1), 'E_REGISTRY_ALIAS_NAME');
    await rejected(reg.setAlias('penguins', 'prod', 99), 'E_REGISTRY_UNKNOWN_VERSION');
    await rejected(reg.history('nobody'), 'E_REGISTRY_UNKNOWN_MODEL');
  });

  test('bad sources: missing path, not a run, not ONNX, a damaged run', async () => {
    await rejected(reg.register({ name: 'x', from: join(work, 'missing') }), 'E_REGISTRY_SOURCE', /no such file/);
    await rejected(reg.register({ name: 'x', from: work }), 'E_REGISTRY_SOURCE', /not a Switchyard run directory/);
    writeFileSync(join(work, 'notes.txt'), 'hi');
    await rejected(reg.register({ name: 'x', from: join(work, 'notes.txt') }), 'E_REGISTRY_SOURCE', /neither a run directory nor an \.onnx file/);
    writeFileSync(join(work, 'broken.onnx'), Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]));
    await rejected(reg.register({ name: 'x', from: join(work, 'broken.onnx') }), 'E_REGISTRY_SOURCE', /broken\.onnx: cannot read it as an ONNX model/);
    const damaged = join(work, `damaged-${backend}`);
    cpSync(fx.run, damaged, { recursive: true });
    writeFileSync(join(damaged, 'model.safetensors'), 'not the trained weights');
    await rejected(reg.register({ name: 'x', from: damaged }), 'E_MANIFEST', /model\.safetensors/);
    await rejected(reg.resolve('x'), 'E_REGISTRY_UNKNOWN_MODEL'); // nothing half-registered
  });

  test('a tampered stored artefact fails every load with an error naming the file', async () => {
    const v = await reg.register({ name: 'tamper', from: fx.run });
    const art = v.artefacts.find((a) => a.path === 'model.onnx')!;
    await reg.materialize(v);
    if (backend === 'sqlite') writeFileSync(join(location, 'files', art.sha256.slice(0, 2), art.sha256), 'evil bytes');
    else await reg.db.exec('UPDATE blobs SET bytes = $1 WHERE sha256 = $2', [Buffer.from('evil bytes'), art.sha256]);
    await rejected(reg.materialize(v), 'E_REGISTRY_TAMPERED', new RegExp(`tamper@1: artefact model\\.onnx: stored bytes have sha256 [0-9a-f]{64}, registered ${art.sha256}`));
    await rejected(reg.materialize(await reg.resolve('penguins@1')), 'E_REGISTRY_TAMPERED', /model\.onnx/); // same content address
    // Registering the good bytes again repairs the store.
    await reg.register({ name: 'tamper', from: fx.run });
    expect(await reg.materialize(v)).toMatch(/tamper/);
    // A hand-edited artefact path cannot make a load write outside the version directory.
    await reg.db.exec("UPDATE artefacts SET path = '../../escaped.json' WHERE name = 'tamper' AND version = 1 AND path = 'config.json'");
    await rejected(reg.materialize(v), 'E_REGISTRY_TAMPERED', /artefact \.\.\/\.\.\/escaped\.json: the path points outside/);
  });

  test('concurrent registers in one process get distinct versions', async () => {
    const vs = await Promise.all([1, 2, 3, 4].map(() => reg.register({ name: 'busy', from: fx.onnx })));
    expect(vs.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
  });
});
