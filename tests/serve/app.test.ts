/**
 * The HTTP API on a real server on loopback (port 0), serving real trained runs through ONNX Runtime:
 * every endpoint, Prometheus output, bad requests, auth, rate limits, hooks, SSE generation, graceful shutdown.
 */
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../../src/compress/compress.ts';
import { GPT_PRESETS } from '../../src/models/gpt.ts';
import { openRegistry } from '../../src/registry/registry.ts';
import type { PredictionEvent } from '../../src/serve/app.ts';
import { hashApiKey } from '../../src/serve/auth.ts';
import { type RunningServer, startServer } from '../../src/serve/server.ts';
import { trainLm } from '../../src/train/lm.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { get, post, row, tabularRun, tmp } from './helpers.ts';

const dir = tmp();
let run = '';
let s: RunningServer;
const events: PredictionEvent[] = [];
const KEY = 'k-ops-1234567890';

beforeAll(async () => {
  run = await tabularRun(dir);
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, JSON.stringify({ keys: [{ name: 'ops', sha256: hashApiKey(KEY) }] }));
  s = await startServer({
    model: run,
    port: 0,
    signals: false,
    pollMs: 0,
    apiKeys: keys,
    bodyLimit: 4096,
    log: () => {},
    onPrediction: (e) => events.push(e),
    plugins: [(app, ctx) => void app.get('/v1/extra', async (req, reply) => (ctx.requireKey(req, reply) ? { version: ctx.router.slots.primary.model?.version } : reply))],
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('serving a tabular run', () => {
  it('predicts labels and probabilities for JSON rows, with model name and version', async () => {
    const r = await post(`${s.url}/v1/predict`, { rows: [row(2, 2), row(-2, -2), { ...row(), color: 'purple', member: null, id: 'x9', label: 'yes' }] });
    expect(r.status).toBe(200);
    expect(r.body.model).toEqual({ name: 'run-0', version: 'local' });
    expect(r.body.classes).toEqual(['no', 'yes']);
    expect(r.body.predictions).toHaveLength(3);
    for (const p of r.body.probabilities) expect(p[0] + p[1]).toBeCloseTo(1, 5);
    // The model learned x1 + x2 > 0: far from the boundary it leans the right way.
    expect(r.body.probabilities[0][1]).toBeGreaterThan(r.body.probabilities[1][1]);
    expect(r.headers.get('x-model-version')).toBe('local');
  });

  it('answers concurrent requests from micro-batches with the same results as one at a time', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(i / 10 - 2, 1 - i / 20));
    const alone = await post(`${s.url}/v1/predict`, { rows });
    const each = await Promise.all(rows.map((r) => post(`${s.url}/v1/predict`, { rows: [r] })));
    each.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.predictions[0]).toBe(alone.body.predictions[i]);
      expect(r.body.probabilities[0][1]).toBeCloseTo(alone.body.probabilities[i][1], 5);
    });
    const m = (await get(`${s.url}/metrics`)).text;
    const count = Number(/switchyard_batch_size_count\{role="primary"\} (\d+)/.exec(m)?.[1]);
    const sum = Number(/switchyard_batch_size_sum\{role="primary"\} (\d+)/.exec(m)?.[1]);
    expect(sum / count).toBeGreaterThan(1); // some calls held several requests
  });

  it('healthz, readyz and the OpenAPI document with the predict schema from the model', async () => {
    expect((await get(`${s.url}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await get(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, model: 'run-0', primary: { version: 'local' } });
    const doc = (await get(`${s.url}/openapi.json`)).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/predict', '/healthz', '/readyz', '/metrics', '/v1/admin/alias']));
    const item = doc.components.schemas.PredictRequest.properties.rows.items;
    expect(item.required).toEqual(['x1', 'x2', 'color', 'member']);
    expect(item.properties.x1.type).toEqual(['number', 'null']);
    expect(item.properties.color.examples).toEqual(expect.arrayContaining(['red', 'green', 'blue']));
  });

  it('Prometheus text: request counts by route/status, latency histogram, model version info, in-flight', async () => {
    await post(`${s.url}/v1/predict`, { rows: [row()] });
    const m = await get(`${s.url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.text).toMatch(/# TYPE switchyard_http_requests_total counter/);
    expect(m.text).toMatch(/switchyard_http_requests_total\{method="POST",route="\/v1\/predict",status="200"\} \d+/);
    expect(m.text).toMatch(/switchyard_http_request_duration_seconds_bucket\{route="\/v1\/predict",le="\+Inf"\} \d+/);
    expect(m.text).toMatch(/switchyard_model_version_info\{kind="tabular",name="run-0",role="primary",version="local"\} 1/);
    expect(m.text).toMatch(/switchyard_http_requests_in_flight \d+/);
    // Every sample line is `name{labels} value` with a numeric value.
    for (const line of m.text.trim().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? (-?[\d.e+-]+|\+Inf|NaN)$/);
  });

  it('bad requests get a 4xx JSON error naming the row and field; the server keeps serving', async () => {
    const cases: [unknown, number, string, RegExp][] = [
      [{ rows: [row(), { ...row(), x1: 'abc' }] }, 400, 'E_BAD_ROW', /rows\[1\]\.x1: expected a number, got string "abc"/],
      [{ rows: [{ x1: 1, x2: 2, color: 'red' }] }, 400, 'E_BAD_ROW', /rows\[0\]: field 'member' is missing/],
      [{ rows: [{ ...row(), colour: 'red' }] }, 400, 'E_BAD_ROW', /rows\[0\]: unknown field 'colour'/],
      [{ rows: [{ ...row(), member: 'maybe' }] }, 400, 'E_BAD_ROW', /rows\[0\]\.member: expected true or false/],
      [{ rows: [] }, 400, 'E_BAD_ROW', /"rows" is empty/],
      [{ data: [] }, 400, 'E_BAD_ROW', /"rows" array/],
      [{ rows: [[1, 2, 3]] }, 400, 'E_BAD_ROW', /rows\[0\]: expected an object/],
      ['{"rows": [', 400, 'E_BAD_JSON', /JSON/],
      [{ rows: Array.from({ length: 200 }, () => row()) }, 413, 'E_BODY_TOO_LARGE', /larger than the limit of 4096 bytes/],
    ];
    for (const [body, status, code, re] of cases) {
      const r = await post(`${s.url}/v1/predict`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(r.body.error.message).toMatch(re);
      expect(r.body.error.hint.length).toBeGreaterThan(0);
    }
    const hint = (await post(`${s.url}/v1/predict`, { rows: [{ ...row(), colour: 'red' }] })).body.error.hint;
    expect(hint).toMatch(/did you mean 'color'/);
    expect((await post(`${s.url}/v1/generate`, { prompt: 'x' })).body.error.code).toBe('E_MODEL_KIND');
    expect((await get(`${s.url}/nope`)).status).toBe(404);
    expect((await post(`${s.url}/v1/predict`, { rows: [row()] })).status).toBe(200);
  });

  it('state-changing routes need a valid API key; plugins get requireKey', async () => {
    const none = await post(`${s.url}/v1/admin/reload`, {});
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/needs an API key/);
    const wrong = await post(`${s.url}/v1/admin/reload`, {}, { authorization: 'Bearer wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/not valid/);
    const ok = await post(`${s.url}/v1/admin/reload`, {}, { authorization: `Bearer ${KEY}` });
    expect(ok.status).toBe(200);
    expect(ok.body.ok).toBe(true);
    const alias = await post(`${s.url}/v1/admin/alias`, { version: 2 }, { authorization: `Bearer ${KEY}` });
    expect(alias.status).toBe(400);
    expect(alias.body.error.code).toBe('E_NO_REGISTRY');
    expect((await get(`${s.url}/v1/extra`)).status).toBe(401);
  });

  it('the monitoring hook sees inputs, outputs, version and latency', () => {
    expect(events.length).toBeGreaterThan(0);
    const e = events[0];
    expect(e).toMatchObject({ model: 'run-0', version: 'local', role: 'primary' });
    expect(e.inputs).toHaveLength(3);
    expect(e.outputs.predictions).toHaveLength(3);
    expect(e.latencyMs).toBeGreaterThan(0);
  });
});

describe('limits, start-up errors and shutdown', () => {
  it('rate limit: a token bucket per client answers 429 with Retry-After', async () => {
    const rl = await startServer({ model: run, port: 0, signals: false, pollMs: 0, log: () => {}, rateLimit: { rate: 0.5, burst: 3 } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await post(`${rl.url}/v1/predict`, { rows: [row()] })).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const r = await post(`${rl.url}/v1/predict`, { rows: [row()] });
      expect(r.body.error.code).toBe('E_RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await get(`${rl.url}/healthz`)).status).toBe(200); // health is never limited
    } finally {
      await rl.close();
    }
  });

  it('port in use, a tampered artefact and a missing model fail at start with clear errors', async () => {
    const err = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as SwitchyardError);
    const inUse = await err(startServer({ model: run, port: s.port, signals: false, pollMs: 0, log: () => {} }));
    expect(inUse).toBeInstanceOf(SwitchyardError);
    expect(inUse!.code).toBe('E_PORT_IN_USE');
    expect(inUse!.exitCode).toBe(2);
    const missing = await err(startServer({ model: join(dir, 'nope'), port: 0, signals: false, log: () => {} }));
    expect(missing!.code).toBe('E_MODEL_LOAD');
    const noReg = await err(startServer({ model: 'churn@production', port: 0, signals: false, log: () => {} }));
    expect(noReg!.code).toBe('E_USAGE');
    const bad = await tabularRun(dir, 7, 1);
    await writeFile(join(bad, 'config.json'), (await import('node:fs')).readFileSync(join(bad, 'config.json'), 'utf8').replace('"relu"', '"relu" '));
    const tampered = await err(startServer({ model: bad, port: 0, signals: false, log: () => {} }));
    expect(tampered!.code).toBe('E_MANIFEST');
    expect(tampered!.message).toMatch(/config\.json: (size|sha256)/);
  }, 60_000);

  it('graceful shutdown: in-flight requests finish, new connections are refused', async () => {
    const g = await startServer({ model: run, port: 0, signals: false, pollMs: 0, log: () => {}, load: { batchWaitMs: 300, maxBatch: 1000 } });
    const inflight = Array.from({ length: 5 }, () => post(`${g.url}/v1/predict`, { rows: [row()] }));
    // Wait until all five are inside the server (queued in the 300 ms batch window), then shut down.
    while (g.router.slots.primary.model!.inflight < 5) await new Promise((r) => setTimeout(r, 2));
    const closing = g.close();
    const done = await Promise.all(inflight);
    await closing;
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await expect(fetch(`${g.url}/healthz`)).rejects.toThrow();
  });
});

describe('serving a language model', () => {
  it('streams tokens as Server-Sent Events, or answers JSON with stream: false', async () => {
    const text = join(dir, 'corpus.txt');
    writeFileSync(text, 'the cat sat on the mat. '.repeat(200));
    const out = join(dir, 'lm');
    const cfg = { ...GPT_PRESETS.tiny, dModel: 16, layers: 1, heads: 2, context: 16, mlpHidden: 32 };
    await trainLm({ data: [text], out, model: cfg, steps: 4, batchSize: 4, evalEvery: 4, evalTokens: 256, progress: { enabled: false }, threads: 1 });
    const lm = await startServer({ model: out, port: 0, signals: false, pollMs: 0, log: () => {} });
    try {
      const r = await fetch(`${lm.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'the ', max_tokens: 12, temperature: 0 }) });
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = await r.text();
      const events = body.trim().split('\n\n').map((e) => ({ name: /^event: (\w+)/.exec(e)![1], data: JSON.parse(/\ndata: (.*)$/.exec(e)![1]) }));
      expect(events[0].name).toBe('start');
      expect(events.at(-1)!.name).toBe('done');
      const tokens = events.filter((e) => e.name === 'token').map((e) => e.data.text).join('');
      expect(tokens).toBe(events.at(-1)!.data.text);
      expect(events.at(-1)!.data.tokens).toBe(12);
      const j = await post(`${lm.url}/v1/generate`, { prompt: 'the ', max_tokens: 12, temperature: 0, stream: false });
      expect(j.status).toBe(200);
      expect(j.body.text).toBe(tokens); // greedy: the same text
      const bad = await post(`${lm.url}/v1/generate`, { prompt: 'the ', max_tokens: -1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/'max_tokens'/);
      expect((await post(`${lm.url}/v1/predict`, { rows: [{}] })).body.error.code).toBe('E_MODEL_KIND');
    } finally {
      await lm.close();
    }
  }, 60_000);

  it('serves the int8 decode step of `switchyard compress` from the registry', async () => {
    const int8 = join(dir, 'lm.int8.onnx');
    await compressModel({ model: join(dir, 'lm'), out: int8, minElements: 256, progress: { enabled: false } });
    const reg = await openRegistry(join(dir, 'lm-registry'));
    const v = await reg.register({ name: 'lm', from: int8, by: 'test', reason: 'int8' });
    await reg.setAlias('lm', 'production', v.version, { by: 'test' });
    await reg.close();
    const srv = await startServer({ model: 'lm@production', registry: join(dir, 'lm-registry'), port: 0, signals: false, pollMs: 0, log: () => {} });
    try {
      const j = await post(`${srv.url}/v1/generate`, { prompt: 'the ', max_tokens: 8, temperature: 0, stream: false });
      expect(j.status, JSON.stringify(j.body)).toBe(200);
      expect(j.body.tokens).toBe(8);
      expect((await post(`${srv.url}/v1/predict`, { rows: [{}] })).body.error.code).toBe('E_MODEL_KIND');
    } finally {
      await srv.close();
    }
  }, 60_000);
});
