/**
 * String graph inputs/outputs and the `ai.onnx.ml` domain in Switchyard's ONNX writer, reader and validator: what
 * a raw-column tabular export needs (LabelEncoder from strings), checked against ONNX Runtime.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, decodeModel, encodeModel, type OnnxModel } from '../../src/runtime/onnx/proto.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';

/** colour (string [N]) -> index via LabelEncoder; index -> name via a second LabelEncoder. */
function lookupModel(): OnnxModel {
  const toIndex = { keys_strings: attr.strings(['red', 'green']), values_int64s: attr.ints([0, 1]), default_int64: attr.int(2) };
  const toName = { keys_int64s: attr.ints([0, 1, 2]), values_strings: attr.strings(['R', 'G', '?']), default_string: attr.string('') };
  return {
    opset: 17,
    irVersion: 8,
    imports: { 'ai.onnx.ml': 3 },
    graph: {
      name: 'lookup',
      nodes: [
        { opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: ['colour'], outputs: ['index'], attrs: toIndex },
        { opType: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: ['index'], outputs: ['name'], attrs: toName },
      ],
      inputs: [{ name: 'colour', dtype: 'string', shape: ['n'] }],
      outputs: [{ name: 'index', dtype: 'int64', shape: ['n'] }, { name: 'name', dtype: 'string', shape: ['n'] }],
      initializers: [],
    },
  };
}

describe('ai.onnx.ml and string values', () => {
  it('round-trips string inputs/outputs and the ai.onnx.ml import, and ORT runs the lookups', async () => {
    const m = lookupModel();
    validateModel(m);
    const back = decodeModel(encodeModel(m));
    expect(back.imports).toEqual({ 'ai.onnx.ml': 3 });
    expect(back.graph.inputs[0].dtype).toBe('string');
    expect(encodeModel(back)).toEqual(encodeModel(m));
    const s = await ort.InferenceSession.create(encodeModel(m));
    const r = await s.run({ colour: new ort.Tensor('string', ['green', 'red', 'blue'], [3]) });
    expect(Array.from(r.index.data as BigInt64Array, Number)).toEqual([1, 0, 2]);
    expect(r.name.data).toEqual(['G', 'R', '?']);
    await s.release();
  });

  it('refuses an ml node without the domain import, an unknown attribute, and string tensor data', () => {
    const m = lookupModel();
    expect(() => validateModel({ ...m, imports: {} })).toThrow(/domain 'ai.onnx.ml' is not imported/);
    expect(() => validateModel({ ...m, imports: { 'ai.onnx.ml': 4 } })).toThrow(/ai.onnx.ml opset 4 is outside the checked range 2..3/);
    const bad = structuredClone(m);
    bad.graph.nodes[0].attrs!.keys_tensor = attr.ints([1]);
    expect(() => validateModel(bad)).toThrow(/attribute 'keys_tensor' is not allowed for LabelEncoder/);
    const init = structuredClone(m);
    init.graph.initializers.push({ name: 'words', dtype: 'string', dims: [0], data: new Uint8Array(0) });
    expect(() => validateModel(init)).toThrow(/string tensors are not written as data/);
  });
});
