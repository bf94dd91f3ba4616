/**
 * Versions from the registry (SQLite and PostgreSQL): canary split, shadow comparison, atomic alias switches
 * under concurrent load, a version that fails to load, automatic rollback of an erroring canary, start-up errors.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { openRegistry, type Registry } from '../../src/registry/registry.ts';
import { encodeModel } from '../../src/runtime/onnx/proto.ts';
import type { ShadowEvent } from '../../src/serve/app.ts';
import { hashApiKey } from '../../src/serve/auth.ts';
import { loadModel } from '../../src/serve/model-runner.ts';
import { type RunningServer, startServer } from '../../src/serve/server.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { BACKENDS, freshLocation } from '../pg.ts';
import { failingOnnx, get, post, row, tabularRun, tmp } from './helpers.ts';

const dir = tmp();
const KEY = 'k-admin-0987654321';
const keysFile = join(dir, 'keys.json');
let runs: { a: string; b: string; failing: string; unservable: string };

beforeAll(async () => {
  const a = await tabularRun(dir, 0);
  const b = await tabularRun(dir, 1);
  const unservable = join(dir, 'int-input.onnx');
  writeFileSync(unservable, encodeModel({ opset: 18, graph: { name: 'ints', inputs: [{ name: 'ids', dtype: 'int64', shape: ['n'] }], outputs: [{ name: 'out', dtype: 'int64', shape: ['n'] }], initializers: [], nodes: [{ opType: 'Identity', inputs: ['ids'], outputs: ['out'] }] } }));
  writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'release-bot', sha256: hashApiKey(KEY) }] }));
  runs = { a, b, failing: await failingOnnx(a, join(dir, 'failing.onnx')), unservable };
}, 60_000);

const ROWS = [row(0.3, -0.1), row(-1.2, 0.4), row(2, -0.5)];
const quiet = () => {};

describe.each(BACKENDS)('serving from the registry on %s', (backend) => {
  let reg: Registry;
  let location: string;
  const servers: RunningServer[] = [];
  const serve = async (o: Partial<Parameters<typeof startServer>[0]>) => {
    const s = await startServer({ model: 'm@production', registry: location, port: 0, signals: false, pollMs: 50, log: quiet, apiKeys: keysFile, ...o });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    location = await freshLocation(backend);
    reg = await openRegistry(location);
    for (const from of [runs.a, runs.b, runs.failing, runs.unservable]) await reg.register({ name: 'm', from, by: 'test' });
    await reg.setAlias('m', 'production', 1);
    await reg.setAlias('m', 'canary', 2);
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.close();
    await reg?.close();
  });

  it('unknown model or alias, a tampered artefact: clear errors at start (exit code 2)', async () => {
    const err = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as SwitchyardError);
    for (const model of ['nope@production', 'm@nope']) {
      const e = await err(serve({ model }));
      expect(e).toBeInstanceOf(SwitchyardError);
      expect(e!.exitCode).toBe(2);
      expect(e!.message).toMatch(/nope/);
    }
    if (backend === 'sqlite') {
      const blobs = join(location, 'files');
      const tamperRoot = readdirSync(blobs, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      const v1 = await reg.resolve('m@1');
      const big = v1.artefacts.find((x) => x.path === 'model.safetensors')!;
      const file = tamperRoot.find((d) => d.name.includes(big.sha256))!;
      const p = join(file.parentPath, file.name);
      const bytes = (await import('node:fs')).readFileSync(p);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(p, bytes);
      try {
        // This is the first test: nothing is materialized yet, so the server reads the tampered blob.
        const e = await err(serve({ pollMs: 0 }));
        expect(e!.exitCode).toBe(2);
        expect(e!.message).toMatch(/sha-?256|hash|differs/i);
      } finally {
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(p, bytes);
      }
    }
  }, 60_000);

  it('canary: a seeded weighted split, within binomial bounds', async () => {
    const s = await serve({ canary: 'm@canary', canaryWeight: 0.25, seed: 7, pollMs: 0 });
    const n = 200;
    let canary = 0;
    for (let i = 0; i < n; i++) {
      const r = await post(`${s.url}/v1/predict`, { rows: [ROWS[i % 3]] });
      expect(r.status).toBe(200);
      if (r.body.model.version === '2') canary++;
      else expect(r.body.model.version).toBe('1');
    }
    const sd = Math.sqrt(n * 0.25 * 0.75);
    expect(Math.abs(canary - n * 0.25)).toBeLessThan(4 * sd);
    const m = (await get(`${s.url}/metrics`)).text;
    expect(m).toMatch(/switchyard_model_version_info\{kind="tabular",name="m",role="canary",version="2"\} 1/);
    expect(m).toMatch(new RegExp(`switchyard_predictions_total\\{role="canary",version="2"\\} ${canary}\\b`));
    await s.close();
  }, 60_000);

  it('shadow: mirrored traffic is compared, not returned; agreement matches version 2 run directly', async () => {
    const seen: ShadowEvent[] = [];
    const s = await serve({ shadow: 'm@canary', onShadow: (e) => seen.push(e), pollMs: 0 });
    const rows = Array.from({ length: 30 }, (_, i) => row(i / 7 - 2, Math.sin(i)));
    const served: string[] = [];
    for (const r of rows) {
      const res = await post(`${s.url}/v1/predict`, { rows: [r] });
      expect(res.body.model.version).toBe('1');
      served.push(res.body.predictions[0]);
    }
    while (seen.length < rows.length) await new Promise((r) => setTimeout(r, 5));
    const v2 = await loadModel(await reg.materialize(await reg.resolve('m@2')), { verify: false });
    const direct = (await v2.predict({ rows })).predictions;
    await v2.close();
    const expected = direct.filter((p, i) => p === served[i]).length;
    expect(seen.reduce((a, e) => a + e.agreed, 0)).toBe(expected);
    expect(seen.every((e) => e.served === '1' && e.shadow === '2' && !e.error)).toBe(true);
    const m = (await get(`${s.url}/metrics`)).text;
    expect(m).toMatch(new RegExp(`switchyard_shadow_agreement_ratio\\{served="1",shadow="2"\\} ${(expected / rows.length).toString().slice(0, 6)}`));
    await s.close();
  }, 60_000);

  it('atomic alias switches under concurrent load: no failed request, each response from one whole version', async () => {
    const s = await serve({});
    const ref: Record<string, unknown> = {};
    for (const v of [1, 2]) {
      const m = await loadModel(await reg.materialize(await reg.resolve(`m@${v}`)), { verify: false });
      ref[String(v)] = (await m.predict({ rows: ROWS })).predictions;
      await m.close();
    }
    expect(ref['1']).not.toEqual(undefined);
    let stop = false;
    const seen = new Set<string>();
    const failures: unknown[] = [];
    let answered = 0;
    const worker = async () => {
      while (!stop) {
        const r = await post(`${s.url}/v1/predict`, { rows: ROWS }).catch((e: Error) => ({ status: -1, body: e.message, headers: new Headers() }));
        if (r.status !== 200) failures.push(r.body);
        else {
          seen.add(r.body.model.version);
          if (JSON.stringify(r.body.predictions) !== JSON.stringify(ref[r.body.model.version])) failures.push({ mixed: r.body });
          answered++;
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let i = 0; i < 6; i++) {
      const version = i % 2 === 0 ? 2 : 1;
      const r = await post(`${s.url}/v1/admin/alias`, { alias: 'production', version, reason: `switch ${i}` }, { authorization: `Bearer ${KEY}` });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.serving).toBe(String(version));
      await new Promise((res) => setTimeout(res, 20));
    }
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    expect([...seen].sort()).toEqual(['1', '2']);
    const hist = await reg.history('m');
    expect(hist.filter((h) => h.action === 'alias' && h.alias === 'production' && h.by === 'release-bot')).toHaveLength(6);
    expect((await get(`${s.url}/metrics`)).text).toMatch(/switchyard_model_switches_total\{role="primary"\} 6/);
  }, 90_000);

  it('a version that fails to load is skipped: the last good version keeps serving', async () => {
    const s = await serve({});
    const before = (await post(`${s.url}/v1/predict`, { rows: ROWS })).body.model.version;
    const r = await post(`${s.url}/v1/admin/alias`, { version: 4 }, { authorization: `Bearer ${KEY}` });
    expect(r.status).toBe(200);
    expect(r.body.serving).toBe(before);
    expect(r.body.lastError).toMatch(/serving needs one float32 \[N, F\] input/);
    const after = await post(`${s.url}/v1/predict`, { rows: ROWS });
    expect(after.status).toBe(200);
    expect(after.body.model.version).toBe(before);
    const ready = await get(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    // Public readiness names the failed version and its error code, never the message (it holds file paths).
    expect(ready.body.primary.failed).toEqual({ version: '4', code: 'E_MODEL_SCHEMA' });
    expect(ready.text).not.toContain('/');
    expect((await get(`${s.url}/metrics`)).text).toMatch(/switchyard_model_load_failures_total\{role="primary"\} 1/);
    await reg.setAlias('m', 'production', 1, { by: 'test' });
  }, 60_000);

  it('automatic rollback: an erroring canary leaves traffic, its alias moves back, an incident is recorded', async () => {
    await reg.setAlias('m', 'canary', 3, { by: 'test', reason: 'try the new model' });
    const s = await serve({ canary: 'm@canary', canaryWeight: 0.5, seed: 3, rollback: { maxErrorRate: 0.2, minRequests: 10, window: 50 } });
    expect(s.router.slots.canary?.model?.version).toBe('3');
    const statuses: number[] = [];
    const versions: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await post(`${s.url}/v1/predict`, { rows: [row(50, 0)] }); // version 3 fails in ONNX Runtime on this row
      statuses.push(r.status);
      if (r.status === 200) versions.push(r.body.model.version);
      await s.guard.settled();
    }
    expect(statuses.filter((x) => x === 500).length).toBeGreaterThanOrEqual(3);
    expect(s.guard.done).toHaveLength(1);
    expect(s.guard.done[0]).toMatchObject({ rule: 'error-rate', version: '3', registry: { from: 3, to: 2 } });
    expect((await reg.aliases('m')).canary).toBe(2);
    expect((await reg.history('m')).some((h) => h.action === 'rollback' && h.alias === 'canary' && h.from === 3 && h.to === 2)).toBe(true);
    const incidents = await (await openIncidentLog(reg.db)).list({ model: 'm' });
    expect(incidents[0]).toMatchObject({ kind: 'rollback', versions: ['3', '2'], details: { rule: 'error-rate', ref: 'm@canary' } });
    // After the rollback no request reaches version 3 and none fails.
    const tail = statuses.slice(statuses.lastIndexOf(500) + 1);
    expect(tail.length).toBeGreaterThan(10);
    expect(tail.every((x) => x === 200)).toBe(true);
    expect((await get(`${s.url}/metrics`)).text).toMatch(/switchyard_rollbacks_total\{rule="error-rate"\} 1/);
  }, 60_000);

  it('automatic rollback of the primary (opt-in): a failing production version is replaced by the one before it', async () => {
    await reg.setAlias('m', 'production', 2, { by: 'test', reason: 'known good' });
    const s = await serve({ rollback: { maxErrorRate: 0.2, minRequests: 10, window: 50, primary: true } });
    expect(s.router.slots.primary.model?.version).toBe('2');
    await reg.setAlias('m', 'production', 3, { by: 'test', reason: 'release the new model' });
    for (let i = 0; i < 500 && s.router.slots.primary.model?.version !== '3'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.router.slots.primary.model?.version).toBe('3');
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      statuses.push((await post(`${s.url}/v1/predict`, { rows: [row(50, 0)] })).status); // version 3 fails on this row
      // The primary keeps serving version 3 until version 2 is loaded; wait for a rollback in progress so the
      // count of failures does not depend on how fast the registry and the load are on this machine.
      await s.guard.settled();
    }
    expect(s.guard.done, JSON.stringify(s.guard.done)).toHaveLength(1);
    expect(s.guard.done[0]).toMatchObject({ rule: 'error-rate', role: 'primary', version: '3', registry: { from: 3, to: 2 } });
    expect(s.router.slots.primary.model?.version).toBe('2');
    expect((await reg.aliases('m')).production).toBe(2);
    expect((await reg.history('m')).some((h) => h.action === 'rollback' && h.alias === 'production' && h.from === 3 && h.to === 2 && h.by === 'switchyard-serve')).toBe(true);
    const incidents = await (await openIncidentLog(reg.db)).list({ model: 'm' });
    expect(incidents.some((i) => i.details.role === 'primary' && i.versions.join() === '3,2')).toBe(true);
    // Failures stop once version 2 is back; the primary never stopped answering.
    const tail = statuses.slice(statuses.lastIndexOf(500) + 1);
    expect(tail.length).toBeGreaterThan(10);
    expect(tail.every((x) => x === 200)).toBe(true);
  }, 60_000);
});
