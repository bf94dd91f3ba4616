/**
 * Exports older ONNX tooling reads: `--target-opset 17` (IR 8) for a tabular model (raw columns, ai.onnx.ml) and
 * a language model's decode step, the same results in ORT as the default opset 18, checked by the reference onnx
 * checker when python3-onnx is installed; a target below what a graph needs is refused; a model with a text
 * column keeps the `features` input.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MLP } from '../../src/nn/layers.ts';
import { GPT_PRESETS } from '../../src/models/gpt.ts';
import { trace } from '../../src/core/graph.ts';
import { reduceMax, reduceMean } from '../../src/core/ops/index.ts';
import { lowerGraph } from '../../src/runtime/onnx/lower.ts';
import { decodeModel, encodeModel } from '../../src/runtime/onnx/proto.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';
import { runOnnx } from '../../src/train/export-run.ts';
import { exportOnnx, type ForwardFn } from '../../src/train/forward.ts';
import { trainLm } from '../../src/train/lm.ts';
import { tabularOnnx } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { cli, tmp, vegaCsv } from '../cli/helpers.ts';
import { onnxCheck, pythonWithOnnx } from '../runtime/onnx-checker.ts';
import { expectSwitchyardError } from './helpers.ts';

let dir: string;
const quiet = { progress: { enabled: false }, threads: 1 };

beforeAll(async () => {
  dir = tmp('sy-export-opset-');
  writeFileSync(join(dir, 'corpus.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(60));
  const model = { ...GPT_PRESETS.tiny, dModel: 16, layers: 1, heads: 2, context: 16, mlpHidden: 32 };
  await trainLm({ data: [join(dir, 'corpus.txt')], out: join(dir, 'lm'), model, steps: 4, batchSize: 4, evalEvery: 4, evalTokens: 256, ...quiet });
  await trainTabular({ data: vegaCsv('penguins', dir), target: 'Species', out: join(dir, 'cls'), epochs: 2, hidden: [8], seed: 1, ...quiet });
  const notes = Array.from({ length: 60 }, (_, i) => `${i % 7},${i % 2 ? 'red' : 'blue'},${['good value fast delivery', 'broken on arrival sadly', 'works fine thanks', 'never again awful'][i % 4]} item ${i},${i % 4 < 2 ? 'a' : 'b'}`);
  writeFileSync(join(dir, 'text.csv'), ['n,colour,review,label', ...notes].join('\n') + '\n');
  await trainTabular({ data: join(dir, 'text.csv'), target: 'label', out: join(dir, 'text'), epochs: 2, hidden: [8], seed: 1, columns: { review: 'text' }, textBuckets: 16, ...quiet });
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an ONNX model's session on feeds, returning the named output. */
async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return (await s.run(feeds))[output].data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('--target-opset', () => {
  it('writes the decode step of a language model at opset 17 (IR 8), computing what opset 18 computes', async () => {
    const at18 = await runOnnx(join(dir, 'lm'));
    const at17 = await runOnnx(join(dir, 'lm'), { opset: 17 });
    const m = decodeModel(at17.bytes);
    expect([m.opset, m.irVersion]).toEqual([17, 8]);
    validateModel(m);
    const cache = decodeModel(at18.bytes).graph.inputs.find((i) => i.name === 'cacheK')!.shape as number[];
    const zeros = () => new ort.Tensor('float32', new Float32Array(cache.reduce((a, b) => a * b, 1)), cache);
    const feeds = { ids: new ort.Tensor('int64', BigInt64Array.of(3n, 5n, 7n), [1, 3]), pos: new ort.Tensor('int64', BigInt64Array.of(0n), [1]), cacheK: zeros(), cacheV: zeros() };
    expect(Array.from(await run(at17.bytes, feeds, 'logits'))).toEqual(Array.from(await run(at18.bytes, feeds, 'logits')));
  });

  it('lowers ReduceMean/ReduceMax with axes as an attribute at 17 and as an input at 18, same results', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', ['batch', 4]);
      return { m: reduceMean(x, 1), M: reduceMax(x, 0, true) };
    });
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    const outs: Float32Array[][] = [];
    for (const opset of [17, 18]) {
      const m = lowerGraph(graph, { opset });
      validateModel(m);
      const reduces = m.graph.nodes.filter((n) => n.opType.startsWith('Reduce'));
      expect(reduces.map((n) => [n.inputs.length, n.attrs?.axes?.kind ?? 'input'])).toEqual(opset === 17 ? [[1, 'ints'], [1, 'ints']] : [[2, 'input'], [2, 'input']]);
      const feeds = { x: new ort.Tensor('float32', x, [3, 4]) };
      outs.push([await run(encodeModel(m), feeds, 'm'), await run(encodeModel(m), feeds, 'M')]);
    }
    expect(outs[0]).toEqual(outs[1]);
    expect(Array.from(outs[0][0])).toHaveLength(3);
  });

  it('refuses a target below what the graph needs, naming the operator', async () => {
    const model = new MLP([3, 2]).init(1);
    // Split's num_outputs attribute exists from opset 18: a graph that needs it cannot be written at 17.
    const edit = (m: ReturnType<typeof decodeModel>) => {
      const split = { opType: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: { kind: 'int' as const, value: 1 }, num_outputs: { kind: 'int' as const, value: 2 } } };
      return { ...m, graph: { ...m.graph, nodes: [...m.graph.nodes, split] } };
    };
    const fn: ForwardFn = (mm, b) => ({ y: mm.call(b.x) });
    const spec = { x: { dtype: 'f32' as const, shape: ['batch', 3] } };
    expect(() => exportOnnx(model, fn, spec, {}, { opset: 18, edit })).not.toThrow();
    await expectSwitchyardError(() => exportOnnx(model, fn, spec, {}, { opset: 17, edit }), 'E_EXPORT_OPSET', /target opset 17 is below what this graph needs: .*num_outputs/);
  });

  it('is a flag of switchyard export, range-checked; so is --inputs', () => {
    const out = join(dir, 'cli17.onnx');
    const r = cli(['export', '--model', join(dir, 'cls'), '--out', out, '--target-opset', '17', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.inputs).toContain('Island');
    const bad = cli(['export', '--model', join(dir, 'cls'), '--out', join(dir, 'x.onnx'), '--target-opset', '16']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--target-opset expects a whole number >= 17 and <= 21/);
    const inputs = cli(['export', '--model', join(dir, 'cls'), '--out', join(dir, 'y.onnx'), '--inputs', 'columns']);
    expect([inputs.code, inputs.stderr.split('\n')[0]]).toEqual([2, 'error: --inputs columns is not raw or features']);
  });
});

