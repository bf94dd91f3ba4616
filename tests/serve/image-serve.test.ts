/**
 * `serve` of image models over real HTTP on loopback: `/v1/predict` takes PNG/JPEG files as base64 for a
 * classifier trained on a folder of images (the same answers as `predict` on the files; bad images are 400s naming
 * the row; `--max-image-pixels` bounds each image), and `/v1/sample` draws PNG grids from a diffusion run (bounded
 * count and steps, seeded, JSON or image/png, cancelled when the client disconnects).
 */
import { request } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeJpeg, encodePng } from '../../src/data/images/image.ts';
import { readTable } from '../../src/data/readers/index.ts';
import { referenceFromTable } from '../../src/monitor/reference.ts';
import { type RunningServer, type ServerOptions, startServer } from '../../src/serve/server.ts';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { sampleDiffusion } from '../../src/train/diffusion-sample.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { predictTabular } from '../../src/train/tabular-predict.ts';
import { get, post, tmp } from './helpers.ts';

const dir = tmp('sy-image-serve-');
const folder = join(dir, 'shades');
const files: string[] = [];
let classifier = '';
let unet = '';
const servers: RunningServer[] = [];

/** A folder `dark/` and `light/` of four 6 x 6 grey PNGs each (noisy shades), plus one JPEG. */
function writeFolder(): void {
  let s = 3;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [label, base] of [['dark', 40], ['light', 200]] as const) {
    mkdirSync(join(folder, label), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const data = Uint8Array.from({ length: 36 }, () => base + Math.floor(next() * 30));
      const img = { width: 6, height: 6, channels: 1 as const, data };
      const file = join(folder, label, i === 3 ? `${i}.jpg` : `${i}.png`);
      writeFileSync(file, i === 3 ? encodeJpeg(img) : encodePng(img));
      files.push(file);
    }
  }
}

async function serve(model: string, o: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ model, port: 0, signals: false, pollMs: 0, log: () => {}, ...o });
  servers.push(s);
  return s;
}

