/**
 * Hostile files around the registry and serving: a model planted in the registry's cache or beside a run is
 * never served or registered. Only what a run's manifest lists (or the registry recorded), verified, is loaded;
 * other files beside a run are never read. Driven through the real CLI and a real server on loopback.
 */
import { chmodSync, copyFileSync, cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRegistry } from '../../src/registry/registry.ts';
import { type RunningServer, startServer } from '../../src/serve/server.ts';
import { exportTabular } from '../../src/train/tabular-predict.ts';
import { listFiles } from '../../src/util/fs.ts';
import { cli, expectBadInput } from '../cli/helpers.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { post, row, tabularRun, tmp } from '../serve/helpers.ts';

const ROWS = [row(0.5, 0.25), row(-1, 0.3), row(2, -0.5), row(-0.2, -0.1)];

/** The class probabilities a freshly started server returns for {@link ROWS}. */
async function servedProbabilities(o: { model: string; registry?: string }): Promise<number[][]> {
  const s: RunningServer = await startServer({ ...o, port: 0, signals: false, pollMs: 0, log: () => {} });
  try {
    const r = await post(`${s.url}/v1/predict`, { rows: ROWS });
    expect(r.status).toBe(200);
    return r.body.probabilities as number[][];
  } finally {
    await s.close();
  }
}

let work: string;
let run: string;
let planted: string;
const savedCache = process.env.SWITCHYARD_REGISTRY_CACHE;
beforeAll(async () => {
  work = tmp('sy-hostile-reg-');
  run = await tabularRun(work, 0, 2); // a real run: config, safetensors, manifest; no model.onnx
  planted = join(work, 'planted.onnx'); // a different model with the same inputs
  await exportTabular(await tabularRun(work, 1, 2), planted);
}, 60_000);
afterAll(() => {
  if (savedCache === undefined) delete process.env.SWITCHYARD_REGISTRY_CACHE;
  else process.env.SWITCHYARD_REGISTRY_CACHE = savedCache;
});

describe.each(BACKENDS)('registry on %s', (backend) => {
  test('a model.onnx planted in the materialized cache is never served, and the next materialize removes it', async () => {
    const location = await freshLocation(backend);
    process.env.SWITCHYARD_REGISTRY_CACHE = tmp('sy-hostile-cache-'); // used by a PostgreSQL registry
    const cacheDir = backend === 'sqlite' ? join(location, 'materialized') : process.env.SWITCHYARD_REGISTRY_CACHE;
    const reg = await openRegistry(location, { cacheDir });
    await reg.register({ name: 'm', from: run });
    await reg.setAlias('m', 'production', 1);
    await reg.close();
    const verified = await servedProbabilities({ model: run });
    expect(await servedProbabilities({ model: 'm@production', registry: location })).toEqual(verified);

    const m = cli(['registry', 'materialize', 'm@production', '--registry', location, '--json']);
    expect(m.json.dir).toBe(join(cacheDir, 'm', '1'));
    const registered = readdirSync(m.json.dir).sort();
    expect(registered).not.toContain('model.onnx');
    copyFileSync(planted, join(m.json.dir, 'model.onnx'));
    expect(await servedProbabilities({ model: planted })).not.toEqual(verified); // the plant would be visible

    expect(await servedProbabilities({ model: 'm@production', registry: location })).toEqual(verified);
    const again = cli(['registry', 'materialize', 'm@production', '--registry', location, '--json']);
    expect(again.json.dir).toBe(m.json.dir);
    expect((await listFiles(again.json.dir)).sort()).toEqual(registered);
  }, 180_000);
});

