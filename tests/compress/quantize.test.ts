import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { quantizeModel, quantizeSymmetric } from '../../src/compress/quantize.ts';
import { attr, decodeModel, encodeModel, type OnnxModel, type OnnxTensor } from '../../src/runtime/onnx/proto.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectSwitchyardError } from '../train/helpers.ts';

const rng = new Rng(7);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
const f32 = (name: string, dims: number[], data = rand(dims.reduce((a, b) => a * b, 1))): OnnxTensor => ({ name, dtype: 'float32', dims, data });

/**
 * x [N, 64] -> MatMul w1 [64, 48] -> MatMul Transpose(w2 [40, 48]) -> MatMul small [40, 8] (kept) -> + bias
 * plus an embedding Gather of table [50, 40] added to the second layer, w1 shared by a MatMul of -x, and a
 * stacked [3, 16, 40] tensor read through Gather (axis 0) then ReduceSum: every path of the rewrite.
 */
function handMade(): OnnxModel {
  return {
    opset: 18,
    metadata: { 'switchyard.kind': 'test', keep: 'me' },
    graph: {
      name: 'hand',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 64] }, { name: 'ids', dtype: 'int64', shape: ['n'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['n', 8] }, { name: 'h1b', dtype: 'float32', shape: ['n', 48] }, { name: 'st', dtype: 'float32', shape: ['n', 40] }],
      initializers: [f32('w1', [64, 48]), f32('w2', [40, 48], rand(40 * 48, 3)), f32('small', [40, 8]), f32('bias', [8]), f32('table', [50, 40]), f32('stack', [3, 16, 40]), { name: 'sel', dtype: 'int64', dims: [], data: BigInt64Array.of(1n) }, { name: 'axis0', dtype: 'int64', dims: [1], data: BigInt64Array.of(0n) }],
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h1'] },
        { opType: 'Neg', inputs: ['x'], outputs: ['xn'] },
        { opType: 'MatMul', inputs: ['xn', 'w1'], outputs: ['h1b'] },
        { opType: 'Transpose', inputs: ['w2'], outputs: ['w2t'], attrs: { perm: attr.ints([1, 0]) } },
        { opType: 'MatMul', inputs: ['h1', 'w2t'], outputs: ['h2'] },
        { opType: 'Gather', inputs: ['table', 'ids'], outputs: ['e'], attrs: { axis: attr.int(0) } },
        { opType: 'Add', inputs: ['h2', 'e'], outputs: ['h3'] },
        { opType: 'MatMul', inputs: ['h3', 'small'], outputs: ['h4'] },
        { opType: 'Add', inputs: ['h4', 'bias'], outputs: ['y'] },
        { opType: 'Gather', inputs: ['stack', 'sel'], outputs: ['slab'], attrs: { axis: attr.int(0) } },
        { opType: 'ReduceSum', inputs: ['slab', 'axis0'], outputs: ['colsum'], attrs: { keepdims: attr.int(0) } },
        { opType: 'Add', inputs: ['h3', 'colsum'], outputs: ['st'] },
      ],
    },
  };
}