describe('a model with a text column', () => {
  it('keeps the features input by default and refuses --inputs raw, saying why', async () => {
    const { inputs } = await tabularOnnx(join(dir, 'text'));
    expect(inputs).toEqual(['features']);
    await expectSwitchyardError(() => tabularOnnx(join(dir, 'text'), { inputs: 'raw' }), 'E_EXPORT_INPUTS', /'review' is a text column: its hashed TF-IDF features cannot be computed by ONNX operators/);
  });
});

describe.skipIf(!pythonWithOnnx)('onnx 1.12 (python3-onnx) checks the opset-17 exports', () => {
  it('accepts the raw-column tabular export, its features form and the decode step (full_check)', async () => {
    const files = {
      raw: (await tabularOnnx(join(dir, 'cls'), { opset: 17 })).bytes,
      features: (await tabularOnnx(join(dir, 'cls'), { opset: 17, inputs: 'features' })).bytes,
      text: (await tabularOnnx(join(dir, 'text'), { opset: 17 })).bytes,
      lm: (await runOnnx(join(dir, 'lm'), { opset: 17 })).bytes,
    };
    for (const [name, bytes] of Object.entries(files)) {
      const file = join(dir, `${name}.onnx`);
      writeFileSync(file, bytes);
      const r = onnxCheck(file);
      expect(r.stderr, name).toBe('');
      expect(r.stdout, name).toMatch(/^ok 8 \[\('', 17\)/);
    }
  });
});