async function metric(url: string, series: string): Promise<number> {
  const line = (await get(`${url}/metrics`)).text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const b64 = (file: string) => readFileSync(file).toString('base64');

beforeAll(async () => {
  writeFolder();
  classifier = join(dir, 'classifier');
  const quiet = { progress: { enabled: false }, threads: 1 };
  await trainTabular({ data: folder, target: 'label', out: classifier, epochs: 3, hidden: [8], seed: 0, ...quiet });
  unet = join(dir, 'unet');
  const ddpm = { objective: 'ddpm', classConditional: true } as const;
  await trainDiffusion({ data: folder, out: unet, imageSize: 8, steps: 2, batchSize: 2, ...ddpm, ...quiet });
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('POST /v1/predict with images', () => {
  it('answers base64 PNG and JPEG files (and data URLs) exactly as predict does on the files', async () => {
    const s = await serve(classifier);
    const rows = files.map((f, i) => ({ image: i % 2 ? `data:image/png;base64,${b64(f)}` : b64(f) }));
    const r = await post(`${s.url}/v1/predict`, { rows });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const offline = await predictTabular(classifier, folder, { threads: 1 });
    expect(r.body.predictions).toEqual(offline.predictions);
    const probs = r.body.probabilities.flat();
    probs.forEach((p: number, i: number) => expect(p).toBeCloseTo(offline.probabilities![i], 5));
    const doc = (await get(`${s.url}/openapi.json`)).body;
    const image = doc.components.schemas.PredictRequest.properties.rows.items.properties.image;
    expect(image).toMatchObject({ type: 'string', contentEncoding: 'base64' });
  }, 60_000);

  it('refuses bad images with a 400 naming the row, and images over --max-image-pixels', async () => {
    const s = await serve(classifier, { load: { maxImagePixels: 36 } });
    const bad = async (image: unknown, pattern: RegExp) => {
      const r = await post(`${s.url}/v1/predict`, { rows: [{ image: b64(files[0]) }, { image }] });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.message).toMatch(/^rows\[1\]\.image/);
      expect(r.body.error.message).toMatch(pattern);
      expect(r.body.error.hint).not.toBe('');
    };
    await bad(42, /expected an image/);
    await bad('%%% not base64 %%%', /not valid base64/);
    await bad(readFileSync(files[0]).subarray(0, 40).toString('base64'), /damaged PNG/);
    await bad(Buffer.from('hello, world').toString('base64'), /not a PNG or JPEG/);
    const big = encodePng({ width: 7, height: 6, channels: 1, data: new Uint8Array(42) });
    await bad(Buffer.from(big).toString('base64'), /42 pixels|7x6|7 x 6/);
    const ok = await post(`${s.url}/v1/predict`, { rows: [{ image: b64(files[0]) }] });
    expect(ok.status).toBe(200);
  }, 60_000);
});

it("the monitor's reference leaves an image field out (file names here, base64 files in requests)", async () => {
  const table = await readTable(folder);
  const ref = referenceFromTable(table, { fields: [{ name: 'image', type: 'image' }], target: 'label' });
  expect(ref.columns.map((c) => c.name)).toEqual([]);
  expect(ref.predictions?.values).toHaveLength(files.length);
});

describe('POST /v1/sample', () => {
  it('draws a seeded PNG grid, as base64 JSON or image/png, and publishes the route', async () => {
    const s = await serve(unet);
    const body = { count: 4, steps: 2, class: 'light', seed: 1 };
    const a = await post(`${s.url}/v1/sample`, body);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toMatchObject({ count: 4, width: 2 * 8 + 3 * 2, height: 2 * 8 + 3 * 2 });
    const png = PNG.sync.read(Buffer.from(a.body.image, 'base64'));
    expect([png.width, png.height]).toEqual([22, 22]);
    expect((await post(`${s.url}/v1/sample`, body)).body.image).toBe(a.body.image);
    expect((await post(`${s.url}/v1/sample`, { ...body, seed: 2 })).body.image).not.toBe(a.body.image);
    const raw = await fetch(`${s.url}/v1/sample`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'image/png' }, body: JSON.stringify({ ...body, class: 1 }),
    });
    expect(raw.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await raw.arrayBuffer()).toString('base64')).toBe(a.body.image); // class 1 is 'light'
    // the same PNG as `switchyard sample` with the same settings (one thread, as the server runs)
    const file = join(dir, 'offline.png');
    await sampleDiffusion(unet, { out: file, count: 4, steps: 2, classId: 1, seed: 1, threads: 1 });
    expect(b64(file)).toBe(a.body.image);
    const doc = (await get(`${s.url}/openapi.json`)).body;
    expect(doc.paths['/v1/sample'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/predict']).toBeUndefined();
  }, 60_000);

  it('bounds count and steps by the server limits and refuses bad fields with a 400 and a hint', async () => {
    const s = await serve(unet, { limits: { maxSampleCount: 8, maxSampleSteps: 20 } });
    const bad = async (body: unknown, code: string, pattern: RegExp) => {
      const r = await post(`${s.url}/v1/sample`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe(code);
      expect(`${r.body.error.message} ${r.body.error.hint}`).toMatch(pattern);
    };
    await bad({ count: 9 }, 'E_BAD_REQUEST', /--max-sample-count/);
    await bad({ steps: 21 }, 'E_BAD_REQUEST', /--max-sample-steps/);
    await bad({ sampler: 'euler', steps: 1 }, 'E_USAGE', /"sampler": "euler" does not fit a ddpm run/);
    await bad({ sampler: 'heun' }, 'E_BAD_REQUEST', /"sampler"/);
    await bad({ class: 'cat' }, 'E_BAD_REQUEST', /dark, light/);
    await bad({ class: 2, steps: 1 }, 'E_USAGE', /"class": 2: the run has 2 classes/);
    await bad({ guidance: -1 }, 'E_BAD_REQUEST', /"guidance"/);
    await bad({ colour: 'red' }, 'E_BAD_REQUEST', /unknown field "colour"/);
    await bad({ rows: [] }, 'E_BAD_REQUEST', /unknown field "rows"/);
    const predict = await post(`${s.url}/v1/predict`, { rows: [{ image: b64(files[0]) }] });
    expect(predict.status).toBe(400);
    expect(predict.body.error.hint).toMatch(/\/v1\/sample/);
    const classifierServer = await serve(classifier);
    const wrong = await post(`${classifierServer.url}/v1/sample`, {});
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('E_MODEL_KIND');
  }, 60_000);

  it('a client that disconnects mid-draw stops it: the next request is not kept waiting', async () => {
    const s = await serve(unet, { limits: { maxSampleCount: 1024, maxSampleSteps: 10_000 } });
    const req = request(`${s.url}/v1/sample`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ count: 1024, steps: 10_000 })); // minutes of work unless cancelled
    await vi.waitFor(async () => expect(await metric(s.url, 'switchyard_generations_queued')).toBe(1), { interval: 20, timeout: 20_000 });
    req.destroy();
    // Draws run one at a time: when this one answers, the abandoned one has stopped.
    const next = await post(`${s.url}/v1/sample`, { count: 1, steps: 1 });
    expect(next.status).toBe(200);
    expect(await metric(s.url, 'switchyard_generations_total{outcome="disconnected"}')).toBe(1);
  }, 60_000);
});