async function run(m: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const r = await s.run(feeds);
  await s.release();
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('quantizeSymmetric', () => {
  it('codes lie in [-127, 127], each value within half a step of its channel scale, zero channels exact', () => {
    const rows = 33;
    const cols = 7;
    const w = rand(rows * cols, 2);
    for (let r = 0; r < rows; r++) w[r * cols + 4] = 0; // an all-zero column
    const byCol = quantizeSymmetric(w, rows, cols, 1);
    expect(byCol.scale).toHaveLength(cols);
    for (let i = 0; i < w.length; i++) {
      const c = i % cols;
      expect(Math.abs(byCol.q[i])).toBeLessThanOrEqual(127);
      expect(Math.abs(w[i] - byCol.q[i] * byCol.scale[c])).toBeLessThanOrEqual(byCol.scale[c] / 2 + 1e-7);
      if (c === 4) expect(byCol.q[i]).toBe(0);
    }
    // the largest |w| of each column maps to +-127 exactly
    for (let c = 0; c < cols; c++) if (c !== 4) expect(Math.max(...Array.from({ length: rows }, (_, r) => Math.abs(byCol.q[r * cols + c])))).toBe(127);
    const byRow = quantizeSymmetric(w, rows, cols, 0);
    expect(byRow.scale).toHaveLength(rows);
    for (let i = 0; i < w.length; i++) expect(Math.abs(w[i] - byRow.q[i] * byRow.scale[Math.floor(i / cols)])).toBeLessThanOrEqual(byRow.scale[Math.floor(i / cols)] / 2 + 1e-7);
    expect(byCol.relativeRmsError).toBeGreaterThan(0);
    expect(byCol.relativeRmsError).toBeLessThan(0.01);
    // 7 bits: codes in [-63, 63], half a step of a twice coarser scale
    const seven = quantizeSymmetric(w, rows, cols, 1, 63);
    for (let i = 0; i < w.length; i++) {
      expect(Math.abs(seven.q[i])).toBeLessThanOrEqual(63);
      expect(Math.abs(w[i] - seven.q[i] * seven.scale[i % cols])).toBeLessThanOrEqual(seven.scale[i % cols] / 2 + 1e-7);
    }
    for (let c = 0; c < cols; c++) if (c !== 4) expect(seven.scale[c]).toBeCloseTo((byCol.scale[c] * 127) / 63, 6);
    expect(seven.relativeRmsError).toBeGreaterThan(byCol.relativeRmsError);
  });
});

/** Largest |code| of each int8 weight read by MatMulInteger (int8 arithmetic) or Cast (float arithmetic). */
function largestCodes(m: OnnxModel, op: 'MatMulInteger' | 'Cast'): number[] {
  const read = new Set(m.graph.nodes.filter((n) => n.opType === op).map((n) => n.inputs[op === 'Cast' ? 0 : 1]));
  const weights = m.graph.initializers.filter((t) => t.dtype === 'int8' && read.has(t.name));
  return weights.map((t) => Math.max(...(t.data as Int8Array).map(Math.abs)));
}

describe.each(['dynamic', 'weights'] as const)('quantizeModel, %s mode', (mode) => {
  it('rewrites every weight path with standard ops, keeps inputs, outputs and metadata, and stays close to float32', async () => {
    const src = handMade();
    const before = JSON.stringify(src.graph.nodes);
    const { model, report } = quantizeModel(src, { mode, minElements: 500 });
    expect(JSON.stringify(src.graph.nodes)).toBe(before); // the source is not modified
    expect(model.graph.inputs).toEqual(src.graph.inputs);
    expect(model.graph.outputs).toEqual(src.graph.outputs);
    expect(model.metadata).toMatchObject({ keep: 'me', 'switchyard.kind': 'test' });
    // 7-bit int8-matmul weights by default: exact on every CPU, so it needs no VNNI (tests/hostile/int8.test.ts)
    const int8 = { matmulWeightBits: mode === 'dynamic' ? 7 : 8, needsVnni: false };
    expect(JSON.parse(model.metadata!['switchyard.quantization'])).toMatchObject({ mode, tensors: 4, ...int8 });
    expect(report).toMatchObject(int8);
    if (mode === 'dynamic') expect(largestCodes(model, 'MatMulInteger')).toEqual([63, 63]);
    // float arithmetic: 8 bits
    expect(largestCodes(model, 'Cast')).toEqual(mode === 'dynamic' ? [127, 127] : [127, 127, 127, 127]);
    const uses = Object.fromEntries(report.quantized.map((q) => [q.name, q.use]));
    expect(uses).toEqual({ w1: mode === 'dynamic' ? 'matmul' : 'matmul-weights', w2: mode === 'dynamic' ? 'matmul' : 'matmul-weights', table: 'gather', stack: 'stored' });
    expect(report.kept.map((k) => k.name).sort()).toEqual(['bias', 'small']);
    expect(report.kept.find((k) => k.name === 'small')!.reason).toMatch(/smaller than 500/);
    // w1 is quantized once for its two MatMuls; the float originals and the Transpose are gone
    const names = model.graph.initializers.map((t) => t.name);
    expect(names.filter((n) => n.startsWith('w1_int8'))).toHaveLength(1);
    for (const gone of ['w1', 'w2', 'table', 'stack']) expect(names).not.toContain(gone);
    expect(model.graph.nodes.some((n) => n.opType === 'Transpose')).toBe(false);
    const ops = new Set(model.graph.nodes.map((n) => n.opType));
    if (mode === 'dynamic') {
      expect(ops).toContain('MatMulInteger');
      // one DynamicQuantizeLinear per MatMul, each matching ORT's fused pattern on its own
      expect(model.graph.nodes.filter((n) => n.opType === 'DynamicQuantizeLinear')).toHaveLength(3);
    } else expect(ops).not.toContain('MatMulInteger');
    expect(report.weightBytesAfter).toBeLessThan(report.weightBytesBefore / 3);
    // round trip through the encoder, then ORT
    const again = decodeModel(encodeModel(model));
    const n = 16;
    const feeds = { x: new ort.Tensor('float32', rand(n * 64), [n, 64]), ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7) % 50)), [n]) };
    const want = await run(src, feeds);
    const got = await run(again, feeds);
    for (const k of ['y', 'h1b', 'st']) {
      expect(got[k]).toHaveLength(want[k].length);
      expect(maxDiff(got[k], want[k]) / maxAbs(want[k])).toBeLessThan(0.05);
      expect(maxDiff(got[k], want[k])).toBeGreaterThan(0); // it really is quantized
    }
  });
});

