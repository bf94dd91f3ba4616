/** Shared fixtures of the serving tests: small real runs, a real server on loopback, HTTP helpers. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, type OnnxModel } from '../../src/runtime/onnx/proto.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { Rng } from '../../src/util/rng.ts';

/** A fresh temp directory. */
export function tmp(prefix = 'sy-serve-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A CSV where label = yes when x1 + x2 > 0 (plus a categorical, a boolean and an id column the model drops). */
export function writeTabularCsv(file: string, rows = 240, seed = 1): string {
  const rng = new Rng(seed);
  const lines = ['id,x1,x2,color,member,label'];
  for (let i = 0; i < rows; i++) {
    const x1 = rng.normal();
    const x2 = rng.normal();
    const color = ['red', 'green', 'blue'][rng.int(3)];
    const member = rng.next() < 0.5 ? 'true' : 'false';
    lines.push(`id${i},${x1.toFixed(4)},${x2.toFixed(4)},${color},${member},${x1 + x2 > 0 ? 'yes' : 'no'}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Trains a tiny tabular classifier run (a real `switchyard train` run directory). */
export async function tabularRun(dir: string, seed = 0, epochs = 4): Promise<string> {
  const data = writeTabularCsv(join(dir, `data-${seed}.csv`), 240, seed + 1);
  const out = join(dir, `run-${seed}`);
  await trainTabular({ data, target: 'label', out, epochs, hidden: [8], seed, progress: { enabled: false }, threads: 1 });
  return out;
}

/** A valid request row for {@link tabularRun} models. */
export function row(x1 = 0.5, x2 = 0.25): Record<string, unknown> {
  return { x1, x2, color: 'red', member: true };
}

/**
 * A real ONNX classifier over the same encoded features as `runDir` (its encoder in the metadata) that fails
 * inside ONNX Runtime for any row whose first encoded feature truncates outside [-2, 1]: it gathers class
 * scores from a 2-row table indexed by that feature.
 */
export async function failingOnnx(runDir: string, file: string): Promise<string> {
  const cfg = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'));
  const width = cfg.model.sizes[0] as number;
  const model: OnnxModel = {
    opset: 18,
    metadata: { 'switchyard.encoder': JSON.stringify(cfg.encoder) },
    graph: {
      name: 'failing',
      inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', width] }],
      outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 2] }],
      initializers: [
        { name: 'starts', dtype: 'int64', dims: [1], data: BigInt64Array.of(0n) },
        { name: 'ends', dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) },
        { name: 'axes', dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) },
        { name: 'flat', dtype: 'int64', dims: [1], data: BigInt64Array.of(-1n) },
        { name: 'table', dtype: 'float32', dims: [2, 2], data: Float32Array.of(0.9, 0.1, 0.2, 0.8) },
      ],
      nodes: [
        { opType: 'Slice', inputs: ['features', 'starts', 'ends', 'axes'], outputs: ['first'] },
        { opType: 'Reshape', inputs: ['first', 'flat'], outputs: ['firstFlat'] },
        { opType: 'Cast', inputs: ['firstFlat'], outputs: ['idx'], attrs: { to: { kind: 'int', value: 7 } } },
        { opType: 'Gather', inputs: ['table', 'idx'], outputs: ['probabilities'], attrs: { axis: { kind: 'int', value: 0 } } },
      ],
    },
  };
  writeFileSync(file, encodeModel(model));
  return file;
}

/** POSTs JSON and returns status, headers and the parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** What {@link get} returns. */
type Got = { status: number; body: any; text: string; headers: Headers };

/** GETs (with `headers`) and returns status and the parsed body (JSON when it parses). */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Got> {
  const r = await fetch(url, { headers });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body, text, headers: r.headers };
}
