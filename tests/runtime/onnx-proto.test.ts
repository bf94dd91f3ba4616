import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, decodeModel, encodeModel, type OnnxGraph, type OnnxModel } from '../../src/runtime/onnx/proto.ts';
import { ProtoMessage, ProtoReader } from '../../src/runtime/onnx/protobuf.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';
import { onnxCheck, pythonWithOnnx } from './onnx-checker.ts';

/** Loop body: acc_out = acc_in + x (x from the enclosing scope); cond passes through. */
function sumBody(): OnnxGraph {
  return {
    name: 'sum_body',
    inputs: [
      { name: 'iter', dtype: 'int64', shape: [] },
      { name: 'cond_in', dtype: 'bool', shape: [] },
      { name: 'acc_in', dtype: 'float32', shape: ['N'] },
    ],
    outputs: [
      { name: 'cond_out', dtype: 'bool', shape: [] },
      { name: 'acc_out', dtype: 'float32', shape: ['N'] },
    ],
    initializers: [],
    nodes: [
      { opType: 'Identity', inputs: ['cond_in'], outputs: ['cond_out'] },
      { opType: 'Add', inputs: ['acc_in', 'x'], outputs: ['acc_out'], name: 'acc_add' },
    ],
  };
}

/** acc = x summed K times with a Loop; y = acc + bias (initializer). */
function loopModel(): OnnxModel {
  return {
    opset: 18,
    producerName: 'switchyard-test',
    graph: {
      name: 'loop_sum',
      inputs: [{ name: 'K', dtype: 'int64', shape: [] }, { name: 'x', dtype: 'float32', shape: ['N'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N'] }],
      initializers: [{ name: 'bias', dtype: 'float32', dims: [1], data: new Float32Array([0.5]) }],
      nodes: [
        { opType: 'Mul', inputs: ['x', 'bias'], outputs: ['zero_ish'] },
        { opType: 'Sub', inputs: ['zero_ish', 'zero_ish'], outputs: ['acc0'] },
        { opType: 'Loop', inputs: ['K', '', 'acc0'], outputs: ['acc'], name: 'sum_loop', attrs: { body: attr.graph(sumBody()) } },
        { opType: 'Add', inputs: ['acc', 'bias'], outputs: ['y'] },
      ],
    },
  };
}

/** A model touching every encoder feature: all attribute kinds and dtypes, symbolic/unknown dims, metadata. */
function kitchenSink(): OnnxModel {
  return {
    opset: 18,
    irVersion: 8,
    producerName: 'switchyard',
    producerVersion: '0.1.0',
    docString: 'round trip ✓ 🚂',
    metadata: { seed: '42', 'clé': 'välue' },
    graph: {
      name: 'main',
      inputs: [
        { name: 'K', dtype: 'int64', shape: [] },
        { name: 'x', dtype: 'float32', shape: ['N'] },
        { name: 'm', dtype: 'float32', shape: ['B', '', 7] },
      ],
      outputs: [{ name: 'acc', dtype: 'float32', shape: ['N'] }, { name: 'c', dtype: 'int64', shape: [3] }],
      valueInfo: [{ name: 'sm', dtype: 'float32', shape: null }],
      initializers: [
        { name: 'f64', dtype: 'float64', dims: [2], data: new Float64Array([Math.PI, -0]) },
        { name: 'i32', dtype: 'int32', dims: [2, 1], data: new Int32Array([-7, 2147483647]) },
        { name: 'h', dtype: 'float16', dims: [2], data: new Uint16Array([0x3c00, 0xc000]) },
        { name: 'flags', dtype: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) },
        { name: 'u8', dtype: 'uint8', dims: [0], data: new Uint8Array(0) },
        { name: 'acc0', dtype: 'float32', dims: [1], data: new Float32Array([0]) },
      ],
      nodes: [
        { opType: 'Loop', inputs: ['K', '', 'acc0'], outputs: ['acc'], name: 'loop', attrs: { body: attr.graph(sumBody()) } },
        { opType: 'Softmax', inputs: ['m'], outputs: ['sm'], attrs: { axis: attr.int(-1) } },
        { opType: 'Constant', inputs: [], outputs: ['c'], attrs: { value: attr.tensor({ name: '', dtype: 'int64', dims: [3], data: new BigInt64Array([-1n, 9007199254740993n, -(1n << 63n)]) }) } },
        {
          opType: 'Custom', domain: 'com.example', inputs: ['x', '', 'm'], outputs: ['o1', ''],
          attrs: {
            i0: attr.int(0), ineg: attr.int(-123456789012), ibig: attr.int(2 ** 52 + 1), f: attr.float(0.25), s: attr.string(''),
            is: attr.ints([0, -1, 300]), fs: attr.floats([1.5, -2]), ss: attr.strings(['a', '', 'ü']), e: attr.ints([]),
          },
        },
      ],
    },
  };
}

describe('onnx protobuf encode/decode', () => {
  it('round-trips a model with a Loop body, symbolic dims, metadata and every attribute kind', () => {
    const m = kitchenSink();
    const bytes = encodeModel(m);
    expect(decodeModel(bytes)).toEqual(m);
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('writes lone UTF-16 surrogates as U+FFFD, like TextEncoder', () => {
    const m = loopModel();
    m.docString = 'a\ud800b';
    expect(decodeModel(encodeModel(m)).docString).toBe('a\ufffdb');
  });

  it('writes irVersion 9 by default and keeps empty optional input names', () => {
    const back = decodeModel(encodeModel(loopModel()));
    expect(back.irVersion).toBe(9);
    expect(back.graph.nodes[2].inputs).toEqual(['K', '', 'acc0']);
    expect(back.graph.nodes[2].name).toBe('sum_loop');
  });

  it('round-trips a 16 MB initializer', () => {
    const data = new Float32Array(4 << 20);
    for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
    const m: OnnxModel = {
      opset: 18,
      graph: { name: 'big', nodes: [{ opType: 'Identity', inputs: ['w'], outputs: ['y'] }], inputs: [], outputs: [{ name: 'y', dtype: 'float32', shape: [data.length] }], initializers: [{ name: 'w', dtype: 'float32', dims: [data.length], data }] },
    };
    const bytes = encodeModel(m);
    expect(bytes.length).toBeGreaterThan(data.byteLength);
    const w = decodeModel(bytes).graph.initializers[0];
    expect(w.dims).toEqual([data.length]);
    expect(Buffer.from((w.data as Float32Array).buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('decodes typed *_data fields and packed repeated fields written by other producers', () => {
    // TensorProto with packed dims, float_data and int64_data instead of raw_data.
    const dims = new ProtoMessage().packedVarints(1, [2, 2]).varint(2, 1).packedFloats(4, [1, 2, 3, 4]).string(8, 'w');
    const ints = new ProtoMessage().packedVarints(1, [2]).varint(2, 7).packedVarints(7, [-5, 6]).string(8, 'k');
    const graph = new ProtoMessage().string(2, 'g').message(5, dims).message(5, ints);
    const model = new ProtoMessage().varint(1, 8).message(7, graph).message(8, new ProtoMessage().string(1, 'ai.onnx').varint(2, 17)).finish();
    const m = decodeModel(model);
    expect(m.opset).toBe(17);
    expect(m.graph.initializers[0]).toEqual({ name: 'w', dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(m.graph.initializers[1].data).toEqual(new BigInt64Array([-5n, 6n]));
  });

  it('reads and writes varints at the int64 edges', () => {
    const values = [0, 1, 127, 128, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -(2 ** 31), -(2 ** 53 - 1)];
    const msg = new ProtoMessage();
    for (const v of values) msg.varint(1, v);
    const r = new ProtoReader(msg.finish());
    const back: number[] = [];
    while (!r.eof()) { r.key(); back.push(r.varint()); }
    expect(back).toEqual(values);
    const big = new ProtoReader(new ProtoMessage().varint(1, 2 ** 63).finish());
    big.key();
    expect(big.varintBig()).toBe((1n << 63n) - 1n);
  });

  it('rejects malformed bytes and inconsistent tensors with coded errors', () => {
    const bytes = encodeModel(loopModel());
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 3))).toThrow(expect.objectContaining({ code: 'E_ONNX_DECODE' }));
    const bad = loopModel();
    bad.graph.initializers[0].dims = [2];
    expect(() => encodeModel(bad)).toThrow(expect.objectContaining({ code: 'E_ONNX_ENCODE', message: expect.stringContaining("initializer 'bias'") }));
    bad.graph.initializers[0] = { name: 'bias', dtype: 'float32', dims: [1], data: new Float64Array(1) };
    expect(() => encodeModel(bad)).toThrow(/needs a Float32Array/);
  });
});

describe('onnx models run in onnxruntime-node', () => {
  it('runs Add of two inputs plus an initializer', async () => {
    const m: OnnxModel = {
      opset: 18,
      graph: {
        name: 'add',
        inputs: [{ name: 'a', dtype: 'float32', shape: ['B', 3] }, { name: 'b', dtype: 'float32', shape: ['B', 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 3] }],
        initializers: [{ name: 'c', dtype: 'float32', dims: [3], data: new Float32Array([10, 20, 30]) }],
        nodes: [
          { opType: 'Add', inputs: ['a', 'b'], outputs: ['ab'] },
          { opType: 'Add', inputs: ['ab', 'c'], outputs: ['y'] },
        ],
      },
    };
    validateModel(m);
    const session = await ort.InferenceSession.create(encodeModel(m));
    const a = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new ort.Tensor('float32', new Float32Array([0.5, 0.5, 0.5, 1, 1, 1]), [2, 3]);
    const { y } = await session.run({ a, b });
    expect(y.dims).toEqual([2, 3]);
    expect(Array.from(y.data as Float32Array)).toEqual([11.5, 22.5, 33.5, 15, 26, 37]);
    await session.release();
  });

  it('runs a Loop that sums x K times, reading x from the enclosing scope', async () => {
    const m = loopModel();
    validateModel(m);
    // Decoded-and-re-encoded bytes must load too.
    const session = await ort.InferenceSession.create(encodeModel(decodeModel(encodeModel(m))));
    const x = new ort.Tensor('float32', new Float32Array([1, -2, 0.25]), [3]);
    const K = new ort.Tensor('int64', new BigInt64Array([7n]), []);
    const { y } = await session.run({ K, x });
    expect(Array.from(y.data as Float32Array)).toEqual([7.5, -13.5, 2.25]);
    await session.release();
  });
});

describe.skipIf(!pythonWithOnnx)('cross-check with the reference onnx package (python3-onnx)', () => {
  it('parses our bytes, re-serializes them byte-identically and passes onnx.checker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-onnx-'));
    try {
      const file = join(dir, 'm.onnx');
      // python3-onnx 1.12 (Debian 12) knows IR <= 8 and opset <= 17.
      writeFileSync(file, encodeModel({ ...loopModel(), opset: 17, irVersion: 8 }));
      const r = onnxCheck(file, 'print("ok", m.graph.node[2].input)');
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain("ok ['K', '', 'acc0']");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