describe('quantizeModel with 8-bit int8-matmul weights (opt-in)', () => {
  it('uses the full [-127, 127] range and records that the model needs VNNI', () => {
    const { model, report } = quantizeModel(handMade(), { weightBits: 8, minElements: 500 });
    expect(largestCodes(model, 'MatMulInteger')).toEqual([127, 127]);
    expect(report).toMatchObject({ matmulWeightBits: 8, needsVnni: true });
    const record = JSON.parse(model.metadata!['switchyard.quantization']);
    expect(record).toMatchObject({ matmulWeightBits: 8, needsVnni: true });
    // half the rounding error of the 7-bit default
    const seven = quantizeModel(handMade(), { minElements: 500 }).report.quantized.find((q) => q.name === 'w1')!;
    const eight = report.quantized.find((q) => q.name === 'w1')!;
    expect(eight.relativeRmsError).toBeLessThan(0.6 * seven.relativeRmsError);
  });
});

describe('quantizeModel refuses', () => {
  it('a model with nothing to quantize, an already quantized model, an old opset, an unknown mode and a foreign operator', async () => {
    await expectSwitchyardError(() => quantizeModel(handMade(), { minElements: 1e6 }), 'E_NOTHING_TO_QUANTIZE', /largest float initializer 'w1': 3072 elements, smaller than 1000000/);
    const { model } = quantizeModel(handMade());
    await expectSwitchyardError(() => quantizeModel(model), 'E_MODEL_INPUT', /already quantized/);
    await expectSwitchyardError(() => quantizeModel({ ...handMade(), opset: 12 }), 'E_MODEL_INPUT', /opset 12/);
    await expectSwitchyardError(() => quantizeModel(handMade(), { mode: 'int4' as 'dynamic' }), 'E_USAGE', /unknown quantization mode 'int4'/);
    const fourBits = () => quantizeModel(handMade(), { weightBits: 4 as 7 });
    await expectSwitchyardError(fourBits, 'E_USAGE', /weight bits 4 is not 7 or 8/);
    const foreign = handMade();
    foreign.graph.nodes.push({ opType: 'GridSample', inputs: ['x', 'w1'], outputs: ['c'] });
    await expectSwitchyardError(() => quantizeModel(foreign), 'E_MODEL_INPUT', /does not pass Switchyard's ONNX check: .*unknown operator 'GridSample'/);
  });

  it('to touch a weight holding non-finite values', () => {
    const m = handMade();
    (m.graph.initializers[0].data as Float32Array)[5] = -Infinity;
    const { report } = quantizeModel(m, { minElements: 500 });
    expect(report.quantized.map((q) => q.name)).not.toContain('w1');
    expect(report.kept.find((k) => k.name === 'w1')!.reason).toMatch(/non-finite/);
  });
});

describe('what ONNX Runtime makes of a quantized model', () => {
  /** Op types and int8 initializers of the graph ORT runs after its optimizations (written by ORT itself). */
  async function optimized(m: OnnxModel): Promise<{ ops: string[]; int8: number }> {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sy-ortopt-'));
    try {
      const file = join(dir, 'opt.onnx');
      await (await ort.InferenceSession.create(encodeModel(m), { optimizedModelFilePath: file, graphOptimizationLevel: 'extended' })).release();
      const o = decodeModel(readFileSync(file));
      return { ops: o.graph.nodes.map((n) => `${n.domain ? `${n.domain}:` : ''}${n.opType}`), int8: o.graph.initializers.filter((t) => t.dtype === 'int8').length };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('weights mode is folded back into float32 constants when the session loads (no per-call dequantization)', async () => {
    const o = await optimized(quantizeModel(handMade(), { mode: 'weights', minElements: 500 }).model);
    expect(o.int8).toBe(0);
    expect(o.ops).not.toContain('Cast');
  });

  it('dynamic mode is fused into int8 matmul kernels', async () => {
    const o = await optimized(quantizeModel(handMade(), { mode: 'dynamic', minElements: 500 }).model);
    expect(o.ops.filter((op) => op === 'com.microsoft:DynamicQuantizeMatMul').length).toBe(3);
    expect(o.ops).not.toContain('MatMulInteger');
    expect(o.ops).not.toContain('DynamicQuantizeLinear');
  });
});
