/**
 * Hostile clients against a real server on loopback: slow and silent connections (injected short timeouts,
 * raw sockets), abandoned and piled-up generations, snooping on the monitor, non-finite numbers in and out,
 * a flood of one repeated row against the canary, huge requests, aborted requests, a forged Host header,
 * path leaks on public routes and mistyped admin bodies. Nothing here waits on a long wall-clock duration.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SERVE_SPEC } from '../../src/cli/serve-verb.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { openIncidentLog } from '../../src/monitor/incidents.ts';
import { GPT_PRESETS } from '../../src/models/gpt.ts';
import { openRegistry } from '../../src/registry/registry.ts';
import { encodeModel } from '../../src/runtime/onnx/proto.ts';
import { hashApiKey } from '../../src/serve/auth.ts';
import { type RunningServer, type ServerOptions, startServer } from '../../src/serve/server.ts';
import { trainLm } from '../../src/train/lm.ts';
import { Rng } from '../../src/util/rng.ts';
import { get, post, row, tabularRun, tmp } from '../serve/helpers.ts';

const dir = tmp('sy-hostile-server-');
const KEY = 'k-hostile-1234567890';
const auth = { authorization: `Bearer ${KEY}` };
const keysFile = join(dir, 'keys.json');
/** The head of a raw predict request, less its Content-Length. */
const POST_JSON = 'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
let run = '';
const servers: RunningServer[] = [];

async function serve(o: Partial<ServerOptions>): Promise<RunningServer> {
  const quiet = { signals: false, pollMs: 0, log: () => {} };
  const s = await startServer({ model: run, port: 0, ...quiet, apiKeys: keysFile, ...o });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  run = await tabularRun(dir);
  writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'ops', sha256: hashApiKey(KEY) }] }));
}, 60_000);
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** A raw TCP connection: `talk` writes to it; resolves with everything the server sent once the connection closes. */
function rawConnection(port: number, talk: (c: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('error', reject);
    c.on('close', () => resolve(got));
    c.on('connect', () => talk(c));
  });
}

/** Writes `piece` every 20 ms until the server closes the connection. */
function trickle(c: Socket, piece: string): void {
  const t = setInterval(() => (c.destroyed ? clearInterval(t) : c.write(piece)), 20);
}