describe.each(BACKENDS)('registry on %s: what the database says is checked too', (backend) => {
  test('a model file added to a version behind its manifest (by hand, or before such runs were refused) is never served', async () => {
    const location = await freshLocation(backend);
    const reg = await openRegistry(location, { cacheDir: tmp('sy-hostile-cache-') });
    try {
      await reg.register({ name: 'm', from: run });
      const plant = await reg.register({ name: 'plant', from: planted }); // stores the planted bytes
      const { sha256, bytes } = plant.artefacts[0];
      await reg.db.exec('INSERT INTO artefacts (name, version, path, sha256, bytes) VALUES ($1, $2, $3, $4, $5)', ['m', 1, 'model.onnx', sha256, bytes]);
      await expect(reg.materialize(await reg.resolve('m@1'))).rejects.toMatchObject({ code: 'E_UNLISTED_MODEL', message: expect.stringMatching(/m@1: model\.onnx is a model file/) });
      await expect(startServer({ model: 'm@1', registry: location, port: 0, signals: false, pollMs: 0, log: () => {} })).rejects.toMatchObject({ code: 'E_UNLISTED_MODEL' });
    } finally {
      await reg.close();
    }
  }, 120_000);

  test('hand-edited artefact rows: a hash that names another file and a wrong size are refused before any byte is used', async () => {
    const location = await freshLocation(backend);
    const reg = await openRegistry(location, { cacheDir: tmp('sy-hostile-cache-') });
    try {
      const v = await reg.register({ name: 'm', from: planted });
      const sha = v.artefacts[0].sha256;
      await reg.db.exec('UPDATE artefacts SET bytes = bytes + 1 WHERE name = $1', ['m']);
      await expect(reg.materialize(v)).rejects.toMatchObject({ code: 'E_REGISTRY_TAMPERED', message: expect.stringMatching(/bytes stored, \d+ registered/) });
      await reg.db.exec('UPDATE artefacts SET sha256 = $1 WHERE name = $2', ['../../../../../../etc/passwd', 'm']);
      await expect(reg.materialize(v)).rejects.toMatchObject({ code: 'E_REGISTRY_TAMPERED' });
      await reg.db.exec('UPDATE artefacts SET sha256 = $1 WHERE name = $2', [sha, 'm']);
      // A lineage or metrics column that is not a JSON object is one clear error, not a stack trace.
      await reg.db.exec('UPDATE versions SET lineage = $1 WHERE name = $2', ['{"truncated', 'm']);
      await expect(reg.resolve('m@1')).rejects.toMatchObject({ code: 'E_REGISTRY_TAMPERED', message: expect.stringMatching(/m@1: .*lineage column/) });
      await reg.db.exec('UPDATE versions SET lineage = $1, metrics = $2 WHERE name = $3', ['{}', '[1]', 'm']);
      await expect(reg.resolve('m@1')).rejects.toMatchObject({ code: 'E_REGISTRY_TAMPERED', message: expect.stringMatching(/metrics column/) });
    } finally {
      await reg.close();
    }
  }, 120_000);

  // A directory registry's server caches in <dir>/materialized; PostgreSQL ones share $SWITCHYARD_REGISTRY_CACHE.
  test.runIf(backend === 'postgres')('two registries sharing one cache directory never serve each other\'s model under the same NAME@VERSION', async () => {
    const cacheDir = tmp('sy-hostile-cache-');
    const served: number[][][] = [];
    for (const from of [run, join(work, 'run-1')]) {
      const location = await freshLocation(backend);
      const reg = await openRegistry(location, { cacheDir });
      await reg.register({ name: 'm', from }); // no model.onnx: served through an in-process export
      await reg.close();
      process.env.SWITCHYARD_REGISTRY_CACHE = cacheDir;
      served.push(await servedProbabilities({ model: 'm@1', registry: location }));
    }
    expect(served[1]).not.toEqual(served[0]);
    expect(served[1]).toEqual(await servedProbabilities({ model: join(work, 'run-1') }));
  }, 120_000);

  test('a cache directory another user could write into is refused', async () => {
    const location = await freshLocation(backend);
    const cacheDir = tmp('sy-hostile-cache-');
    chmodSync(cacheDir, 0o777); // not sticky: anyone could rename a verified directory away and put theirs in
    const reg = await openRegistry(location, { cacheDir });
    try {
      const v = await reg.register({ name: 'm', from: run });
      await expect(reg.materialize(v)).rejects.toMatchObject({ code: 'E_REGISTRY_CACHE', message: expect.stringContaining('writable by every user') });
      await expect(reg.materialize(v, { private: true })).rejects.toMatchObject({ code: 'E_REGISTRY_CACHE' });
      chmodSync(cacheDir, 0o700);
      expect(readdirSync(await reg.materialize(v))).toContain('model.safetensors');
    } finally {
      await reg.close();
    }
  }, 120_000);
});

describe('a run directory loads only what its manifest lists', () => {
  test('an unlisted model.onnx beside the run: serve and register refuse the run, naming the file', async () => {
    const bad = join(work, 'run-planted');
    cpSync(run, bad, { recursive: true });
    copyFileSync(planted, join(bad, 'model.onnx'));
    await expect(startServer({ model: bad, port: 0, signals: false, pollMs: 0, log: () => {} })).rejects.toMatchObject({
      code: 'E_UNLISTED_MODEL',
      message: expect.stringContaining(join(bad, 'model.onnx')),
    });
    const location = join(tmp(), 'registry');
    expectBadInput(cli(['registry', 'register', '--name', 'm', '--from', bad, '--registry', location]), /model\.onnx: file is not listed in the manifest/);
    expectBadInput(cli(['registry', 'list', 'm', '--registry', location]), /no model named 'm'/); // nothing registered
    // Any other model file name counts too: serving would pick a lone .onnx.
    rmSync(join(bad, 'model.onnx'));
    copyFileSync(planted, join(bad, 'other.onnx'));
    await expect(startServer({ model: bad, port: 0, signals: false, pollMs: 0, log: () => {} })).rejects.toMatchObject({ code: 'E_UNLISTED_MODEL' });
  }, 120_000);

  test('a run without a manifest is refused with a hint; unlisted reports beside a run are never loaded or stored', async () => {
    const bare = join(work, 'run-no-manifest');
    cpSync(run, bare, { recursive: true });
    rmSync(join(bare, 'manifest.json'));
    await expect(startServer({ model: bare, port: 0, signals: false, pollMs: 0, log: () => {} })).rejects.toMatchObject({ code: 'E_MANIFEST', hint: expect.stringMatching(/switchyard train/) });
    const location = join(tmp(), 'registry');
    expectBadInput(cli(['registry', 'register', '--name', 'm', '--from', bare, '--registry', location]), /no manifest/);

    const reported = join(work, 'run-reported');
    cpSync(run, reported, { recursive: true });
    writeFileSync(join(reported, 'report.html'), '<html>not an artefact</html>');
    writeFileSync(join(reported, 'metrics.json.bak'), '{}');
    expect(await servedProbabilities({ model: reported })).toEqual(await servedProbabilities({ model: run }));
    const r = cli(['registry', 'register', '--name', 'm', '--from', reported, '--registry', location, '--json']);
    expect(r.code).toBe(0);
    const paths = (r.json.version.artefacts as { path: string }[]).map((a) => a.path);
    expect(paths).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'manifest.json']));
    expect(paths).not.toContain('report.html');
    expect(paths).not.toContain('metrics.json.bak');
  }, 120_000);
});