/** The value of one Prometheus series (0 when absent). */
async function metric(url: string, series: string): Promise<number> {
  const line = (await get(`${url}/metrics`)).text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('connection timeouts (item 7)', () => {
  it('slow headers, a slow body, an idle keep-alive connection and a silent socket are cut off', async () => {
    const s = await serve({ limits: { timeouts: { headersMs: 200, requestMs: 400, keepAliveMs: 150, idleMs: 0 } } });
    const slowHead = rawConnection(s.port, (c) => {
      c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      trickle(c, 'X-Slow: 1\r\n');
    });
    const slowBody = rawConnection(s.port, (c) => {
      c.write(`${POST_JSON}Content-Length: 100000\r\n\r\n`);
      c.write('{');
      trickle(c, ' ');
    });
    const keepAlive = rawConnection(s.port, (c) => c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    const [head, body, idle] = await Promise.all([slowHead, slowBody, keepAlive]);
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(body).toMatch(/^HTTP\/1\.1 408 /);
    expect(idle).toMatch(/^HTTP\/1\.1 200 /); // answered, then closed by the keep-alive timeout
    const quiet = await serve({ limits: { timeouts: { headersMs: 60_000, requestMs: 60_000, idleMs: 100 } } });
    expect(await rawConnection(quiet.port, (c) => c.write('GET /healthz HTTP/1.1\r\n'))).toBe('');
  }, 20_000);

  it('the limits are serve flags with ranges; a head timeout longer than the request timeout is refused', async () => {
    const args = (...more: string[]) => parseArgs(['--model', 'm', ...more], SERVE_SPEC, 'serve');
    const a = args();
    expect([a['headers-timeout-ms'], a['request-timeout-ms']]).toEqual([10_000, 30_000]);
    expect([a['keep-alive-timeout-ms'], a['idle-timeout-ms']]).toEqual([5_000, 60_000]);
    expect(() => args('--keep-alive-timeout-ms', '0')).toThrow(/keep-alive-timeout-ms/);
    expect(() => args('--max-rows', '1.5')).toThrow(/max-rows/);
    const inverted = serve({ limits: { timeouts: { headersMs: 500, requestMs: 100 } } });
    await expect(inverted).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

describe('generation (item 8)', () => {
  let lm = '';
  beforeAll(async () => {
    const text = join(dir, 'corpus.txt');
    writeFileSync(text, 'the cat sat on the mat. '.repeat(200));
    lm = join(dir, 'lm');
    const cfg = { ...GPT_PRESETS.tiny, dModel: 16, layers: 1, heads: 2, context: 16, mlpHidden: 32 };
    const budget = { steps: 4, batchSize: 4, evalEvery: 4, evalTokens: 256 };
    await trainLm({ data: [text], out: lm, model: cfg, ...budget, progress: { enabled: false }, threads: 1 });
  }, 60_000);

  /** Starts an SSE generation; resolves once its `until` event arrived, with the request and its whole stream. */
  async function startStream(url: string, maxTokens: number, until: 'start' | 'token') {
    const u = new URL(`${url}/v1/generate`);
    const headers = { 'content-type': 'application/json' };
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers });
    req.end(JSON.stringify({ prompt: 'the ', max_tokens: maxTokens, temperature: 0 }));
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    let text = '';
    const started = new Promise<void>((r) =>
      res.on('data', (d) => {
        text += d;
        if (text.includes(`event: ${until}`)) r();
      }),
    );
    const ended = new Promise<string>((r) => res.on('end', () => r(text)));
    await started;
    return { req, ended };
  }

  it('a client that disconnects mid-generation stops it: the next request is not kept waiting', async () => {
    const s = await serve({ model: lm, limits: { maxTokens: 4096 } });
    const first = await startStream(s.url, 4096, 'token');
    first.req.destroy();
    // Generations run one at a time: when this one answers, the abandoned one has stopped.
    const next = await post(`${s.url}/v1/generate`, { prompt: 'the ', max_tokens: 1, stream: false });
    expect(next.status).toBe(200);
    expect(await metric(s.url, 'switchyard_generations_total{outcome="disconnected"}')).toBe(1);
    expect(await metric(s.url, 'switchyard_generated_tokens_total')).toBeLessThan(4096);
  }, 60_000);

  it('the idle timeout does not cut a generation that waits in the queue', async () => {
    const s = await serve({ model: lm, limits: { maxTokens: 4096, timeouts: { idleMs: 200 } } });
    const first = await startStream(s.url, 4096, 'token');
    const second = post(`${s.url}/v1/generate`, { prompt: 'the ', max_tokens: 2, stream: false });
    const queued = async () => expect(await metric(s.url, 'switchyard_generations_queued')).toBe(2);
    await vi.waitFor(queued, { interval: 10 });
    await new Promise((r) => setTimeout(r, 400)); // twice the idle timeout, while `second` waits silently
    first.req.destroy();
    expect((await second).status).toBe(200);
  }, 60_000);

  it('queued generations are capped (503 + Retry-After), max_tokens has a ceiling, shutdown cancels them', async () => {
    const dflt = await serve({ model: lm });
    const over = await post(`${dflt.url}/v1/generate`, { prompt: 'the ', max_tokens: 1025, stream: false });
    expect(over.status).toBe(400);
    expect(over.body.error.hint).toMatch(/1 to 1024/);
    const s = await serve({ model: lm, limits: { maxTokens: 4096, maxQueuedGenerations: 2 } });
    // The second waits behind the first (one generation runs at a time): both hold a place in the queue.
    const streams = [await startStream(s.url, 4096, 'token'), await startStream(s.url, 4096, 'start')];
    const third = await post(`${s.url}/v1/generate`, { prompt: 'the ', max_tokens: 4, stream: false });
    expect(third.status).toBe(503);
    expect(third.body.error.code).toBe('E_BUSY');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await s.close();
    for (const st of streams) {
      const done = JSON.parse(/event: done\ndata: (.*)\n/.exec(await st.ended)![1]);
      expect(done.cancelled).toBe('shutdown');
      expect(done.tokens).toBeLessThan(4096);
    }
  }, 60_000);
});

const AXIS_1 = { kind: 'int' as const, value: 1 };

/** A real ONNX classifier over `runDir`'s encoded features whose weights are all NaN. */
async function nanWeightsOnnx(runDir: string, file: string): Promise<string> {
  const cfg = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'));
  const width = cfg.model.sizes[0] as number;
  const nanWeights = new Float32Array(width * 2).fill(NaN);
  const graph = {
    name: 'nan',
    inputs: [{ name: 'features', dtype: 'float32' as const, shape: ['batch', width] }],
    outputs: [{ name: 'probabilities', dtype: 'float32' as const, shape: ['batch', 2] }],
    initializers: [{ name: 'w', dtype: 'float32' as const, dims: [width, 2], data: nanWeights }],
    nodes: [
      { opType: 'MatMul', inputs: ['features', 'w'], outputs: ['logits'] },
      { opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: AXIS_1 } },
    ],
  };
  const metadata = { 'switchyard.encoder': JSON.stringify(cfg.encoder) };
  writeFileSync(file, encodeModel({ opset: 18, metadata, graph }));
  return file;
}

describe('non-finite numbers (item 10)', () => {
  it('an input that overflows float32 is a 400 naming the row and field', async () => {
    const s = await serve({});
    const r = await post(`${s.url}/v1/predict`, { rows: [row(), row(1e300)] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^rows\[1\]\.x1: 1e\+300 is out of range/);
    expect((await post(`${s.url}/v1/predict`, { rows: [row(1e30)] })).status).toBe(200);
  });

  it('NaN outputs are a 500 counted by the rollback guard, which pulls the canary', async () => {
    const nan = await nanWeightsOnnx(run, join(dir, 'nan.onnx'));
    const s = await serve({ canary: nan, canaryWeight: 1, rollback: { minRequests: 3, maxErrorRate: 0.5 } });
    for (let i = 0; i < 3; i++) {
      const r = await post(`${s.url}/v1/predict`, { rows: [row()] });
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('E_MODEL_OUTPUT');
      expect(r.body.error.message).toMatch(/non-finite probability for rows\[0\]/);
    }
    await s.guard.settled();
    expect(s.guard.done[0]).toMatchObject({ rule: 'error-rate', role: 'canary' });
    expect((await post(`${s.url}/v1/predict`, { rows: [row()] })).status).toBe(200); // the primary serves again
  });
});

describe('from a registry with the monitor (items 9, 11, 12)', () => {
  let reg = '';
  beforeAll(async () => {
    reg = join(dir, 'registry');
    const r = await openRegistry(reg);
    await r.register({ name: 'm', from: run, by: 'test' });
    await r.register({ name: 'm', from: await tabularRun(dir, 1), by: 'test' });
    await r.setAlias('m', 'production', 1, { by: 'test' });
    await r.setAlias('m', 'canary', 2, { by: 'test' });
    await r.close();
  }, 60_000);
  const monitored = (o: Partial<ServerOptions>) => serve({ model: 'm@production', registry: reg, ...o });

  it('monitor data needs the admin key, hides values the reference lacks unless asked, bounds its window', async () => {
    const s = await monitored({ monitor: { intervalMs: 0, evaluateEvery: 1e9, maxWindow: 10 } });
    await post(`${s.url}/v1/predict`, { rows: Array.from({ length: 30 }, (_, i) => row(i / 10)) });
    expect((await get(`${s.url}/v1/monitor?window=10`)).status).toBe(401);
    expect((await get(`${s.url}/v1/monitor/incidents`)).status).toBe(401);
    const tooBig = await get(`${s.url}/v1/monitor?window=11`, auth);
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.message).toMatch(/limit of 10 rows/);
    const hour = await get(`${s.url}/v1/monitor?window=1h`, auth); // a time window reads the newest rows only
    expect(hour.body.rows).toBe(10);
    // A client's free-form category value (a card number, say) is not shown to the monitor's readers by default.
    await post(`${s.url}/v1/predict`, { rows: [{ ...row(), color: 'secret-4111-1111' }] });
    const hidden = await get(`${s.url}/v1/monitor?window=10`, auth);
    expect(hidden.text).not.toContain('secret-4111');
    const color = hidden.body.drift.features.find((f: { column: string }) => f.column === 'color');
    expect(color.bins.labels).toContain('(values not in the reference)');
    expect((await get(`${s.url}/v1/monitor?window=10&values=raw`, auth)).text).toContain('secret-4111');
  }, 60_000);

  it('one row repeated does not pull the canary; diverse drifted traffic does; the incident says why', async () => {
    const monitor = { intervalMs: 0, evaluateEvery: 1e9, canary: { window: '200', threshold: 0.3 } };
    const s = await monitored({ canary: 'm@canary', canaryWeight: 1, monitor });
    const flood = Array.from({ length: 20 }, () => ({ x1: 6, x2: 6, color: 'blue', member: true }));
    for (let i = 0; i < 10; i++) expect((await post(`${s.url}/v1/predict`, { rows: flood })).status).toBe(200);
    await s.monitor!.evaluate();
    await s.guard.settled();
    expect(s.guard.done).toEqual([]);
    const rng = new Rng(3);
    for (let i = 0; i < 10; i++) {
      const shifted = () => ({ x1: rng.normal() + 3, x2: rng.normal(), color: 'blue', member: rng.next() < 0.5 });
      const rows = Array.from({ length: 20 }, shifted);
      expect((await post(`${s.url}/v1/predict`, { rows })).status).toBe(200);
    }
    await s.monitor!.evaluate();
    await s.guard.settled();
    expect(s.guard.done).toHaveLength(1);
    const r = await openRegistry(reg);
    try {
      const [inc] = await (await openIncidentLog(r.db)).list({ kind: 'rollback', model: 'm' });
      expect(inc.title).toMatch(/^canary drift \d\.\d{3} > 0\.3 over 200 rows \(200 distinct\)$/);
      expect(inc.details).toMatchObject({ rule: 'drift', threshold: 0.3, statistic: 'share of drifted columns' });
      expect(inc.details).toMatchObject({ rows: 200, distinctRows: 200, minRows: 200, minDistinct: 20 });
      expect((inc.details.tests as { column: string }[]).map((t) => t.column)).toContain('x1');
    } finally {
      await r.close();
    }
  }, 60_000);

  it('the alias route checks types with its schema: an array is not an alias', async () => {
    const s = await monitored({});
    const r = await post(`${s.url}/v1/admin/alias`, { alias: ['production'], version: 2 }, auth);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/alias/);
    const reserved = await post(`${s.url}/v1/admin/alias`, { alias: 'latest', version: 2 }, auth);
    expect(reserved.body.error.code).toBe('E_REGISTRY_ALIAS_NAME');
    expect((await post(`${s.url}/v1/admin/alias`, { version: '2' }, auth)).status).toBe(400);
    expect((await post(`${s.url}/v1/admin/alias`, { alias: ['production'], version: 2 })).status).toBe(401);
    const r2 = await openRegistry(reg);
    expect((await r2.aliases('m')).production).toBe(1);
    await r2.close();
  });
});

describe('requests (item 12)', () => {
  it('rows per request are capped with a clear 413', async () => {
    const s = await serve({ limits: { maxRows: 5 } });
    const r = await post(`${s.url}/v1/predict`, { rows: Array.from({ length: 6 }, () => row()) });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('E_TOO_MANY_ROWS');
    expect(r.body.error.message).toMatch(/6 rows; this server takes at most 5/);
    expect((await post(`${s.url}/v1/predict`, { rows: Array.from({ length: 5 }, () => row()) })).status).toBe(200);
  });

  it('an aborted request leaves the in-flight gauge where it was', async () => {
    const s = await serve({});
    const gauge = 'switchyard_http_requests_in_flight';
    expect(await metric(s.url, gauge)).toBe(1); // the /metrics request itself
    await rawConnection(s.port, (c) => {
      c.write(`${POST_JSON}Content-Length: 1000\r\n\r\n`);
      c.write('{"rows":');
      setTimeout(() => c.destroy(), 50);
    });
    await vi.waitFor(async () => expect(await metric(s.url, gauge)).toBe(1), { timeout: 5000, interval: 20 });
  });

  it('/openapi.json never reflects the Host header; public /readyz shows no filesystem path', async () => {
    const s = await serve({});
    const u = new URL(s.url);
    const req = request({ host: u.hostname, port: u.port, path: '/openapi.json', headers: { host: 'evil.example' } });
    req.end();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    let text = '';
    for await (const chunk of res) text += chunk;
    expect(text).not.toContain('evil.example');
    expect(JSON.parse(text).servers).toEqual([{ url: '/' }]);
    const ready = await get(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.text).not.toContain(dir);
    expect(ready.body.primary).toEqual({ version: 'local' });
  });
});

describe('server limits are range-checked for library callers too (one declaration with the flags)', () => {
  it('startServer refuses an out-of-range limit with the flag that sets it, before loading anything', async () => {
    const { startServer } = await import('../../src/serve/server.ts');
    const cases: [Parameters<typeof startServer>[0], RegExp][] = [
      [{ model: 'nowhere', limits: { maxRows: 0 } }, /--max-rows expects a whole number >= 1, got '0'/],
      [{ model: 'nowhere', limits: { timeouts: { keepAliveMs: 0 } } }, /--keep-alive-timeout-ms expects/],
      [{ model: 'nowhere', limits: { maxTokens: 1.5 } }, /--max-tokens expects a whole number/],
      [{ model: 'nowhere', monitor: { canary: { minDistinct: 0 } } }, /--canary-drift-min-distinct expects/],
      [{ model: 'nowhere', monitor: { maxWindow: -1 } }, /--monitor-max-window expects/],
    ];
    for (const [options, message] of cases) {
      await expect(startServer({ ...options, port: 0, signals: false, log: () => {} })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(message) });
    }
  });
});
